"""What the user reads: the README's command list is complete; no message says a word twice."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from sqlalchemy.engine import Engine

from consultations.entrypoints.cli import FAILURES, cli
from tests.cli.test_write_cli import Session

ROOT = Path(__file__).parents[1]
SOURCE = ROOT / "src" / "consultations"
DOUBLED = re.compile(r"\b([A-Za-z]+)\W+\1\b", re.IGNORECASE)


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every command the CLI has, as typed: ``meeting amend`` (lazy ones imported)."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name))


def test_the_readme_command_list_shows_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listing = readme.split("## Command line", 1)[1].split("```")[1]
    missing = [
        command
        for command in commands(cli)
        if not re.search(rf"(^|\| ){re.escape(command)}( |$)", listing, re.MULTILINE)
    ]
    assert missing == []


# --- messages: `field: problem`, where the problem never starts by naming the field again ---


def _leading(node: ast.expr) -> str | None:
    """The first word of a message built from a literal or f-string; ``{name}`` for a variable."""
    part = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
    if isinstance(part, ast.Constant) and isinstance(part.value, str):
        found = re.match(r"\W*([A-Za-z]+)", part.value)
        return found.group(1).lower() if found else None
    if isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name):
        return "{" + part.value.id + "}"
    return None


def _subject(node: ast.expr) -> str | None:
    """What a ``field`` argument shows first on the line: its last word, or ``{name}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        words = re.findall(r"[A-Za-z]+", node.value)
        return words[-1].lower() if words else None
    if isinstance(node, ast.Name):
        return "{" + node.id + "}"
    return None


def _domain_errors(trees: list[ast.Module]) -> set[str]:
    """DomainError and every class deriving from it, by name."""
    names, grew = {"DomainError"}, True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {base.id for base in node.bases if isinstance(base, ast.Name)}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _called(node: ast.Call) -> str | None:
    function = node.func
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def test_no_error_message_starts_by_repeating_what_its_line_already_names() -> None:
    files = sorted(SOURCE.rglob("*.py"))
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in files]
    domain_errors = _domain_errors(trees)
    # Errors the CLI prints after a fixed prefix ("database: …").
    prefixed = {kind: prefix.rstrip(": ") for _, kind, _, prefix in FAILURES if prefix}
    repeated = []
    for path, tree in zip(files, trees, strict=True):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = _called(node)
            if name in domain_errors and len(node.args) >= 2:
                subject, message = _subject(node.args[0]), node.args[1]
            elif name in prefixed:
                subject, message = prefixed[name], node.args[0]
            else:
                continue
            if subject is not None and _leading(message) == subject:
                repeated.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert repeated == []


def test_the_scan_finds_a_repeated_field() -> None:
    call = ast.parse('InvalidInput("fold", f"fold must be 0 or 1, got {fold!r}")').body[0]
    assert isinstance(call, ast.Expr)
    assert isinstance(call.value, ast.Call)
    assert _leading(call.value.args[1]) == _subject(call.value.args[0]) == "fold"
    assert DOUBLED.search("error: duration: duration 'PT0H' must be longer than zero")


@pytest.fixture
def session(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine
) -> Session:
    session = Session(capsys, database_url, migrated_engine)
    session.ok("party", "add", "TM-MFA", "--name", "MFA of Turkmenistan", "--tz", "Asia/Ashgabat")
    session.ok(
        "track", "add", "ws", "--title", "Workshop", "--kind", "workshop", "--cadence",
        "half-year", "--start", "2025-01-01", "--party", "TM-MFA",
    )  # fmt: skip
    session.ok("meeting", "plan", "--track", "ws", "--title", "W", "--start", "2025-03-10 10:00")
    session.ok("meeting", "held", "ws-2025-03-10", "--action", "Draft|TM-MFA|2025-06-01")
    session.ok("meeting", "action", "ws-2025-03-10/1", "--done")
    session.ok("track", "retire", "ws", "--on", "2026-12-31")
    return session


PLAN = """
[tracks.ws]
title = "Workshop"
kind = "workshop"
cadence = "half-year"
start = 2025-01-01
tz = "UTC"
duration = "P1M"
reminders = ["PT0S"]

[meetings.m]
track = "ws"
title = "M"
start = 2025-05-01T10:00:00
end = 2025-05-01T09:00:00
fold = 2
"""

BAD_INPUTS = [
    ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2026-05-01 10:00",
     "--duration", "PT0H"],
    ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2026-05-01 10:00",
     "--duration", "P1M"],
    ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2026-05-01 10:00",
     "--duration", "P20D"],
    ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2026-05-01 10:00",
     "--end", "2026-05-01 09:00"],
    ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2027-05-01 10:00"],
    ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2026-05-01 10:00",
     "--reminders", "PT0S"],
    ["track", "add", "t2", "--title", "T", "--kind", "review", "--cadence", "year",
     "--start", "2026-01-01", "--duration", "PT0H"],
    ["track", "add", "t2", "--title", "T", "--kind", "review", "--cadence", "year",
     "--start", "2026-01-01", "--reminders", "P1M"],
    ["track", "add", "t2", "--title", "T", "--kind", "review", "--cadence", "max-gap:P0D",
     "--start", "2026-01-01"],
    ["track", "add", "ws", "--title", "T", "--kind", "review", "--cadence", "year",
     "--start", "2026-01-01"],
    ["track", "retire", "ws", "--on", "2027-01-01"],
    ["meeting", "action", "ws-2025-03-10/1", "--drop"],
    ["meeting", "action", "ws-2025-03-10/2", "--done"],
    ["meeting", "held", "ws-2025-03-10"],
    ["party", "add", "TM-MFA", "--name", "Again"],
    ["schedule", "--track", "wss"],
    ["schedule", "--from", "2027-01-01", "--to", "2026-01-01"],
    ["plan", "import", "PLAN"],
]  # fmt: skip


def test_no_error_line_says_a_word_twice(session: Session, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN, encoding="utf-8")
    lines = []
    for args in BAD_INPUTS:
        result = session(*(str(plan) if arg == "PLAN" else arg for arg in args))
        assert result.code != 0, (args, result)
        lines += result.err.splitlines()
    assert len(lines) > len(BAD_INPUTS)  # the plan's problems are one line each
    assert [line for line in lines if DOUBLED.search(line)] == []
