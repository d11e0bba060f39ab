"""Projection rebuild, compliance report and append cost as the log grows (10k → 1M events).

For each log size (synthetic log of ``benchmarks.synthetic``: 40 tracks, a weekly meeting
per track since 2000, a third rescheduled, one in ten cancelled, the rest held):
- rebuild: ``Projector.rebuild`` (drop every read row, replay the whole log, one transaction);
- report: ``compliance_report`` over every track, at today's date (the CLI's default);
- append: the plan / reschedule / hold command cycle of ``bench_append`` on that log.

Baselines at the largest size:
- rebuild: raw sqlite3 reading the same columns of every event row in one transaction
  (payload left as JSON text), and eventsourcing 9.x replaying the same events (same
  fields and metadata) from its notification log into a schedule table in one transaction;
- report: raw sqlite3 reading the rows the report reads (the stored compliance windows and
  sessions of every track up to the end of this year).
Run alone: .venv/bin/python -m benchmarks.bench_log
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.bench_append import ours_cycle
from benchmarks.common import (
    Config,
    Figure,
    Target,
    bare_store,
    config_for,
    log,
    new_app,
    raw_sqlite,
    repeat,
    scratch_dir,
)
from benchmarks.es_model import aggregates_from, rebuild_schedule, sqlite_app
from benchmarks.synthetic import META, fill, streams
from consultations.service_layer.reports import compliance_report

READ_EVENTS = (
    "SELECT position, stream_id, recorded_at, event_type, schema_version, payload "
    "FROM events ORDER BY position"
)
_END_OF_YEAR = f"'{date.today().year}-12-31'"
# What compliance_report reads: the windows up to the end of this year, their sessions
# (by track, through the indexes on track and day).
READ_REPORTED = (
    'SELECT track_id, "window", window_start, window_end, required, held FROM compliance_windows'
    " WHERE track_id IN (SELECT track_id FROM tracks)"
    f" AND window_start <= {_END_OF_YEAR} ORDER BY track_id, window_start",
    'SELECT track_id, "window", meeting_id, counted_on, held FROM compliance_sessions'
    " WHERE track_id IN (SELECT track_id FROM tracks)"
    f" AND counted_on <= {_END_OF_YEAR} ORDER BY track_id, counted_on",
)


def raw_read(path: Path, query: str) -> int:
    """Read every row of ``query`` in one transaction, in batches, as a program would."""
    connection = raw_sqlite(path)
    connection.execute("BEGIN")
    cursor = connection.execute(query)
    count = 0
    while batch := cursor.fetchmany(5000):
        count += len(batch)
    connection.execute("COMMIT")
    connection.close()
    return count


def es_fill(app: Any, size: int) -> int:
    """The peer's log with the same streams and events as ``fill(store, size)``."""
    chunk: list[tuple[str, list[Any]]] = []
    pending = stored = 0
    for stream in streams(size):
        chunk.append(stream)
        pending += len(stream[1])
        if pending >= 10_000:
            stored += len(app.save(*aggregates_from(chunk, META)))
            chunk, pending = [], 0
    if chunk:
        stored += len(app.save(*aggregates_from(chunk, META)))
    return stored


def run(config: Config) -> list[Figure]:
    figures: list[Figure] = []
    for size in config.sizes:
        figures += measure_size(config, size, largest=size == config.largest)
    return figures


def measure_size(config: Config, size: int, *, largest: bool) -> list[Figure]:
    runs = config.heavy_runs if largest else config.runs
    with scratch_dir() as folder:
        path = folder / "ours.db"
        app = new_app(f"sqlite:///{path}")
        start = time.perf_counter()
        events = fill(bare_store(app), size)
        log(f"{events:,} events: filled in {time.perf_counter() - start:.0f}s")
        rebuild = repeat(lambda: app.projector.rebuild(app.engine), runs)
        log(f"rebuild: {statistics.median(rebuild):.2f}s")
        report = [1000 * s for s in repeat(lambda: compliance_report(app.read_models), runs)]
        rows = len(compliance_report(app.read_models))
        log(f"report: {statistics.median(report):.0f} ms, {rows} rows")
        cycles = 10 if config.mode == "smoke" else 30
        append = [
            1000 * seconds / (3 * cycles)
            for seconds in (
                _timed(ours_cycle, app.commands, f"g{size}-{n}", cycles) for n in range(runs)
            )
        ]
        log(f"append: {statistics.median(append):.2f} ms/command")
        label = f"{size:,} events"
        figures = [
            Figure(f"append at {label}", "ms/command", append, False, size=size,
                   series="append (per command)"),
            Figure(f"rebuild at {label}", "s", rebuild, False, size=size, series="rebuild"),
            Figure(f"report at {label}", "ms", report, False, size=size,
                   series="compliance report"),
        ]  # fmt: skip
        if largest:
            figures += headline(config, folder, path, events, rebuild, report, runs)
        app.close()
    return figures


def headline(  # noqa: PLR0917
    config: Config,
    folder: Path,
    path: Path,
    events: int,
    rebuild: list[float],
    report: list[float],
    runs: int,
) -> list[Figure]:
    """The rebuild and report figures at the largest size, with their baselines."""
    raw_events = [events / s for s in repeat(lambda: raw_read(path, READ_EVENTS), runs)]
    raw_sessions = [
        1000 * s for s in repeat(lambda: [raw_read(path, query) for query in READ_REPORTED], runs)
    ]
    es = sqlite_app(folder / "es.db")
    start = time.perf_counter()
    stored = es_fill(es, events)
    log(f"peer: {stored:,} events filled in {time.perf_counter() - start:.0f}s")
    peer = [stored / s for s in repeat(lambda: rebuild_schedule(es, folder / "es.db"), runs)]
    es.close()
    sessions = sqlite3.connect(path).execute("SELECT count(*) FROM schedule").fetchone()[0]
    label = f"{events:,} events"
    return [
        Figure(
            f"projection rebuild ({label})", "events/s", [events / s for s in rebuild], True,
            {"raw sqlite3 (read only)": raw_events, "eventsourcing": peer},
            [Target("value>=", 50_000)],
            note="ours writes 6 projections; the peer rebuilds a schedule table only"
            + ("" if events >= 1_000_000 else "; the target is for 1,000,000 events"),
        ),
        Figure(
            f"compliance report ({label})", "ms", report, False,
            {"raw sqlite3 (read windows and sessions)": raw_sessions},
            [Target("value<=", 250)],
            note=f"{sessions:,} meetings, 40 tracks"
            + ("" if events >= 1_000_000 else "; the target is for 1,000,000 events"),
        ),
    ]  # fmt: skip


def _timed(function: Any, *args: Any) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    from benchmarks.__main__ import print_growth, print_table

    figures = run(config_for("quick", postgres=False))
    print_table([f for f in figures if f.size is None])
    print_growth(figures)


if __name__ == "__main__":
    main()
