"""The scheduler daemon: APScheduler as the timer, the database as the record.

Jobs live in APScheduler's memory only and are derived from the database at start and
after every sweep: a periodic sweep, plus a one-off wake-up at the next due time. Jobs
coalesce, never overlap (one worker thread) and are never dropped as misfired.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.schedulers.base import BaseScheduler  # type: ignore[import-untyped]
from apscheduler.schedulers.blocking import BlockingScheduler  # type: ignore[import-untyped]

from consultations.adapters.channels import channels_from_settings
from consultations.adapters.outbox import SqlOutbox
from consultations.bootstrap import Application
from consultations.service_layer.dispatcher import Dispatcher, SweepReport
from consultations.service_layer.feed_files import FeedFiles

log = logging.getLogger("consultations.daemon")
DEFAULT_POLL = timedelta(seconds=30)


class DaemonAlreadyRunning(RuntimeError):
    """Another daemon holds this SQLite database."""


@contextmanager
def single_daemon(app: Application) -> Iterator[None]:
    """On SQLite, hold an exclusive lock file for as long as the daemon runs.

    The operating system drops the lock when the process ends, even by ``kill -9``, so a
    crashed daemon never blocks its successor. PostgreSQL needs no lock: daemons share.
    """
    database = app.engine.url.database
    if app.engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    path = Path(f"{database}.daemon.lock")
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DaemonAlreadyRunning(
                f"another daemon is already running on {database} (lock {path}); "
                "on SQLite only one may run"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def owner_id() -> str:
    """Who holds a lease: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Daemon:
    """Sweeps on a timer; each sweep reads everything it needs from the database."""

    def __init__(
        self,
        app: Application,
        *,
        poll: timedelta = DEFAULT_POLL,
        lease: timedelta = timedelta(minutes=2),
        feeds_dir: Path | None = None,
        console: TextIO | None = None,
    ) -> None:
        self.app = app
        self.poll = poll
        self.outbox = SqlOutbox(app.engine, owner_id())
        self.dispatcher = Dispatcher(
            self.outbox,
            app.read_models,
            channels_from_settings(app.settings, console),
            app.commands.clock,
            lease=lease,
        )
        self.feed_files = (
            None if feeds_dir is None else FeedFiles(app.feeds, app.read_models, feeds_dir)
        )
        self.scheduler: BaseScheduler | None = None

    def start_up(self) -> list[str]:
        """Prepare, and say what is coming (lines for the console).

        On SQLite (one daemon at a time) leases left by a crashed predecessor are void.
        """
        if self.app.engine.dialect.name == "sqlite":
            released = self.outbox.release_stale_claims()
            if released:
                log.info("released %d claims left by a previous daemon", released)
        channels = ", ".join(self.dispatcher.channels)
        lines = [
            f"daemon: delivering on {channels}; sweeping every {self.poll.total_seconds():.0f}s"
        ]
        for row in self.outbox.upcoming(self.dispatcher.clock(), 3):
            lines.append(
                f"  next: {row['due_at']:%Y-%m-%d %H:%M} UTC, {row['offset']} before "
                f"{row['title']} ({row['start_local'][:16].replace('T', ' ')} {row['tz']})"
            )
        return lines

    def tick(self) -> SweepReport:
        """One sweep, feed files, then the next wake-up."""
        report = self.dispatcher.sweep()
        if report.claimed:
            log.info("sweep: %s", ", ".join(f"{n} {s}" for s, n in sorted(report.outcomes.items())))
        if self.feed_files is not None:
            for feed_id in self.feed_files.refresh():
                log.info("feed file %s.ics written", feed_id)
        self._plan_wake_up()
        return report

    def _plan_wake_up(self) -> None:
        # While stopping, APScheduler's shutdown holds the job-store lock waiting for this
        # very job: adding a job now would deadlock.
        if self.scheduler is None or self.dispatcher.stopping.is_set():
            return
        next_due = self.dispatcher.next_due()
        if next_due is None:
            return
        if next_due - self.dispatcher.clock() < self.poll:
            self.scheduler.add_job(
                self.tick, "date", run_date=max(next_due, datetime.now(UTC)), id="wake-up",
                replace_existing=True,
            )  # fmt: skip

    def run(self, *, background: bool = False) -> BaseScheduler:
        """Start the timer: blocking (``daemon``) or in a thread (``run``, beside the server)."""
        options: dict[str, Any] = {
            "executors": {"default": ThreadPoolExecutor(max_workers=1)},
            "job_defaults": {"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            "timezone": UTC,
        }
        self.scheduler = (BackgroundScheduler if background else BlockingScheduler)(**options)
        self.scheduler.add_job(
            self.tick, "interval", seconds=self.poll.total_seconds(), id="sweep",
            next_run_time=datetime.now(UTC),
        )  # fmt: skip
        if not background:
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, self._on_signal)
        self.scheduler.start()
        return self.scheduler

    def stop(self) -> None:
        """Stop claiming, let the delivery in flight finish, stop the timer."""
        self.dispatcher.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        log.info("signal %d: finishing deliveries in flight, then stopping", number)
        self.stop()
