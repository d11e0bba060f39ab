"""Crash safety of the daemon, with real processes and a real webhook receiver.

Every test starts ``python -m consultations daemon …`` as OS processes pointed (by
environment) at the test database and at a Standard Webhooks receiver on 127.0.0.1 that
verifies signatures and records each request by ``webhook-id``. Data is planned with the
service layer relative to the real clock, since the daemons read the real clock.

Counting: ``receiver.counts()`` is raw receipts per webhook-id (what arrived);
deduplicating by webhook-id is what a receiver does, so "delivered exactly once" means each
expected id is present and no id is missing.

Timing: no test asserts that something happened fast. A request the test wants "in flight"
is held by the receiver (or the gate) until the test has done what it needs, and released
then. Where a scenario still needs the machine to keep up with the real clock (a sweep
before a due time; a kill before the daemon's own 10 s request timeout), the test checks
afterwards whether that precondition held, from what the processes recorded, and if a slow
machine spoiled it, arranges the scenario again in a fresh database with more slack.
"""

from __future__ import annotations

import base64
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.adapters.orm import deliveries, reminders
from consultations.adapters.outbox import delivery_id
from consultations.domain.commands import AddTrack, DomainCommand, PlanMeeting, RegisterParty
from consultations.service_layer.handlers import handle
from tests.daemon.processes import Process, Processes, TcpGate, wait_until
from tests.daemon.receivers import WebhookReceiver
from tests.projections.support import ANALYST, wire
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(b"daemon-process-tests-secret-key!").decode()
POLL = ("--poll", "1", "--lease", "5")  # short lease: PostgreSQL successors wait it out
STARTUP = 60.0  # seconds a daemon may take to start and do its first sweep (a loaded CI box)
STOP = 60.0  # seconds a daemon may take to exit after SIGTERM
ATTEMPTS = 3  # scenarios a test may arrange when a slow machine spoiled a precondition
T = TypeVar("T")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as hooks:
        yield hooks


Databases = Callable[[], tuple[str, Engine]]


@pytest.fixture
def databases(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Databases]:
    """Fresh migrated databases on the backend under test, one per call: (url, engine)."""
    created: list[tuple[str, Engine]] = []
    server: PostgresServer | None = None

    def fresh() -> tuple[str, Engine]:
        nonlocal server
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'consultations-{len(created)}.db'}"
        else:
            server = server or request.getfixturevalue("postgres_server")
            url = server.create_database(f"test_{uuid.uuid4().hex[:16]}")
        engine = create_engine(url)
        migrations.upgrade(engine)
        created.append((url, engine))
        return url, engine

    yield fresh
    for url, engine in created:
        engine.dispose()
        if server is not None:
            server.drop_database(url.rsplit("/", 1)[1])


def arranged(what: str, scenario: Callable[[int], T | None]) -> T:
    """Run ``scenario(attempt)`` until it reports its precondition held (not None)."""
    for attempt in range(ATTEMPTS):
        outcome = scenario(attempt)
        if outcome is not None:
            return outcome
        summary(what, attempt=attempt, spoiled="a slow machine; arranging it again")
    raise AssertionError(f"{what}: a slow machine spoiled all {ATTEMPTS} attempts")


def stop_while_held(daemon: Process, receiver: WebhookReceiver) -> float:
    """SIGTERM while the receiver holds a request; release it once the daemon took the signal.

    Only then is "the delivery in flight when the signal came" certain, whatever the load.
    Returns the seconds from the signal to the exit.
    """
    signalled = time.monotonic()
    daemon.popen.send_signal(signal.SIGTERM)
    wait_until(lambda: "signal 15" in daemon.stderr(), STOP, "the daemon to take the signal")
    receiver.release()
    assert daemon.wait(STOP) == 0, daemon.describe()
    return time.monotonic() - signalled


def environment(database_url: str, webhook_url: str) -> dict[str, str]:
    return {
        "CONSULTATIONS_DATABASE_URL": database_url,
        "CONSULTATIONS_WEBHOOK_URL": webhook_url,
        "CONSULTATIONS_WEBHOOK_SECRET": SECRET,
    }


# --------------------------------------------------------------------------- data


def plan(
    engine: Engine,
    tracks: Mapping[str, Sequence[str]],
    meetings: Mapping[str, tuple[str, datetime]],
) -> None:
    """Tracks (id -> reminder offsets) and meetings (id -> track, UTC start), one commit."""
    service = wire(engine)
    now = datetime.now(UTC)
    commands: list[DomainCommand] = [
        RegisterParty(party_id="AZ-MFA", name="MFA of Azerbaijan", tz="UTC")
    ]
    commands += [
        AddTrack(track_id=track_id, title=f"Track {track_id}", kind="consultation", cadence="quarter", start=now.date(), tz="UTC",
                 parties=("AZ-MFA",), reminders=tuple(offsets))
        for track_id, offsets in tracks.items()
    ]  # fmt: skip
    commands += [
        PlanMeeting(meeting_id=meeting_id, title=f"Consultations {meeting_id}",
                    start=start.astimezone(UTC).replace(tzinfo=None, microsecond=0), track_id=track_id)
        for meeting_id, (track_id, start) in meetings.items()
    ]  # fmt: skip
    uow = service.new_unit_of_work()
    for command in commands:
        handle(uow, command, now, service.directory)
    uow.commit(ANALYST.metadata("PlanForDaemonProcessTest"))


def reminder_keys(engine: Engine) -> dict[str, dict[str, Any]]:
    """webhook-id -> the reminder row (meeting_id, offset, start_utc, due_at)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(reminders)).mappings().all()
    return {delivery_id(row["reminder_id"], "webhook"): dict(row) for row in rows}


def webhook_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    """The webhook reminder deliveries by id."""
    query = sa.select(deliveries).where(
        deliveries.c.channel == "webhook", deliveries.c.kind == "reminder"
    )
    with engine.connect() as connection:
        return {row["delivery_id"]: dict(row) for row in connection.execute(query).mappings()}


def all_sent(engine: Engine, keys: Sequence[str] | set[str]) -> bool:
    rows = webhook_rows(engine)
    return all(key in rows and rows[key]["status"] == "sent" for key in keys)


def delivered(receiver: WebhookReceiver, keys: set[str]) -> bool:
    return keys <= set(receiver.accepted_counts())


def summary(label: str, **values: object) -> None:
    """One line in the test output (pytest -s / -rP) for the report."""
    print(f"[{label}] " + ", ".join(f"{k}={v}" for k, v in values.items()))


def due_meetings(count: int, offsets: Sequence[str] = ("PT1H", "PT2H")) -> dict[str, Any]:
    """``count`` meetings 30+ minutes from now, every reminder already due."""
    now = datetime.now(UTC)
    return {
        "tracks": {"pc": offsets},
        "meetings": {
            f"m{i:04d}": ("pc", now + timedelta(minutes=30, seconds=i)) for i in range(count)
        },
    }


def restart_until_delivered(
    processes: Processes,
    env: Mapping[str, str],
    engine: Engine,
    receiver: WebhookReceiver,
    keys: set[str],
) -> tuple[Process, float]:
    """Start a successor, wait until every key arrived and is recorded sent; SIGTERM it."""
    started = time.monotonic()
    successor = processes.start("successor", env, "daemon", *POLL)
    wait_until(
        lambda: delivered(receiver, keys) and all_sent(engine, keys),
        STARTUP + 60,
        "every reminder delivered and recorded sent after the restart",
        running=[successor],
    )
    took = time.monotonic() - started
    assert successor.terminate(timeout=STOP) == 0, successor.describe()
    return successor, took


# --------------------------------------------------------------------------- crash safety


def test_kill_9_after_the_claim_before_the_send_loses_nothing(
    databases: Databases,
    receiver: WebhookReceiver,
    processes: Processes,
    backend: str,
) -> None:
    def kill_at_the_gate(attempt: int) -> tuple[Engine, set[str], list[str], float, float] | None:
        url, engine = databases()
        receiver.clear()
        plan(engine, **due_meetings(3))
        keys = set(reminder_keys(engine))
        assert len(keys) == 6
        with TcpGate(receiver.port) as gate:  # holds the daemon's request short of the receiver
            env = environment(url, gate.url)
            first = processes.start(f"first-{attempt}", env, "daemon", *POLL)
            started = time.monotonic()
            wait_until(
                lambda: (
                    gate.held_bytes() > 0
                    and any(r["lease_owner"] for r in webhook_rows(engine).values())
                ),
                STARTUP,
                "a leased webhook delivery whose request is held at the gate",
                running=[first],
            )
            assert first.kill() == -9
            killed_after = time.monotonic() - started
            rows = webhook_rows(engine)  # as the daemon left them when it died
            if any(row["last_error"] for row in rows.values()):
                return None  # its 10 s request timeout ran out at the gate before the kill
            leased = [
                key for key, row in rows.items() if row["lease_owner"] and row["status"] != "sent"
            ]
            assert receiver.deliveries() == []  # claimed, not sent: the receiver saw nothing
            assert not [key for key, row in rows.items() if row["status"] == "sent"]
            assert gate.open() >= 1  # the dead daemon's request is dropped, never delivered
            assert receiver.deliveries() == []
            _, took = restart_until_delivered(processes, env, engine, receiver, keys)
        return engine, keys, leased, killed_after, took

    migrated_engine, keys, leased, killed_after, took = arranged(
        f"claim-before-send/{backend}", kill_at_the_gate
    )
    counts = receiver.counts()
    summary(
        f"claim-before-send/{backend}",
        leased_at_kill=len(leased),
        deliveries=len(keys),
        raw_receipts=sum(counts[k] for k in keys),
        distinct_ids=len(keys & set(counts)),
        killed_after_s=round(killed_after, 2),
        restart_to_all_delivered_s=round(took, 2),
    )
    assert len(leased) == len(keys)  # the whole batch was claimed before the first send
    assert {key: counts[key] for key in keys} == dict.fromkeys(keys, 1)
    assert set(receiver.accepted_counts()) >= keys
    assert all(d.verified for d in receiver.deliveries())
    assert {row["status"] for row in webhook_rows(migrated_engine).values()} == {"sent"}


def test_kill_9_after_the_send_before_the_commit_sends_again_with_the_same_id(
    databases: Databases,
    receiver: WebhookReceiver,
    processes: Processes,
    backend: str,
) -> None:
    def kill_in_flight(attempt: int) -> tuple[Engine, str, set[str], str, float] | None:
        url, engine = databases()
        plan(engine, **due_meetings(3))
        keys = set(reminder_keys(engine))
        receiver.clear()
        receiver.hold()  # records the request, then keeps the daemon waiting for the 200
        env = environment(url, receiver.url)
        first = processes.start(f"first-{attempt}", env, "daemon", *POLL)
        started = time.monotonic()
        (arrived,) = wait_until(
            receiver.deliveries, STARTUP, "the first webhook request", running=[first]
        )
        assert first.kill() == -9
        killed_after = time.monotonic() - started
        receiver.release()
        in_flight = arrived.webhook_id
        assert in_flight in keys
        row = webhook_rows(engine)[in_flight]  # as the daemon left it when it died
        if row["last_error"] is not None:
            return None  # its 10 s request timeout ran out before the kill: not in flight
        assert row["status"] == "pending"
        assert row["lease_owner"] is not None
        return engine, url, keys, in_flight, killed_after

    migrated_engine, url, keys, in_flight, killed_after = arranged(
        f"send-before-commit/{backend}", kill_in_flight
    )
    env = environment(url, receiver.url)
    _, took = restart_until_delivered(processes, env, migrated_engine, receiver, keys)
    counts = receiver.counts()
    by_id = receiver.by_id()
    summary(
        f"send-before-commit/{backend}",
        deliveries=len(keys),
        raw_receipts=sum(counts[k] for k in keys),
        distinct_ids=len(keys & set(by_id)),
        in_flight_receipts=counts[in_flight],
        killed_after_s=round(killed_after, 2),
        restart_to_all_delivered_s=round(took, 2),
    )
    # At least once: the id the dead daemon sent arrives again, every other one once.
    assert counts[in_flight] == 2
    assert {key: counts[key] for key in keys - {in_flight}} == dict.fromkeys(keys - {in_flight}, 1)
    # Deduplicated by webhook-id: each present exactly once, none missing.
    assert set(by_id) >= keys
    assert len({d.webhook_id for d in receiver.accepted() if d.webhook_id in keys}) == len(keys)
    assert len({d.body for d in by_id[in_flight]}) == 1  # the same notification, resent
    final = webhook_rows(migrated_engine)
    assert {row["status"] for row in final.values()} == {"sent"}
    assert final[in_flight]["attempts"] == 2


def test_a_daemon_down_across_a_due_time_sends_once_if_not_started_else_skips(
    databases: Databases,
    receiver: WebhookReceiver,
    processes: Processes,
    backend: str,
) -> None:
    def sweep_before_the_due_time(attempt: int) -> tuple[Engine, dict[str, str], Any] | None:
        # Due in 5 s, or (when a slow machine's first sweep came too late) 20 s, then 60 s.
        slack = timedelta(seconds=(5, 20, 60)[attempt])
        url, engine = databases()
        receiver.clear()
        t0 = datetime.now(UTC)
        plan(
            engine,
            tracks={"later": ("PT115S",), "soon": ("PT3S",)},
            meetings={
                "a": ("later", t0 + slack + timedelta(seconds=115)),  # due ~t0+slack, starts later
                "b": ("soon", t0 + slack + timedelta(seconds=3)),  # due ~t0+slack, starts 3 s on
            },
        )
        env = environment(url, receiver.url)
        before = processes.run(f"before-{attempt}", env, "daemon", "--once", timeout=60)
        assert before.returncode == 0, before.describe()
        if webhook_rows(engine) or "sweep: nothing due" not in before.stdout():
            return None  # the first sweep came after the due time: not "down across" it
        return engine, env, before

    migrated_engine, env, _ = arranged(f"down-across-due/{backend}", sweep_before_the_due_time)
    # What the first sweep saw, decided above from what it did: nothing was due yet.
    assert webhook_rows(migrated_engine) == {}
    by_meeting = {row["meeting_id"]: key for key, row in reminder_keys(migrated_engine).items()}
    start_b = max(row["start_utc"] for row in reminder_keys(migrated_engine).values()
                  if row["meeting_id"] == "b")  # fmt: skip

    # Down across both due times and across meeting b's start.
    time.sleep(max(0.0, (start_b - datetime.now(UTC)).total_seconds()) + 0.5)
    after = processes.run("after", env, "daemon", "--once", timeout=60)
    assert after.returncode == 0, after.describe()
    again = processes.run("again", env, "daemon", "--once", timeout=60)
    assert again.returncode == 0, again.describe()

    rows = webhook_rows(migrated_engine)
    counts = receiver.counts()
    summary(
        f"down-across-due/{backend}",
        a=rows[by_meeting["a"]]["status"],
        b=rows[by_meeting["b"]]["status"],
        receipts_a=counts[by_meeting["a"]],
        receipts_b=counts[by_meeting["b"]],
    )
    assert rows[by_meeting["a"]]["status"] == "sent"
    assert counts[by_meeting["a"]] == 1
    assert rows[by_meeting["b"]]["status"] == "skipped"
    assert counts[by_meeting["b"]] == 0
    assert "sweep: 2 sent" in after.stdout()  # a, on the console and the webhook
    assert "sweep: nothing due" in again.stdout()


# --------------------------------------------------------------------------- one daemon per SQLite


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_second_daemon_on_the_same_sqlite_database_refuses_to_start(
    migrated_engine: Engine,
    database_url: str,
    receiver: WebhookReceiver,
    processes: Processes,
) -> None:
    env = environment(database_url, receiver.url)
    first = processes.start("first", env, "daemon", *POLL)
    lock = Path(f"{migrated_engine.url.database}.daemon.lock")
    wait_until(
        lambda: lock.exists() and lock.read_text().strip() == str(first.pid),
        STARTUP,
        "the first daemon to hold the lock",
        running=[first],
    )
    second = processes.run("second", env, "daemon", timeout=60)
    lines = [line for line in second.stderr().splitlines() if line.strip()]
    summary("second-daemon", returncode=second.returncode, stderr=lines)
    assert second.returncode == 3, second.describe()
    assert len(lines) == 1, second.describe()
    assert "another daemon" in lines[0]
    assert lines[0].startswith("error: daemon: ")
    assert "Traceback" not in second.stderr()
    assert first.alive  # the one holding the lock is untouched
    assert lock.read_text().strip() == str(first.pid)
    assert first.terminate(timeout=STOP) == 0, first.describe()
    # The lock goes with its holder: a successor starts.
    successor = processes.run("successor", env, "daemon", "--once", timeout=60)
    assert successor.returncode == 0, successor.describe()


# --------------------------------------------------------------------------- SIGTERM


def test_sigterm_finishes_the_delivery_in_flight_and_exits_0(
    databases: Databases,
    receiver: WebhookReceiver,
    processes: Processes,
    backend: str,
) -> None:
    def stop_in_flight(attempt: int) -> tuple[Engine, dict[str, str], Process, float] | None:
        url, engine = databases()
        now = datetime.now(UTC)
        # "later" falls due only after everything this test waits for could have timed out.
        later = timedelta(seconds=2 * (STARTUP + STOP))
        plan(
            engine,
            tracks={"now": ("PT1H",), "later": ("PT1H",)},
            meetings={
                "now": ("now", now + timedelta(minutes=30)),  # due half an hour ago
                "later": ("later", now + timedelta(hours=1) + later),  # due after the test
            },
        )
        keys = {row["meeting_id"]: key for key, row in reminder_keys(engine).items()}
        receiver.clear()
        receiver.hold()
        env = environment(url, receiver.url)
        daemon = processes.start(f"daemon-{attempt}", env, "daemon", "--poll", "1")
        wait_until(receiver.deliveries, STARTUP, "the delivery in flight", running=[daemon])
        took = stop_while_held(daemon, receiver)
        if webhook_rows(engine)[keys["now"]]["last_error"] is not None:
            return None  # the daemon's 10 s request timeout ran out before the release
        return engine, keys, daemon, took

    migrated_engine, keys, daemon, took = arranged(f"sigterm/{backend}", stop_in_flight)
    rows = webhook_rows(migrated_engine)
    summary("sigterm", backend=backend, exit_after_s=round(took, 2), rows=len(rows))
    assert rows[keys["now"]]["status"] == "sent"
    assert rows[keys["now"]]["lease_owner"] is None
    assert receiver.counts() == Counter({keys["now"]: 1})
    assert keys["later"] not in rows  # never claimed (not even materialized)
    assert "signal 15" in daemon.stderr()


# --------------------------------------------------------------------------- PostgreSQL: shared


@pytest.mark.postgresql
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_three_daemons_on_postgresql_deliver_each_of_1000_reminders_once(
    migrated_engine: Engine,
    database_url: str,
    receiver: WebhookReceiver,
    processes: Processes,
) -> None:
    started = time.monotonic()
    plan(migrated_engine, **due_meetings(500))
    keys = set(reminder_keys(migrated_engine))
    assert len(keys) == 1000
    planned = time.monotonic() - started
    env = environment(database_url, receiver.url)
    daemons = [processes.start(f"daemon-{n}", env, "daemon", "--poll", "1") for n in range(3)]
    wait_until(
        lambda: delivered(receiver, keys) and all_sent(migrated_engine, keys),
        600,  # seconds; typically 10-20 (printed below), but CI shares a loaded machine
        "1,000 reminders delivered and recorded sent",
        running=daemons,
        interval=0.2,
    )
    delivered_after = time.monotonic() - started - planned
    for daemon in daemons:
        assert daemon.terminate(timeout=STOP) == 0, daemon.describe()
    counts = receiver.accepted_counts()
    shares = [d.stdout().count("[reminder.due]") for d in daemons]  # console lines per daemon
    summary(
        "three-daemons",
        plan_s=round(planned, 2),
        deliver_s=round(delivered_after, 2),
        raw_receipts=sum(receiver.counts()[k] for k in keys),
        distinct_ids=len(keys & set(counts)),
        max_count=max(counts[k] for k in keys),
        console_shares=shares,
    )
    assert len(keys & set(counts)) == 1000
    assert {key: counts[key] for key in keys} == dict.fromkeys(keys, 1)
    assert {key: receiver.counts()[key] for key in keys} == dict.fromkeys(keys, 1)
    assert max(receiver.counts().values()) == 1  # cadence alerts too, if any
    assert {row["status"] for row in webhook_rows(migrated_engine).values()} == {"sent"}
    assert sum(shares) == 1000  # the console channel: each reminder printed once in all


def test_sigterm_does_not_send_claimed_deliveries_that_were_not_yet_in_flight(
    databases: Databases,
    receiver: WebhookReceiver,
    processes: Processes,
    backend: str,
) -> None:
    def stop_in_flight(attempt: int) -> tuple[Engine, str, set[str], str, float] | None:
        url, engine = databases()
        plan(engine, **due_meetings(3, offsets=("PT1H",)))
        keys = set(reminder_keys(engine))
        receiver.clear()
        receiver.hold()
        env = environment(url, receiver.url)
        daemon = processes.start(f"daemon-{attempt}", env, "daemon", "--poll", "1")
        (arrived,) = wait_until(
            receiver.deliveries, STARTUP, "the delivery in flight", running=[daemon]
        )
        in_flight = arrived.webhook_id
        assert in_flight is not None
        took = stop_while_held(daemon, receiver)
        if webhook_rows(engine)[in_flight]["last_error"] is not None:
            return None  # the daemon's 10 s request timeout ran out before the release
        return engine, url, keys, in_flight, took

    migrated_engine, url, keys, in_flight, took = arranged(
        f"sigterm-batch/{backend}", stop_in_flight
    )
    env = environment(url, receiver.url)
    rows = webhook_rows(migrated_engine)
    summary(
        "sigterm-batch",
        backend=backend,
        exit_after_s=round(took, 2),
        statuses=sorted(r["status"] for r in rows.values()),
        receipts=sum(receiver.counts().values()),
    )
    assert rows[in_flight]["status"] == "sent"  # holds today
    rest = keys - {in_flight}
    # Claimed in the same batch but not yet sent: left for a successor, lease given back.
    assert {rows[key]["status"] for key in rest} == {"pending"}
    assert all(rows[key]["lease_owner"] is None for key in rest)
    assert receiver.counts() == Counter({in_flight: 1})
    successor = processes.run("successor", env, "daemon", "--once", timeout=60)
    assert successor.returncode == 0, successor.describe()
    assert receiver.counts() == Counter(dict.fromkeys(keys, 1))
