"""The scheduler daemon: APScheduler as the timer, the database as the record.

Jobs live in APScheduler's memory only and are derived from the database at start and
after every sweep: a periodic sweep, plus a one-off wake-up at the next due time; with the
setting ``sync_interval``, a pull of every peer that has a URL, on a thread of its own. Jobs
coalesce, never overlap (one worker thread) and are never dropped as misfired.

When the database cannot be reached, a sweep ends with one warning line (no traceback) and
the periodic sweep is pushed back by an exponential, jittered, capped delay, reset by the
first sweep that succeeds. Outcomes of deliveries sent just before the database went away
are kept in memory and recorded first thing when it is back; if this process dies before
that, the lease runs out and the delivery is sent again, with the same idempotency key.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.schedulers.base import BaseScheduler  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError

from consultations.adapters.channels import close_channels
from consultations.adapters.database import database_unavailable, first_line
from consultations.adapters.outbox import owner_id
from consultations.bootstrap import Application
from consultations.domain.disclosure import meeting_for_channel
from consultations.domain.errors import DomainError
from consultations.service_layer.dispatcher import SweepReport, is_cleared
from consultations.service_layer.retry import backoff
from consultations.service_layer.services import Provenance
from consultations.settings import SettingsError

log = logging.getLogger("consultations.daemon")
DEFAULT_POLL = timedelta(seconds=30)
OUTAGE_RETRY_BASE = 1.0  # seconds before the first retry after a failed sweep
OUTAGE_RETRY_CAP = 60.0  # never wait longer than this between attempts


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
        self.outbox = app.daemon_outbox(owner_id())
        self.dispatcher = app.dispatcher(self.outbox, lease=lease, console=console)
        self.feed_files = None if feeds_dir is None else app.feed_files(feeds_dir)
        self.scheduler: BaseScheduler | None = None
        self.failures = 0  # sweeps in a row that found the database unavailable
        self.rng = random.Random()
        self._sweeping = threading.Lock()  # held by the sweep in flight

    def start_up(self, *, once: bool = False) -> list[str]:
        """Prepare, and say what is coming (lines for the console).

        The event log is verified first (hash chain and append-only triggers): if it fails,
        one warning line says so and the daemon runs on (reminders matter more). On SQLite
        (one daemon at a time) leases left by a crashed predecessor are void. ``once``: the
        daemon sweeps once and stops (it says so rather than how often it sweeps).
        """
        integrity = self.app.store.verify_integrity()
        if not integrity.ok:
            log.warning(integrity.start_up_warning("daemon"))
        if self.app.engine.dialect.name == "sqlite":
            released = self.outbox.release_stale_claims()
            if released:
                log.info("released %d claims left by a previous daemon", released)
        channels = ", ".join(self.dispatcher.channels)
        sweeping = "one sweep" if once else f"sweeping every {self.poll.total_seconds():.0f}s"
        lines = [f"daemon: delivering on {channels}; {sweeping}"]
        # These lines go to the console: the same rule as the console channel's messages.
        console = self.dispatcher.channels.get("console")
        cleared = console is not None and is_cleared(console)
        for upcoming in self.outbox.upcoming(self.dispatcher.clock(), 3):
            row = meeting_for_channel(upcoming, cleared=cleared)
            lines.append(
                f"  next: {row['due_at']:%Y-%m-%d %H:%M} UTC, {row['offset']} before "
                f"{row['title']} ({row['start_local'][:16].replace('T', ' ')} {row['tz']})"
            )
        return lines

    def tick(self) -> SweepReport:
        """One sweep, feed files, then the next wake-up.

        Under the timer, a database that cannot be reached ends the sweep with one warning
        and a retry after a growing delay (see :meth:`_back_off`). Called directly
        (``daemon --once``), the error propagates: the command fails with exit 1.
        """
        with self._sweeping:
            if self.dispatcher.stopping.is_set():  # a sweep queued before the stop
                return SweepReport()
            return self._sweep()

    def _sweep(self) -> SweepReport:
        try:
            recorded = self.outbox.record_retained()
            if recorded:
                log.info("recorded %d outcomes kept while the database was unavailable", recorded)
            report = self.dispatcher.sweep()
            if report.claimed:
                log.info(
                    "sweep: %s", ", ".join(f"{n} {s}" for s, n in sorted(report.outcomes.items()))
                )
            if self.feed_files is not None:
                for feed_id in self.feed_files.refresh():
                    log.info("feed file %s.ics written", feed_id)
            self._plan_wake_up()
        except DBAPIError as error:
            if self.scheduler is None or not database_unavailable(error):
                raise
            self._back_off(error)
            return SweepReport()
        if self.failures:
            log.info("database available again after %d failed attempts", self.failures)
            self.failures = 0
        return report

    def pull_peers(self) -> list[str]:
        """Pull every registered peer that has a URL, once; one line about each.

        A peer that cannot be reached, or whose bundle is refused, is one warning line: the
        next pull tries again, and the other peers are pulled all the same.
        """
        from consultations.adapters.peer_http import PullFailed  # noqa: PLC0415
        from consultations.adapters.signing import KeyFileProblem  # noqa: PLC0415
        from consultations.service_layer.sync import pull  # noqa: PLC0415

        lines = []
        provenance = Provenance(actor="daemon", source="daemon")
        for row in self.app.read_models.peers():
            peer = row["peer_id"]
            if row["removed_at"] is not None or not row["url"]:
                continue
            try:
                key_file = self.app.settings.identity_key_path()
                imported = pull(self.app.commands, key_file, peer, provenance)
            except (PullFailed, DomainError, KeyFileProblem, SettingsError, DBAPIError) as error:
                log.warning("sync pull from %s failed: %s", peer, first_line(error))
                continue
            line = f"sync: pulled {peer}, entries up to {imported.size} accepted"
            log.info(line)
            lines.append(line)
        return lines

    def _back_off(self, error: DBAPIError) -> None:
        """Log one line and push the next sweep back; the delay grows with each failure."""
        self.failures += 1
        delay = backoff(
            self.failures,
            base=OUTAGE_RETRY_BASE,
            cap=OUTAGE_RETRY_CAP,
            jitter="equal",
            rng=self.rng,
        )
        log.warning("database unavailable: %s; retrying in %.1fs", first_line(error), delay)
        if self.scheduler is None or self.dispatcher.stopping.is_set():
            return
        with contextlib.suppress(JobLookupError):  # a wake-up would retry too early
            self.scheduler.remove_job("wake-up")
        self.scheduler.reschedule_job(
            "sweep", trigger="interval", seconds=self.poll.total_seconds(),
            start_date=datetime.now(UTC) + timedelta(seconds=delay),
        )  # fmt: skip

    def _plan_wake_up(self) -> None:
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
        """Start the timer, in a thread of its own.

        ``background`` (``run``, beside the server): return at once; the caller calls
        :meth:`stop`. Otherwise (``daemon``): return once SIGTERM or SIGINT has stopped the
        timer and the sweep in flight has finished.
        """
        options: dict[str, Any] = {
            # Pulls wait on the network: on a thread of their own, they never delay a sweep.
            "executors": {
                "default": ThreadPoolExecutor(max_workers=1),
                "sync": ThreadPoolExecutor(max_workers=1),
            },
            "job_defaults": {"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            "timezone": UTC,
        }
        self.scheduler = BackgroundScheduler(**options)
        self.scheduler.add_job(
            self.tick, "interval", seconds=self.poll.total_seconds(), id="sweep",
            next_run_time=datetime.now(UTC),
        )  # fmt: skip
        interval = self.app.settings.sync_interval
        if interval is not None:
            self.scheduler.add_job(
                self.pull_peers, "interval", seconds=interval.total_seconds(), id="sync",
                executor="sync", next_run_time=datetime.now(UTC),
            )  # fmt: skip
        if not self.dispatcher.stopping.is_set():  # a signal may have come during start-up
            self.scheduler.start()
        if not background:
            self.listen_for_signals()
            # The main thread only waits: the signal handler runs here, holding no lock.
            self.dispatcher.stopping.wait()
            self.stop()
        return self.scheduler

    def listen_for_signals(self) -> None:
        """From now on SIGTERM and SIGINT stop the daemon gracefully, also before :meth:`run`.

        Installed before the daemon says it is ready, so a signal sent as soon as it does is
        never left to the default action, nor lost while the timer starts.
        """
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._on_signal)

    def stop(self) -> None:
        """Stop claiming, stop the timer, let the sweep in flight finish; then close channels."""
        self.dispatcher.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            # Not shutdown(wait=True): it waits for the sweep while holding the job-store
            # lock, which a sweep planning its next wake-up needs (a deadlock).
            self.scheduler.shutdown(wait=False)
        with self._sweeping:  # the sweep in flight ends; any later one returns at once
            close_channels(self.dispatcher.channels.values())

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        log.info("signal %d: finishing deliveries in flight, then stopping", number)
        self.dispatcher.stopping.set()
