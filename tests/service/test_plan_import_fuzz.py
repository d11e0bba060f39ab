"""Junk fed to `plan import` gives problems with locations, never a traceback or a write.

SQLite only: each test gets a database that already holds the reference plan, so mutated
plans also exercise re-import (amend, reschedule, cancel, hold, retire), not just first import.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.bootstrap import bootstrap
from consultations.service_layer.plan_import import SECTIONS, PlanProblems, import_plan
from consultations.service_layer.services import CommandService, Provenance
from consultations.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "tm-az-cooperation.toml"
EXAMPLE_BYTES = EXAMPLE.read_bytes()
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PROVENANCE = Provenance(actor="fuzz", source="plan:fuzz")
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Importer:
    """Imports into one database and checks what every import may do."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        migrations.upgrade(self.engine)
        self.app = bootstrap(Settings(url))
        self.service = CommandService(self.app.store, self.app.commands.directory, lambda: NOW)
        self.outcomes: dict[str, int] = {"imported": 0, "problems": 0}

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())

    def check(self, content: bytes) -> None:
        """Succeed and append what was reported, or raise PlanProblems and append nothing."""
        before = self.count()
        problems: list[str] = []
        try:
            report = import_plan(self.service, content, PROVENANCE)
        except PlanProblems as raised:
            problems = raised.problems or ["(an empty list of problems)"]
        if not problems:
            assert self.count() == before + report.total
            self.outcomes["imported"] += 1
            return
        for problem in problems:
            location, _, message = problem.partition(": ")
            assert location, problem
            assert message, problem
            assert len(problem.splitlines()) == 1, problem
            assert location.startswith(("file", *SECTIONS)) or "unknown section" in message
        assert self.count() == before, "a rejected plan must write nothing"
        self.outcomes["problems"] += 1

    def close(self) -> None:
        self.app.close()
        self.engine.dispose()


@pytest.fixture
def importer(tmp_path: Path) -> Iterator[Importer]:
    importer = Importer(f"sqlite:///{tmp_path / 'fuzz.db'}")
    importer.check(EXAMPLE_BYTES)
    assert importer.count() == 101
    yield importer
    importer.close()


# --- (a) random bytes ----------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=4000) | st.text(max_size=2000).map(str.encode))
def test_random_bytes(importer: Importer, content: bytes) -> None:
    importer.check(content)


# --- (b) byte-level mutations of the example ---------------------------------------------------

TOKENS = [b"=", b"[", b"]", b"[[", b'"', b"'", b"\n", b"#", b",", b"{", b"}", b"0", b"9", b"T",
          b"-", b":", b".", b"\\", b"\\u0000", b"\x00", b"\xff", b"\xc3", b"\r\n", b"inf", b"\t"]  # fmt: skip


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(EXAMPLE_BYTES)
    for _ in range(draw(st.integers(1, 5))):
        operation = draw(st.sampled_from(["insert", "delete", "replace", "lines"]))
        at = draw(st.integers(0, len(data)))
        if operation == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=8))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif operation == "replace":
            data[at : at + 1] = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=2))
        else:
            lines = bytes(data).split(b"\n")
            first = draw(st.integers(0, len(lines) - 1))
            second = draw(st.integers(0, len(lines) - 1))
            action = draw(st.sampled_from(["drop", "duplicate", "swap"]))
            if action == "drop":
                del lines[first]
            elif action == "duplicate":
                lines.insert(second, lines[first])
            else:
                lines[first], lines[second] = lines[second], lines[first]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@FUZZ
@given(byte_mutations())
def test_byte_level_mutations_of_the_example(importer: Importer, content: bytes) -> None:
    importer.check(content)


# --- (c) structural mutations of the example ---------------------------------------------------

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
scalars = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Zl", "Zp", "Cf"]), max_size=10),
    st.sampled_from(["", " ", "TM-MFA", "AZ-MFA", "energy", "strategy-workshop", "held",
                     "cancelled", "planned", "UTC", "Asia/Baku", "Europe/Berlin", "PT2H", "P1D",
                     "max-gap:P6M", "half-year", "restricted", "workshop", "Asia/Atlantis"]),
    st.integers(1, 300_000).map(lambda n: "ş" * n),  # huge strings
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),  # plausible
    st.datetimes(),  # local date-times
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31)),
    st.datetimes(timezones=offsets),  # date-times with offsets
    st.times(),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=8,
)

Path_ = tuple[str | int, ...]


def paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every path to a value in the document (table keys and list indexes)."""
    children = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in children:
        yield (*prefix, key)
        if isinstance(child, dict | list):
            yield from paths(child, (*prefix, key))


def container(document: dict[str, Any], path: Path_) -> Any:
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def structural_mutations(draw: st.DrawFn) -> bytes:
    document = tomllib.loads(EXAMPLE_BYTES.decode())
    for _ in range(draw(st.integers(1, 4))):
        every = list(paths(document))
        if not every:
            break
        keys = [path for path in every if len(path) <= 3]  # sections, entries, their keys
        path = draw(st.sampled_from(keys) | st.sampled_from(every))
        parent = container(document, path)
        operation = draw(st.sampled_from(["replace", "delete", "add"]))
        if operation == "replace":
            parent[path[-1]] = draw(values)
        elif operation == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(values)
        else:
            parent.insert(draw(st.integers(0, len(parent))), draw(values))
    return tomli_w.dumps(document).encode()


@FUZZ
@given(structural_mutations())
def test_structural_mutations_of_the_example(importer: Importer, content: bytes) -> None:
    importer.check(content)


def test_the_fuzzers_reach_both_outcomes(importer: Importer) -> None:
    """Guard against fuzzers that only ever produce unparsable junk (or only valid plans)."""
    for strategy in (byte_mutations(), structural_mutations()):

        @settings(max_examples=100, deadline=None, database=None, derandomize=True)
        @given(strategy)
        def run(content: bytes) -> None:
            importer.check(content)

        importer.outcomes = {"imported": 0, "problems": 0}
        run()
        assert importer.outcomes["imported"] > 0, importer.outcomes
        assert importer.outcomes["problems"] > 0, importer.outcomes
