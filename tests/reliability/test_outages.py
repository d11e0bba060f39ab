"""Outages: the database goes away under running processes, or the disk fills up.

PostgreSQL: ``consultations serve`` and ``consultations daemon`` run as real processes on a
throwaway server of their own (the session's shared server is never touched). The server
is stopped mid-run (``pg_ctl stop -m fast``) after some deliveries, started again on the
same port, and the test checks what clients see meanwhile (503, never 500), that the daemon
lives on, and that every reminder reaches a real, signature-checking webhook receiver with
nothing lost (each webhook-id accepted at least once, every outbox row ``sent``).

SQLite: a full disk is simulated with ``PRAGMA max_page_count`` (see ``FULL_DISK_HOOK``), so
SQLite's own SQLITE_FULL path runs through an unmodified CLI process.
"""

from __future__ import annotations

import base64
import os
import random
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.adapters.orm import deliveries, reminders
from consultations.adapters.outbox import delivery_id
from consultations.domain.commands import AddTrack, DomainCommand, PlanMeeting, RegisterParty
from consultations.entrypoints.daemon import OUTAGE_RETRY_BASE, OUTAGE_RETRY_CAP
from consultations.service_layer.feeds import new_feed
from consultations.service_layer.handlers import handle
from consultations.service_layer.retry import backoff
from tests.daemon.processes import Process, Processes, wait_until
from tests.daemon.receivers import WebhookReceiver, free_port
from tests.projections.support import ANALYST, EXAMPLE, wire
from tests.support.postgres import PostgresServer, PostgresUnavailable

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(b"outage-tests-webhook-secret-key!").decode()
STARTUP = 60.0  # seconds a process may take to start and answer (a loaded CI machine)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A throwaway server for this test alone: it is stopped and started mid-test."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required when CI=true: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL is not available: {exc}")
    try:
        yield server
    finally:
        server.stop()  # pg_ctl stop -m immediate (if running), then remove its files


def pg_stop(server: PostgresServer) -> None:
    """Stop the server process, keeping its files (fast: sessions are cut, then checkpoint)."""
    server._run("pg_ctl", "-D", str(server.root / "data"), "-m", "fast", "-w", "stop")


def pg_start(server: PostgresServer) -> None:
    """Start the stopped server again, on the same port with the same options."""
    options = " ".join(
        [
            f"-p {server.port}",
            f"-k {server.root}",
            "-c listen_addresses=127.0.0.1",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=200",
        ]
    )
    data, log = str(server.root / "data"), str(server.root / "server.log")
    server._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start")


# --------------------------------------------------------------------------- data


def plan(
    engine: Engine,
    meetings: Mapping[str, datetime],
    *,
    track: str = "pc",
    offsets: Sequence[str] = ("PT1H", "PT2H"),
    new_track: bool = True,
    party: str = "AZ-MFA",
) -> None:
    """Meetings (id -> UTC start) on one track (created first if ``new_track``), one commit."""
    service = wire(engine)
    now = datetime.now(UTC)
    commands: list[DomainCommand] = []
    if new_track:
        commands += [
            RegisterParty(party_id=party, name=f"Party {party}", tz="UTC"),
            AddTrack(track_id=track, title=f"Track {track}", kind="consultation", cadence="quarter", start=now.date(), tz="UTC",
                     parties=(party,), reminders=tuple(offsets)),
        ]  # fmt: skip
    commands += [
        PlanMeeting(meeting_id=meeting_id, title=f"Consultations {meeting_id}",
                    start=start.astimezone(UTC).replace(tzinfo=None, microsecond=0), track_id=track)
        for meeting_id, start in meetings.items()
    ]  # fmt: skip
    uow = service.new_unit_of_work()
    for command in commands:
        handle(uow, command, now, service.directory)
    uow.commit(ANALYST.metadata("PlanForOutageTest"))


def due_now(prefix: str, count: int) -> dict[str, datetime]:
    """``count`` meetings 30+ minutes from now: with PT1H and PT2H reminders, all due."""
    now = datetime.now(UTC)
    return {f"{prefix}{i:03d}": now + timedelta(minutes=30, seconds=i) for i in range(count)}


def reminder_keys(engine: Engine) -> set[str]:
    """The webhook-id of every reminder in the schedule."""
    with engine.connect() as connection:
        ids = connection.execute(sa.select(reminders.c.reminder_id)).scalars().all()
    return {delivery_id(reminder, "webhook") for reminder in ids}


def webhook_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    """The webhook reminder deliveries by id."""
    query = sa.select(deliveries).where(
        deliveries.c.channel == "webhook", deliveries.c.kind == "reminder"
    )
    with engine.connect() as connection:
        return {row["delivery_id"]: dict(row) for row in connection.execute(query).mappings()}


def all_sent(engine: Engine, keys: set[str]) -> bool:
    rows = webhook_rows(engine)
    return all(key in rows and rows[key]["status"] == "sent" for key in keys)


def get(url: str) -> httpx.Response | None:
    """GET, or None when nothing answers (yet)."""
    try:
        return httpx.get(url, timeout=10)
    except httpx.TransportError:
        return None


def status_is(url: str, status: int) -> httpx.Response | None:
    response = get(url)
    return response if response is not None and response.status_code == status else None


def summary(label: str, **values: object) -> None:
    """One line in the test output (pytest -s / -rP) for the report."""
    print(f"[{label}] " + ", ".join(f"{k}={v}" for k, v in values.items()))


# --------------------------------------------------------------------------- PostgreSQL outage


@dataclass
class Running:
    """The processes of the PostgreSQL test and where to reach them."""

    engine: Engine
    env: dict[str, str]
    receiver: WebhookReceiver
    server: Process
    daemon: Process
    feed_url: str
    health_url: str

    @property
    def both(self) -> list[Process]:
        return [self.server, self.daemon]


def start_serve_and_daemon(
    processes: Processes, engine: Engine, url: str, receiver: WebhookReceiver, token: str
) -> Running:
    env = {
        "CONSULTATIONS_DATABASE_URL": url,
        "CONSULTATIONS_WEBHOOK_URL": receiver.url,
        "CONSULTATIONS_WEBHOOK_SECRET": SECRET,
    }
    base = f"http://127.0.0.1:{free_port()}"
    running = Running(
        engine,
        env,
        receiver,
        processes.start("serve", env, "serve", "--port", base.rsplit(":", 1)[1]),
        processes.start("daemon", env, "daemon", "--poll", "1", "--lease", "5"),
        f"{base}/feeds/{token}.ics",
        f"{base}/healthz",
    )
    wait_until(
        lambda: status_is(running.health_url, 200), STARTUP, "healthz 200", running=running.both
    )
    return running


def check_while_down(running: Running, processes: Processes, token: str) -> None:
    """503 (never 500) from the feed server; the daemon logs, stays up and keeps trying."""
    health = wait_until(
        lambda: status_is(running.health_url, 503), STARTUP, "healthz 503", running=running.both
    )
    assert health.json()["status"] == "unavailable"
    assert health.headers["retry-after"] == "5"
    feed = get(running.feed_url)
    assert feed is not None
    assert feed.status_code == 503, feed.text
    assert feed.headers["retry-after"] == "5"
    assert feed.headers["content-type"].startswith("text/plain")
    assert feed.text.endswith("\n")
    assert feed.text.count("\n") == 1  # one line
    assert "retry later" in feed.text
    assert token not in feed.text
    wait_until(
        lambda: running.daemon.stderr().count("database unavailable:") >= 2,
        STARTUP,
        "two failed sweeps logged by the daemon",
        running=running.both,
    )
    # A one-off sweep (cron) does not hide the outage: it fails, in one line.
    once = processes.run("once", running.env, "daemon", "--once", timeout=60)
    lines = [line for line in once.stderr().splitlines() if line.strip()]
    assert once.returncode == 1, once.describe()
    assert len(lines) == 1, once.describe()
    assert lines[0].startswith("error: database: ")


def check_delivered(running: Running, keys: set[str]) -> dict[str, object]:
    """Every reminder accepted at least once and recorded sent; what was seen, for the report."""
    counts = running.receiver.accepted_counts()
    raw = running.receiver.counts()
    stderr = running.daemon.stderr()
    delays = [float(d) for d in re.findall(r"retrying in ([0-9.]+)s", stderr)]
    seen: dict[str, object] = {
        "reminders": len(keys),
        "distinct_ids": len(keys & set(counts)),
        "raw_receipts": sum(raw[key] for key in keys),
        "duplicated_ids": sum(1 for key in keys if raw[key] > 1),
        "failed_sweeps": stderr.count("database unavailable:"),
        "retry_delays_s": delays,
        "outcomes_recorded_late": re.findall(r"recorded (\d+) outcomes kept", stderr),
        "feed_503_warnings": running.server.stderr().count("database unavailable"),
    }
    # Nothing lost: every reminder accepted at least once, each row recorded sent.
    assert keys <= set(counts)
    assert all(counts[key] >= 1 for key in keys)
    # At least once, not many times: a resend only for what was in flight.
    assert all(raw[key] <= 2 for key in keys)
    assert all(d.verified for d in running.receiver.deliveries())
    rows = webhook_rows(running.engine).values()
    assert {row["status"] for row in rows} == {"sent"}
    assert all(row["lease_owner"] is None for row in rows)
    # One warning line per failed sweep or feed request, never a traceback.
    assert len(delays) >= 2
    assert delays == sorted(delays)  # 0.5-1 s, 1-2 s, 2-4 s, ...
    assert "database available again" in stderr
    assert seen["feed_503_warnings"] == 1  # the one feed request made while down
    for process in running.both:
        assert "Traceback" not in process.stderr() + process.stdout(), process.describe()
    return seen


@pytest.mark.postgresql
def test_postgresql_stopped_under_the_daemon_and_the_feed_server(
    own_postgres: PostgresServer, processes: Processes
) -> None:
    started = time.monotonic()
    url = own_postgres.create_database("outages")
    engine = create_engine(url)
    try:
        migrations.upgrade(engine)
        plan(engine, due_now("a", 10))
        token, command = new_feed("all", "Outage drill", include_restricted=False)
        wire(engine).execute(command, ANALYST)
        assert len(reminder_keys(engine)) == 20
        with WebhookReceiver(secret=SECRET) as receiver:
            receiver.set_delay(0.2)  # deliveries take a while: one is in flight at the stop
            running = start_serve_and_daemon(processes, engine, url, receiver, token)
            before = wait_until(lambda: status_is(running.feed_url, 200), STARTUP, "feed 200")

            wait_until(
                lambda: len(receiver.accepted()) >= 4, STARTUP, "4 deliveries", running=running.both
            )
            pg_stop(own_postgres)
            down_at = time.monotonic()
            accepted_at_stop = len(receiver.accepted())
            check_while_down(running, processes, token)
            time.sleep(max(0.0, 4.0 - (time.monotonic() - down_at)))  # down for 4 s at least
            assert running.daemon.alive
            assert running.server.alive
            pg_start(own_postgres)
            down_for = time.monotonic() - down_at

            # Back: more reminders fall due; everything reaches the receiver.
            plan(engine, due_now("b", 5), new_track=False)
            keys = reminder_keys(engine)
            assert len(keys) == 30
            back_at = time.monotonic()
            wait_until(
                lambda: keys <= set(receiver.accepted_counts()) and all_sent(engine, keys),
                # the daemon may be in a back-off of up to a minute when the server returns
                2 * STARTUP,
                "every reminder delivered and recorded sent after the restart",
                running=running.both,
                interval=0.1,
            )
            delivered_after = time.monotonic() - back_at
            health = wait_until(lambda: status_is(running.health_url, 200), STARTUP, "healthz 200")
            assert health.json()["status"] == "ok"
            after = wait_until(lambda: status_is(running.feed_url, 200), STARTUP, "feed 200 again")
            assert after.headers["etag"] != before.headers["etag"]  # five more meetings
            assert running.daemon.terminate(timeout=STARTUP) == 0, running.daemon.describe()
            # uvicorn re-raises the SIGTERM it handled once it has shut down
            assert running.server.terminate(timeout=STARTUP) in {0, -15}, running.server.describe()
            seen = check_delivered(running, keys)
        verify = processes.run("verify", running.env, "events", "verify", timeout=60)
        assert verify.returncode == 0, verify.describe()
        assert verify.stdout().startswith("ok:")
    finally:
        engine.dispose()
    summary(
        "postgresql-outage",
        accepted_at_stop=accepted_at_stop,
        down_for_s=round(down_for, 1),
        restart_to_all_delivered_s=round(delivered_after, 1),
        **seen,
        total_s=round(time.monotonic() - started, 1),
    )


# --------------------------------------------------------------------------- SQLite: full disk

# A full disk, simulated: SQLite refuses to grow a database past ``PRAGMA max_page_count``
# with SQLITE_FULL ("database or disk is full"), the very error a full file system gives, on
# the same code path (the pager cannot get a new page; the transaction rolls back). The
# pragma holds per connection and is never lower than the current size, so the CLI
# process is given this ``sitecustomize`` (on PYTHONPATH, read by Python at start-up): it
# sets the pragma on every SQLite connection SQLAlchemy opens, to the number of pages in the
# test's variable (1: the database may not grow at all). The product code is unchanged and
# has no test switch; "freeing space" is running the command again with a higher limit.
FULL_DISK_HOOK = """
import os

from sqlalchemy import event
from sqlalchemy.pool import Pool

_PAGES = os.environ.get("OUTAGE_TEST_MAX_PAGE_COUNT")

if _PAGES:

    @event.listens_for(Pool, "connect")
    def _cap_database_size(dbapi_connection, _record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA max_page_count=%d" % int(_PAGES))
            cursor.close()
"""


def event_count(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        count: int = connection.execute("SELECT count(*) FROM events").fetchone()[0]
        return count


def page_count(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        count: int = connection.execute("PRAGMA page_count").fetchone()[0]
        return count


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        result: str = connection.execute("PRAGMA integrity_check").fetchone()[0]
        return result


def test_a_full_disk_on_sqlite_is_one_clear_error_and_the_log_stays_valid(
    processes: Processes, tmp_path: Path
) -> None:
    path = tmp_path / "full.db"
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    try:
        migrations.upgrade(engine)
        plan(engine, due_now("x", 2), party="XX-MFA")  # some events before the disk is full
    finally:
        engine.dispose()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FULL_DISK_HOOK)
    env = {"CONSULTATIONS_DATABASE_URL": url}
    full = {**env, "PYTHONPATH": str(hook), "OUTAGE_TEST_MAX_PAGE_COUNT": "1"}
    roomy = {**env, "PYTHONPATH": str(hook), "OUTAGE_TEST_MAX_PAGE_COUNT": "1000000"}
    events_before = event_count(path)
    pages_before = page_count(path)

    failed = processes.run("import-full", full, "plan", "import", str(EXAMPLE), timeout=60)
    lines = [line for line in failed.stderr().splitlines() if line.strip()]
    verify_full = processes.run("verify-full", full, "events", "verify", timeout=60)
    events_after_failure = event_count(path)
    imported = processes.run("import-roomy", roomy, "plan", "import", str(EXAMPLE), timeout=60)
    verify = processes.run("verify", env, "events", "verify", timeout=60)
    summary(
        "sqlite-full-disk",
        returncode=failed.returncode,
        stderr=lines,
        events_before=events_before,
        events_after_failure=events_after_failure,
        events_after_retry=event_count(path),
        pages=f"{pages_before}->{page_count(path)}",
        retry=imported.stdout().strip()[:60],
    )
    assert failed.returncode == 1, failed.describe()
    assert len(lines) == 1, failed.describe()
    assert lines[0].startswith("error: database: ")
    assert "database or disk is full" in lines[0]
    assert "Traceback" not in failed.stderr()
    assert failed.stdout() == ""
    # Nothing half-written: the transaction rolled back, the log and the file are sound.
    assert events_after_failure == events_before
    assert integrity(path) == "ok"
    assert verify_full.returncode == 0, verify_full.describe()  # reading needs no space
    assert verify_full.stdout().startswith(f"ok: {events_before} events")
    # Space freed: the same command now succeeds, and the log verifies.
    assert imported.returncode == 0, imported.describe()
    assert imported.stdout().startswith("appended ")
    assert event_count(path) > events_before
    assert verify.returncode == 0, verify.describe()
    assert verify.stdout().startswith(f"ok: {event_count(path)} events")
    assert integrity(path) == "ok"


# --------------------------------------------------------------------------- backoff


def outage_delay(failures: int, rng: random.Random) -> float:
    """The daemon's delay after ``failures`` failed sweeps in a row."""
    return backoff(failures, base=OUTAGE_RETRY_BASE, cap=OUTAGE_RETRY_CAP, jitter="equal", rng=rng)


def test_the_outage_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    for failures in range(1, 12):
        ceiling = min(OUTAGE_RETRY_CAP, 2.0 ** (failures - 1))
        delays = [outage_delay(failures, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 100  # jittered, not one fixed value
    assert outage_delay(1000, rng=rng) <= OUTAGE_RETRY_CAP
