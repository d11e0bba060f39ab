"""Daemon memory: resident set size of the scheduler daemon with 10,000 pending reminders.

The database holds a history (about 50,000 events of held meetings) and ~10,000 upcoming
meetings whose reminders (one offset each, P1D) are pending, not yet due. A child process
starts the daemon as ``consultations daemon`` would (start-up, APScheduler in a thread, a
first sweep: materialise due reminders, cadence sweep, claim), lets it run, and reports
its peak RSS. Baseline: the same child's RSS after importing the daemon's modules, before
it connects (the interpreter and the libraries alone).
Run alone: .venv/bin/python -m benchmarks.bench_daemon
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import (
    Config,
    Figure,
    Target,
    bare_store,
    config_for,
    log,
    new_app,
    scratch_dir,
)
from benchmarks.synthetic import fill

PENDING = 10_000
HISTORY = 50_000


def prepare(path: Path, pending: int = PENDING, history: int = HISTORY) -> int:
    """Fill the database; return the number of pending reminder rows."""
    app = new_app(f"sqlite:///{path}")
    store = bare_store(app)
    fill(store, history)
    first = datetime.now(UTC).date() + timedelta(days=3)
    meetings = pending * 10 // 9 + 1  # one in ten is cancelled
    fill(store, 10 * meetings, first=first, every=timedelta(days=1), held=False,
         meetings=meetings, first_number=10 * history, setup=False)  # fmt: skip
    app.projector.rebuild(app.engine)
    app.close()
    connection = sqlite3.connect(path)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    count = connection.execute("SELECT count(*) FROM reminders WHERE due_at > ?", (now,))
    count = count.fetchone()[0]
    connection.close()
    return int(count)


def child(path: str, seconds: float) -> None:
    """Run the daemon on ``path`` for ``seconds``; print RSS figures as JSON."""
    import psutil

    from consultations.entrypoints.daemon import Daemon, single_daemon

    process = psutil.Process()
    baseline = process.memory_info().rss
    from consultations.bootstrap import bootstrap
    from consultations.settings import Settings

    app = bootstrap(Settings.load(f"sqlite:///{path}", environ={}))
    app.ensure_schema_current()
    with open(os.devnull, "w") as console, single_daemon(app):
        daemon = Daemon(app, poll=timedelta(seconds=1), console=console)
        daemon.start_up()
        daemon.run(background=True)
        peak = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.05)
        daemon.stop()
    print(json.dumps({"baseline": baseline, "peak": peak}))


def measure(path: Path, seconds: float) -> tuple[float, float]:
    """(peak RSS, baseline RSS) in MB of one daemon child."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_daemon", "--child", str(path), str(seconds)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["peak"] / 1e6, data["baseline"] / 1e6


def run(config: Config) -> list[Figure]:
    smoke = config.mode == "smoke"
    with scratch_dir() as folder:
        path = folder / "daemon.db"
        pending = prepare(path, 1_000 if smoke else PENDING, 5_000 if smoke else HISTORY)
        log(f"{pending:,} pending reminders")
        peaks, baselines = [], []
        for _ in range(config.runs):
            peak, baseline = measure(path, 3 if smoke else 6)
            peaks.append(peak)
            baselines.append(baseline)
    log(f"daemon peak RSS {sorted(peaks)[len(peaks) // 2]:.0f} MB")
    return [
        Figure(
            "daemon memory (peak RSS)", "MB", peaks, False,
            {"interpreter + imports": baselines}, [Target("value<=", 150)],
            note=f"{pending:,} pending reminders, {HISTORY:,} events of history",
        )
    ]  # fmt: skip


def main() -> None:
    from benchmarks.__main__ import print_table

    print_table(run(config_for("quick", postgres=False)))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], float(sys.argv[3]))
    else:
        main()
