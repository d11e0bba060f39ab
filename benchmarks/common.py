"""Shared pieces of the benchmarks: run configuration, figures, timing, databases, baselines.

Every benchmark module exposes ``run(config) -> list[Figure]``; ``benchmarks.__main__``
collects them into one table. A figure carries its own samples (one per run) and the
samples of the baselines measured in the same run, so the table can show the median,
min and max of each, and their ratio.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consultations.adapters import migrations
from consultations.adapters.eventlog import SqlEventLog
from consultations.bootstrap import Application, bootstrap
from consultations.settings import Settings

# -- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """How big and how many: ``quick`` stops the growth series at 100k, ``full`` goes to 1M."""

    mode: str
    runs: int  # runs of the cheap figures (median quoted)
    heavy_runs: int  # runs of the figures over the largest log
    sizes: tuple[int, ...]  # growth series (log sizes in events)
    import_meetings: int  # meetings in the "large plan"
    postgres: bool
    postgres_size: int  # log size for the PostgreSQL rebuild / report figures

    @property
    def largest(self) -> int:
        return self.sizes[-1]


def config_for(mode: str, *, postgres: bool = True) -> Config:
    if mode == "full":
        return Config("full", 5, 3, (10_000, 100_000, 1_000_000), 10_000, postgres, 100_000)
    if mode == "quick":
        return Config("quick", 3, 3, (10_000, 100_000), 5_000, postgres, 100_000)
    if mode == "smoke":  # a few seconds: checks that every benchmark still runs
        return Config("smoke", 1, 1, (2_000, 5_000), 300, postgres, 5_000)
    raise SystemExit(f"BENCH_SIZE must be quick, full or smoke, not {mode!r}")


# -- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """``value>=``/``value<=`` on the figure's median, or ``ratio>=``/``ratio<=`` against one
    baseline (the ratio is ours over the baseline, in the figure's unit)."""

    kind: str
    threshold: float
    baseline: str | None = None
    note: str = ""

    def describe(self, unit: str) -> str:
        if self.kind == "ratio<=":
            return f"<= {self.threshold:g}x {self.baseline}"
        if self.kind == "ratio>=":
            if self.threshold < 1:
                return f">= {self.threshold:.0%} of {self.baseline}"
            return f">= {self.threshold:g}x {self.baseline}"
        sign = ">=" if self.kind == "value>=" else "<"
        return f"{sign} {self.threshold:,.0f} {unit}".replace(".0 ", " ")


@dataclass
class Figure:
    """One measured figure with its baselines (name → samples) and targets."""

    name: str
    unit: str
    samples: list[float]
    higher_is_better: bool
    baselines: dict[str, list[float]] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    backend: str = "sqlite"
    note: str = ""
    size: int | None = None  # log size, for the growth series
    series: str = ""  # growth series name (e.g. "rebuild")
    headline: bool = False  # a growth point that is also a main figure

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def baseline_median(self, name: str) -> float:
        return statistics.median(self.baselines[name])

    def ratio(self, name: str) -> float:
        """Ours over the baseline, in the figure's own sense (>1: higher value)."""
        base = self.baseline_median(name)
        return self.median / base if base else float("nan")

    def verdicts(self) -> list[tuple[Target, bool]]:
        found = []
        for target in self.targets:
            if target.kind == "ratio>=":
                met = self.ratio(target.baseline or "") >= target.threshold
            elif target.kind == "ratio<=":
                met = self.ratio(target.baseline or "") <= target.threshold
            elif target.kind == "value>=":
                met = self.median >= target.threshold
            else:
                met = self.median < target.threshold
            found.append((target, met))
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.name,
            "backend": self.backend,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.samples),
            "max": max(self.samples),
            "samples": self.samples,
            "higher_is_better": self.higher_is_better,
            "baselines": {
                name: {
                    "median": statistics.median(values),
                    "min": min(values),
                    "max": max(values),
                    "samples": values,
                    "ratio": self.ratio(name),
                }
                for name, values in self.baselines.items()
            },
            "targets": [
                {"target": t.describe(self.unit), "met": met} for t, met in self.verdicts()
            ],
            "note": self.note,
            "size": self.size,
            "series": self.series,
        }


# -- timing ----------------------------------------------------------------------------------


def seconds(function: Callable[[], object]) -> float:
    """Wall time of one call, with the garbage collector settled first."""
    gc.collect()
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def repeat(function: Callable[[], object], runs: int) -> list[float]:
    return [seconds(function) for _ in range(runs)]


def log(message: str) -> None:
    print(f"  · {message}", flush=True)


# -- our application on a fresh database -----------------------------------------------------


@contextmanager
def scratch_dir() -> Iterator[Path]:
    base = os.environ.get("BENCH_TMPDIR")  # e.g. to put the files on another disk
    with tempfile.TemporaryDirectory(prefix="consultations-bench-", dir=base) as folder:
        yield Path(folder)


def new_app(url: str) -> Application:
    """Our application on an empty, migrated database (SQLite: WAL + synchronous=FULL)."""
    app = bootstrap(Settings.load(url, environ={}))
    migrations.upgrade(app.engine)
    app.projector.ensure_current(app.engine)
    return app


def bare_store(app: Application) -> SqlEventLog:
    """The same log without the projection listener (to fill it fast, then rebuild)."""
    return SqlEventLog(app.engine, mapper=app.store.mapper)


# -- raw sqlite3: the physical limit ---------------------------------------------------------

EVENT_COLUMNS = (
    "position", "stream_id", "stream_version", "event_type", "schema_version", "payload",
    "metadata", "occurred_at", "recorded_at", "prev_hash", "hash",
)  # fmt: skip


def raw_sqlite(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the same durability as ours: WAL, synchronous=FULL."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    return connection


RAW_EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, stream_version INTEGER NOT NULL,
    event_type TEXT NOT NULL, schema_version INTEGER NOT NULL, payload TEXT NOT NULL,
    metadata TEXT NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE (stream_id, stream_version))
"""


def sample_rows(url_or_path: Path, limit: int | None = None) -> list[tuple[Any, ...]]:
    """Event rows exactly as our log stored them (payload and metadata as JSON text)."""
    connection = sqlite3.connect(url_or_path)
    query = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY position"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    rows = connection.execute(query).fetchall()
    connection.close()
    return rows


def raw_insert_batch(path: Path, rows: Sequence[tuple[Any, ...]]) -> float:
    """Seconds for raw sqlite3 to insert ``rows`` into an empty events table in one transaction."""
    connection = raw_sqlite(path)
    connection.execute(RAW_EVENTS_DDL)
    placeholders = ", ".join("?" for _ in EVENT_COLUMNS)

    def insert() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(f"INSERT INTO events VALUES ({placeholders})", rows)
        connection.execute("COMMIT")

    elapsed = seconds(insert)
    connection.close()
    return elapsed


def raw_insert_each(path: Path, rows: Sequence[tuple[Any, ...]]) -> float:
    """Seconds for raw sqlite3 to insert ``rows`` one transaction (one commit) per row."""
    connection = raw_sqlite(path)
    connection.execute(RAW_EVENTS_DDL)
    placeholders = ", ".join("?" for _ in EVENT_COLUMNS)
    statement = f"INSERT INTO events VALUES ({placeholders})"

    def insert() -> None:
        for row in rows:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(statement, row)
            connection.execute("COMMIT")

    elapsed = seconds(insert)
    connection.close()
    return elapsed


def renumber(rows: Sequence[tuple[Any, ...]], times: int) -> list[tuple[Any, ...]]:
    """``rows`` repeated ``times`` with fresh positions and stream ids (same payload sizes)."""
    out = []
    position = 0
    for copy in range(times):
        for row in rows:
            position += 1
            out.append((position, f"{row[1]}-{copy}", *row[2:]))
    return out


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
