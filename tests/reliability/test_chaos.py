"""Chaos: random CLI writes, ``kill -9`` of the writer and of the daemon, restarts; no harm done.

Hypothesis draws a scenario (every choice of every step, before anything runs, so what it
draws never depends on the clock or on how a process ended) and the test plays it against
the whole service as real OS processes on the backend under test (SQLite and PostgreSQL):

* ``python -m consultations --database-url … meeting plan|reschedule|cancel|held …`` with
  valid and invalid arguments, run to completion or ``kill -9``-ed after a random short
  sleep. Meetings start seconds from now (the real clock) and carry their own reminder
  offsets, so their reminders fall due while the machine runs.
* ``python -m consultations daemon --poll 1 --lease 5`` (5 s is the CLI's shortest lease)
  delivering to a Standard-Webhooks receiver, started when none runs and ``kill -9``-ed at a
  random moment (after a sleep, or just as a webhook request arrives).
* time passing.

After every step: ``events verify`` passes; the read tables kept incrementally equal a
rebuild (and the rebuild keeps every ``deliveries`` row); a delivery that reached a final
status (``sent``, ``skipped``, ``dead``) keeps it, so none is sent twice;
``skipped`` only when the meeting had started when the reminder was first seen; every
``sent`` webhook was accepted by the receiver; the receiver accepted only ids the outbox
holds, signed, and raw repeats (at-least-once after a kill between send and commit) number
no more than the daemon kills. A killed writer's command happened entirely or not at all,
and repeating it with its idempotency key finishes it exactly once.

At the end of each example the daemon is (re)started and given time to catch up; then every
reminder that fell due is delivered (its webhook-id accepted) unless its meeting had started
when it was first seen (``skipped``); none is lost, also when its meeting moved away and
back to the same start after the delivery was marked ``superseded``
(``test_a_reminder_back_after_a_superseded_delivery_is_delivered`` is the minimal case).

Default: a few short examples per backend (``make test``). ``CONSULTATIONS_SOAK=1`` runs
more and longer ones (``make soak``). Summaries are printed (``pytest -s``).
"""

from __future__ import annotations

import base64
import itertools
import os
import random
import shlex
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.orm import deliveries, events, idempotency_keys, reminders, schedule
from consultations.adapters.outbox import SqlOutbox, delivery_id
from consultations.adapters.projections import Projector
from consultations.adapters.read_models import ReadModels
from consultations.domain.commands import AddTrack, PlanMeeting, RegisterParty, RescheduleMeeting
from consultations.service_layer.dispatcher import Dispatcher
from tests.daemon.processes import Process, Processes, wait_until
from tests.daemon.receivers import WebhookReceiver
from tests.projections.support import ANALYST, snapshot, wire

pytestmark = pytest.mark.slow
T = TypeVar("T")

SECRET = "whsec_" + base64.b64encode(b"chaos-suite-webhook-secret-key!!").decode()
SOAK = os.environ.get("CONSULTATIONS_SOAK") == "1"
# Which scenarios are played. Hypothesis' pytest plugin seeds a @given nested in a test
# deterministically, so `make test` plays the same scenarios on every run; `make soak` draws
# a fresh seed each run (printed in the summary), and CONSULTATIONS_CHAOS_SEED=N replays one.
FIXED_SEED = os.environ.get("CONSULTATIONS_CHAOS_SEED")
SCENARIO_SEED = (
    int(FIXED_SEED) if FIXED_SEED else random.SystemRandom().getrandbits(64) if SOAK else None
)
CHAOS = settings(
    max_examples=10 if SOAK else 3,
    deadline=None,
    database=None,  # timing-dependent: replaying a saved example proves little
    phases=[Phase.generate],  # no shrinking: every run costs real seconds
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
TRACK = "chaos"
DAEMON = ("daemon", "--poll", "1", "--lease", "5")  # --lease below 5 is refused by the CLI
READY = "daemon: delivering on"
WRITE_TIMEOUT = 60.0
STOP_TIMEOUT = 90.0
CATCH_UP = 45.0  # seconds the last daemon of an example gets to deliver what fell due
GRACE = timedelta(seconds=15)  # a running daemon materializes a due reminder within this
# ``superseded`` is not final: a meeting moved back to the same start reopens the delivery.
FINAL = {"sent", "skipped", "dead"}
OPEN = ("planned", "rescheduled")
# None: run to completion; else kill -9 after that many seconds (a CLI write takes ~0.5-1 s).
KILL_AFTER = [None, None, None, None, 0.05, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.9]


# --------------------------------------------------------------------------- the world


@dataclass
class Up:
    """One daemon: when it was seen ready and when it was stopped (wall-clock UTC)."""

    process: Process
    ready: datetime
    stopped: datetime | None = None


@dataclass
class Chaos:
    """Processes, receiver and bookkeeping shared by every example on one backend."""

    backend: str
    url: str
    engine: Engine
    receiver: WebhookReceiver
    processes: Processes
    stats: Counter[str] = field(default_factory=Counter)
    steps: list[str] = field(default_factory=list)
    daemons: list[Up] = field(default_factory=list)
    final: dict[str, tuple[str, Any]] = field(default_factory=dict)  # id -> (status, sent_at)
    seen_deliveries: set[str] = field(default_factory=set)
    first_seen: dict[str, datetime] = field(default_factory=dict)  # reminder id -> when
    present: set[str] = field(default_factory=set)
    flickered: set[str] = field(default_factory=set)  # reminders that vanished and came back
    examples: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    example_seconds: list[float] = field(default_factory=list)

    # -- processes ------------------------------------------------------------------------

    @property
    def daemon(self) -> Up | None:
        """The daemon this machine started and has not stopped, if any."""
        return self.daemons[-1] if self.daemons and self.daemons[-1].stopped is None else None

    def log(self, line: str) -> None:
        stamped = f"{datetime.now(UTC):%H:%M:%S.%f}"[:-3] + " " + line
        self.steps.append(stamped)
        note(stamped)

    def cli(self, name: str, args: Sequence[str], kill_after: float | None) -> Process:
        """A CLI write; run to completion, or ``kill -9``-ed ``kill_after`` seconds in."""
        argv = ("--database-url", self.url, *args)
        if kill_after is None:
            return self.processes.run(name, {}, *argv, timeout=WRITE_TIMEOUT)
        process = self.processes.start(name, {}, *argv)
        time.sleep(kill_after)
        process.kill()
        return process

    def start_daemon(self) -> Up:
        env = {
            "CONSULTATIONS_DATABASE_URL": self.url,
            "CONSULTATIONS_WEBHOOK_URL": self.receiver.url,
            "CONSULTATIONS_WEBHOOK_SECRET": SECRET,
        }
        process = self.processes.start("daemon", env, *DAEMON)
        wait_until(lambda: READY in process.stdout(), 30, "the daemon to start", running=[process])
        up = Up(process, datetime.now(UTC))
        self.daemons.append(up)
        self.stats["daemon starts"] += 1
        self.log(f"daemon pid {process.pid} ready")
        return up

    def kill_daemon(self, reason: str) -> None:
        up = self.daemon
        assert up is not None
        assert up.process.alive, f"the daemon died on its own:\n{up.process.describe()}"
        up.stopped = datetime.now(UTC)  # alive until at least now
        assert up.process.kill() == -9, up.process.describe()
        self._healthy(up.process)
        self.stats["daemon kills"] += 1
        self.log(f"kill -9 daemon pid {up.process.pid} ({reason})")

    def stop_daemon(self) -> None:
        up = self.daemon
        if up is None:
            return
        up.stopped = datetime.now(UTC)
        # Generous: a healthy daemon exits within seconds, but a shared, loaded machine has
        # been seen to take over 30 s to finish the delivery in flight and stop.
        status = up.process.terminate(timeout=STOP_TIMEOUT)
        assert status == 0, f"SIGTERM should stop the daemon with 0:\n{up.process.describe()}"
        self._healthy(up.process)
        self.stats["daemon SIGTERMs"] += 1

    @staticmethod
    def _healthy(process: Process) -> None:
        """No traceback and no error logged (warnings, e.g. a skipped overlapping tick, pass)."""
        errors = [line for line in process.stderr().splitlines() if " ERROR " in line]
        assert "Traceback" not in process.stderr(), process.describe()
        assert not errors, process.describe()

    # -- reading --------------------------------------------------------------------------

    def head(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT position FROM event_log_head")).scalar())

    def key_range(self, key: str) -> tuple[int, int] | None:
        query = sa.select(idempotency_keys.c.first_position, idempotency_keys.c.last_position)
        with self.engine.connect() as connection:
            row = connection.execute(query.where(idempotency_keys.c.key == key)).first()
        return None if row is None else (int(row[0]), int(row[1]))

    def streams(self, first: int, last: int) -> set[str]:
        query = sa.select(events.c.stream_id).where(events.c.position.between(first, last))
        with self.engine.connect() as connection:
            return set(connection.execute(query).scalars())

    def meetings(self, prefix: str) -> dict[str, dict[str, Any]]:
        query = sa.select(schedule).where(schedule.c.meeting_id.startswith(prefix))
        with self.engine.connect() as connection:
            return {row["meeting_id"]: dict(row) for row in connection.execute(query).mappings()}

    def reminder_rows(self) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(reminders)).mappings()
            return {row["reminder_id"]: dict(row) for row in rows}

    def delivery_rows(self) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(deliveries)).mappings()
            return {row["delivery_id"]: dict(row) for row in rows}

    def daemon_up_through(self, start: datetime, end: datetime) -> bool:
        """Some daemon was ready at ``start`` and still running at ``end``."""
        now = datetime.now(UTC)
        return any(up.ready <= start and (up.stopped or now) >= end for up in self.daemons)

    # -- invariants -----------------------------------------------------------------------

    def check(self) -> None:
        """Every invariant that holds between steps (no writer is running then)."""
        assert not [p for p in self.processes.started if p.alive and p.name != "daemon"]
        if self.daemon is not None:
            assert self.daemon.process.alive, f"the daemon died:\n{self.daemon.process.describe()}"
        report = SqlEventLog(self.engine).verify()
        assert report.ok, f"events verify: {report}"
        self._rebuild_equals_incremental()
        # Order matters while the daemon runs: a request needs its row first (so requests
        # are read before rows), and a row is recorded sent after its request (so after).
        received = self.receiver.deliveries()
        rows = self.delivery_rows()
        accepted = set(self.receiver.accepted_counts())
        self._deliveries_only_move_forward(rows)
        self._skipped_only_when_started(rows)
        self._receiver_agrees(received, rows, accepted)
        self._watch_reminders()

    def _rebuild_equals_incremental(self) -> None:
        incremental = snapshot(self.engine)
        statuses = Projector().status(self.engine)
        assert all(status.current for status in statuses), statuses
        before = set(self.delivery_rows())
        started = time.monotonic()
        Projector().rebuild(self.engine)
        self.stats["rebuild ms"] += round(1000 * (time.monotonic() - started))
        self.stats["rebuilds"] += 1
        rebuilt = snapshot(self.engine)
        for table, rows in incremental.items():
            assert rebuilt[table] == rows, f"{table}: the incremental rows differ from a rebuild"
        assert "deliveries" not in rebuilt
        missing = before - set(self.delivery_rows())
        assert not missing, f"the rebuild removed deliveries {sorted(missing)}"

    def _deliveries_only_move_forward(self, rows: dict[str, dict[str, Any]]) -> None:
        vanished = self.seen_deliveries - set(rows)
        assert not vanished, f"deliveries disappeared: {sorted(vanished)}"
        self.seen_deliveries |= set(rows)
        for key, row in rows.items():
            assert row["status"] in {"pending", "failed", *FINAL}, row
            if key in self.final:
                status, sent_at = self.final[key]
                assert (row["status"], row["sent_at"]) == (status, sent_at), (
                    f"delivery {key} left its final status {status} (sent_at {sent_at}): {row}"
                )
            elif row["status"] in FINAL:
                self.final[key] = (row["status"], row["sent_at"])
            if row["status"] == "sent":
                assert row["sent_at"] is not None, row

    @staticmethod
    def _skipped_only_when_started(rows: dict[str, dict[str, Any]]) -> None:
        for row in rows.values():
            if row["kind"] != "reminder":
                continue
            start = datetime.fromisoformat(row["subject"]["meeting"]["start_utc"])
            started = row["created_at"] >= start
            assert started == (row["status"] == "skipped"), (
                f"a reminder first seen {row['created_at']} for a meeting starting {start} "
                f"should be skipped if and only if the meeting had started: {row}"
            )

    def _receiver_agrees(
        self, received: list[Any], rows: dict[str, dict[str, Any]], accepted: set[str]
    ) -> None:
        assert all(d.verified for d in received), [d.verification_error for d in received]
        strangers = {d.webhook_id for d in received} - set(rows)
        assert not strangers, f"the receiver got ids the outbox does not hold: {strangers}"
        for d in received:
            body = d.json()
            assert body["idempotency_key"] == d.webhook_id, body
        sent = {k for k, r in rows.items() if r["channel"] == "webhook" and r["status"] == "sent"}
        assert sent <= accepted, f"recorded sent, never accepted: {sorted(sent - accepted)}"
        counts = Counter(d.webhook_id for d in received)
        repeats = sum(n - 1 for n in counts.values())
        kills = self.stats["daemon kills"]
        assert repeats <= kills, (
            f"{repeats} repeated webhook requests but only {kills} daemon kills: {counts}"
        )
        self.stats["raw repeats (max)"] = max(self.stats["raw repeats (max)"], repeats)

    def _watch_reminders(self) -> None:
        now = datetime.now(UTC)
        current = set(self.reminder_rows())
        for key in current - self.present:
            if key in self.first_seen:
                self.flickered.add(key)
            else:
                self.first_seen[key] = now
        self.present = current

    # -- the end of an example ------------------------------------------------------------

    def catch_up_and_check_none_lost(self) -> None:
        """(Re)start the daemon, let it deliver what is due, and look for lost reminders."""
        cutoff = datetime.now(UTC)
        if self.daemon is None or not self.daemon.process.alive:
            if self.daemon is not None:  # died on its own: that is a failure
                raise AssertionError(f"the daemon died:\n{self.daemon.process.describe()}")
            self.start_daemon()
        due = {k: r for k, r in self.reminder_rows().items() if r["due_at"] <= cutoff}
        expected = {delivery_id(key, "webhook"): key for key in due}
        up = self.daemon
        assert up is not None

        def caught_up() -> bool:
            rows = self.delivery_rows()
            if any(wid not in rows for wid in expected):
                return False
            for row in rows.values():
                if row["status"] in {"pending", "failed"} and row["due_at"] <= cutoff:
                    return False
            return True

        started = time.monotonic()
        wait_until(caught_up, CATCH_UP, "the daemon to catch up", running=[up.process])
        self.stats["catch-up s (max)"] = max(
            self.stats["catch-up s (max)"], round(time.monotonic() - started)
        )
        self.check()
        rows = self.delivery_rows()
        accepted = set(self.receiver.accepted_counts())
        lost = []
        for wid, key in expected.items():
            reminder, row = due[key], rows[wid]
            if row["status"] == "skipped":
                seen = max(reminder["due_at"], self.first_seen.get(key, cutoff))
                if (
                    key not in self.flickered
                    and reminder["start_utc"] - seen > GRACE
                    and self.daemon_up_through(seen, seen + GRACE)
                ):
                    lost.append(f"{key}: skipped although a daemon ran from {seen} on: {row}")
                continue
            if wid in accepted:
                continue
            lost.append(f"{key}: {reminder} -> {row}")
        assert not lost, "reminders lost:\n" + "\n".join(lost)


# --------------------------------------------------------------------------- the scenario
#
# Every choice of an example is drawn before anything runs: a ``Step`` carries all of them,
# whether the step needs them or not, so what hypothesis draws never depends on the clock, on
# how a process ended or on what the database holds (hypothesis reports a draw that differs
# between two runs of the same choices as ``FlakyStrategyDefinition``). What the choices
# mean is decided while the example runs, from the state at that moment: which meeting an
# index picks, whether a command is expected to succeed. The checks may depend on timing.

ACTIONS = ("write", "write", "daemon", "write", "wait", "daemon")  # daemon: start, or kill
# A command other than ``plan`` is read as ``plan`` while the example has no meeting yet.
COMMANDS = ("plan", "plan", "plan", "reschedule", "reschedule", "reschedule", "cancel", "held")
SPOILS = (None, None, None, None, None, None, "taken", "track", "end", "tz", "twice", "when",
          "title")  # fmt: skip
INDEX = st.integers(min_value=0, max_value=255)  # an index into a list known only at run time


@dataclass(frozen=True)
class Step:
    """One thing that happens, with every choice it might need drawn in advance."""

    action: str
    kill_after: float | None  # write: run to completion, or ``kill -9`` after that many seconds
    command: str
    lead: int  # plan: the meeting starts in that many seconds
    due_in: tuple[int, ...]  # plan: its reminders fall due in these many seconds
    spoil: str | None  # plan: what makes it invalid, if anything
    taken: int  # plan spoiled "taken": which known meeting id it reuses
    meeting: int  # reschedule, cancel, held: which meeting (or one that does not exist)
    back: bool  # reschedule: back to a start it had before (if it had one)
    earlier: int  # ... which one
    offset: int  # reschedule elsewhere: which of its reminders falls due ...
    moved_due_in: int  # ... in that many seconds
    end_before_start: bool  # reschedule: spoiled with an end before the start
    reason: str  # cancel
    kill_when: str  # daemon kill: after a sleep, or as a webhook request arrives
    sleep: float  # ... the sleep
    wait: float  # wait: seconds


STEPS = st.builds(
    Step,
    action=st.sampled_from(ACTIONS),
    kill_after=st.sampled_from(KILL_AFTER),
    command=st.sampled_from(COMMANDS),
    lead=st.sampled_from([8, 12, 20, 30, 60, 180]),
    due_in=st.lists(st.sampled_from([-20, -3, 2, 4, 6, 10, 25]), min_size=1, max_size=2,
                    unique=True).map(tuple),
    spoil=st.sampled_from(SPOILS),
    taken=INDEX,
    meeting=INDEX,
    back=st.booleans(),
    earlier=INDEX,
    offset=INDEX,
    moved_due_in=st.sampled_from([-5, 2, 5, 12, 40]),
    end_before_start=st.sampled_from([False] * 6 + [True]),
    reason=st.sampled_from(["postponed", "postponed", "clash", " "]),
    kill_when=st.sampled_from(["sleep", "sleep", "request"]),
    sleep=st.sampled_from([0.0, 0.2, 0.5, 1.0, 1.5, 2.5]),
    wait=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
)  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    """One example: how slowly the receiver answers, a daemon at the start or not, the steps.

    The first choices (what hypothesis tries first) are a valid plan, run to completion.
    """

    delay: float
    daemon: bool
    steps: tuple[Step, ...]


SCENARIOS = st.builds(
    Scenario,
    delay=st.sampled_from([0.0, 0.1, 0.0, 0.3]),
    daemon=st.sampled_from([True, False]),
    steps=st.lists(STEPS, min_size=1, max_size=30 if SOAK else 12).map(tuple),
)


@dataclass
class Meeting:
    """What an example knows of one meeting it planned (its state is read from the DB)."""

    offsets: tuple[int, ...]  # reminder offsets, seconds
    starts: list[datetime] = field(default_factory=list)  # every start it was given (UTC)


def wall(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def seconds(offset: int) -> str:
    return f"PT{offset}S"


def nth(items: Sequence[T], index: int) -> T:
    """The item a drawn index picks from a list whose length is known only at run time."""
    return items[index % len(items)]


class ChaosExample:
    """Runs one scenario: a CLI write (maybe killed), a daemon start or kill, or a pause."""

    def __init__(self, world: Chaos) -> None:
        self.world = world
        self.number = next(world.examples)
        self.prefix = f"e{self.number}-"
        self.known: dict[str, Meeting] = {}
        self.counter = itertools.count(1)
        self.started = time.monotonic()
        world.log(f"--- example {self.number} on {world.backend}")

    def run(self, scenario: Scenario) -> None:
        """Every step, with every invariant checked after it; then catch up and look back."""
        try:
            self.begin(scenario.delay, scenario.daemon)
            self.world.check()
            for step in scenario.steps:
                self.step(step)
                self.world.check()
        finally:
            self.teardown()

    def begin(self, delay: float, daemon: bool) -> None:
        """How slowly the receiver answers (widens send-to-commit), and a daemon or not."""
        self.world.receiver.set_delay(delay)
        self.world.log(f"receiver answers after {delay}s")
        if daemon:
            self.world.start_daemon()

    # -- reading the choices --------------------------------------------------------------

    def _state(self) -> dict[str, dict[str, Any]]:
        return self.world.meetings(self.prefix)

    def _plan(self, step: Step) -> tuple[list[str], int]:
        now = datetime.now(UTC).replace(microsecond=0)
        start = now + timedelta(seconds=step.lead)
        offsets = tuple(sorted({step.lead - d for d in step.due_in if step.lead - d > 0}))
        offsets = offsets or (step.lead + 5,)
        meeting_id = f"{self.prefix}m{next(self.counter)}"
        args = [
            "meeting", "plan", "--track", TRACK, "--title", f"Chaos session {meeting_id}",
            "--start", wall(start), "--duration", "PT30M", "--tz", "UTC",
            "--reminders", ",".join(seconds(o) for o in offsets), "--id", meeting_id,
        ]  # fmt: skip
        spoil, expected = step.spoil, 0
        if spoil == "taken" and self.known:
            args[-1], expected = nth(sorted(self.known), step.taken), 3
        elif spoil == "track":
            args[3], expected = "no-such-track", 4
        elif spoil == "end":
            args[8:10], expected = ["--end", wall(start - timedelta(minutes=5))], 2
        elif spoil == "tz":
            args[11], expected = "Mars/Olympus_Mons", 2
        elif spoil == "twice":
            args[13], expected = f"PT{offsets[0]}S,PT{offsets[0]}S", 2
        elif spoil == "when":
            args[7], expected = "tomorrow at ten", 2
        elif spoil == "title":
            args[5], expected = " ", 2
        if expected == 0:
            self.known[meeting_id] = Meeting(offsets, [start])
        return args, expected

    def _pick_meeting(self, step: Step) -> str:
        return nth([*sorted(self.known), "e0-nobody"], step.meeting)

    def _expect_open(self, meeting_id: str) -> int:
        state = self._state()
        if meeting_id not in state:
            return 4
        return 0 if state[meeting_id]["status"] in OPEN else 3

    def _reschedule(self, step: Step) -> tuple[list[str], int]:
        meeting_id = self._pick_meeting(step)
        expected = self._expect_open(meeting_id)
        meeting = self.known.get(meeting_id, Meeting((60,), []))
        now = datetime.now(UTC).replace(microsecond=0)
        if step.back and meeting.starts:
            start = nth(meeting.starts, step.earlier)
        else:
            # A start that makes one of its reminders fall due a few seconds from now.
            start = now + timedelta(seconds=nth(meeting.offsets, step.offset) + step.moved_due_in)
        args = ["meeting", "reschedule", meeting_id, "--start", wall(start)]
        if step.end_before_start:
            args += ["--end", wall(start - timedelta(minutes=1))]
            expected = 2 if expected == 0 else expected
        elif expected == 0:
            meeting.starts.append(start)
        return args, expected

    def _cancel(self, step: Step) -> tuple[list[str], int]:
        meeting_id = self._pick_meeting(step)
        expected = self._expect_open(meeting_id)
        if step.reason == " " and expected == 0:
            expected = 2
        return ["meeting", "cancel", meeting_id, "--reason", step.reason], expected

    def _held(self, step: Step) -> tuple[list[str], int]:
        meeting_id = self._pick_meeting(step)
        expected = self._expect_open(meeting_id)
        return ["meeting", "held", meeting_id, "--outcome", "Agreed a road map"], expected

    def _command(self, step: Step) -> tuple[str, list[str], int]:
        kind = step.command if self.known else "plan"
        reader = {
            "plan": self._plan,
            "reschedule": self._reschedule,
            "cancel": self._cancel,
            "held": self._held,
        }[kind]
        args, expected = reader(step)
        return kind, args, expected

    # -- steps ----------------------------------------------------------------------------

    def step(self, step: Step) -> None:
        """One thing happens: a write (maybe killed), a daemon start or kill, or a pause.

        One kind of step choosing its action (rather than a rule per action): hypothesis'
        swarm testing would otherwise switch whole actions off for an example, and the
        default run has only a few examples.
        """
        if step.action == "write":
            self.write(step)
        elif step.action == "wait":
            self.let_time_pass(step.wait)
        elif self.world.daemon is None:
            self.world.start_daemon()
        else:
            self.kill_daemon(step.kill_when, step.sleep)

    def write(self, step: Step) -> None:
        """A CLI write, run to completion or ``kill -9``-ed after a short sleep.

        Run to completion: the exit code is as expected, and a failure wrote nothing. Killed:
        all of it happened or none, and repeating it with its idempotency key finishes it
        exactly once.
        """
        kind, args, expected = self._command(step)
        kill_after = step.kill_after
        key = f"{self.prefix}k{next(self.counter)}"
        world = self.world
        world.stats[f"{kind} {'valid' if expected == 0 else 'invalid'}"] += 1
        head = world.head()
        process = world.cli(kind, [*args, "--idempotency-key", key], kill_after)
        after, recorded = world.head(), world.key_range(key)
        killed = "" if kill_after is None else f" killed after {kill_after}s"
        world.log(
            f"{kind}{killed} -> {process.returncode} (events {head}->{after}, key {recorded}): "
            f"{shlex.join(args)}"
        )
        if process.returncode != -9:  # not killed, or it had finished before the signal
            world.stats["writer kills too late"] += kill_after is not None
            self._check_outcome(process, expected, head, key)
            return
        world.stats["writer kills"] += 1
        if recorded is None:
            assert after == head, f"a killed writer left events {head + 1}..{after} without a key"
            world.stats["killed writers: nothing written"] += 1
        else:
            assert expected == 0, f"a rejected command was recorded: {recorded}"
            assert recorded == (head + 1, after), (head, after, recorded)
            stream = f"meeting-{args[-1] if kind == 'plan' else args[2]}"
            assert world.streams(*recorded) == {stream}
            world.stats["killed writers: fully written"] += 1
        retry = world.cli(f"{kind}-retry", [*args, "--idempotency-key", key], None)
        world.log(f"{kind} retried -> {retry.returncode} (events {after}->{world.head()})")
        if recorded is None:
            self._check_outcome(retry, expected, head, key)
        else:
            assert retry.returncode == 0, retry.describe()
            assert world.head() == after, "the retry of a command that happened appended again"
            assert retry.stdout().strip(), retry.describe()  # the first result, printed again

    def _check_outcome(self, process: Process, expected: int, head: int, key: str) -> None:
        world = self.world
        after, recorded = world.head(), world.key_range(key)
        stderr = process.stderr()
        assert "Traceback" not in stderr, process.describe()
        assert process.returncode == expected, f"expected exit {expected}:\n{process.describe()}"
        if expected != 0:
            assert after == head, f"a rejected command appended events:\n{process.describe()}"
            assert recorded is None
            lines = [line for line in stderr.splitlines() if line.strip()]
            assert len(lines) == 1, process.describe()
            return
        if recorded is None:  # e.g. a reschedule to the start it already has
            assert after == head, process.describe()
        else:
            assert recorded == (head + 1, after), (head, after, recorded)

    def kill_daemon(self, moment: str, sleep: float) -> None:
        """``kill -9`` the daemon after a sleep, or as soon as a webhook request arrives."""
        world = self.world
        if moment == "request":
            count = len(world.receiver.deliveries())
            deadline = time.monotonic() + 3.0
            while len(world.receiver.deliveries()) == count and time.monotonic() < deadline:
                time.sleep(0.005)
            caught = len(world.receiver.deliveries()) > count
            world.stats["daemon kills mid-request"] += caught
            world.kill_daemon("as a request arrived" if caught else "no request within 3 s")
        else:
            time.sleep(sleep)
            world.kill_daemon(f"after {sleep}s")

    def let_time_pass(self, pause: float) -> None:
        """Nothing happens for a while (reminders fall due, meetings start)."""
        time.sleep(pause)
        self.world.log(f"waited {pause}s")

    def teardown(self) -> None:
        world = self.world
        try:
            world.catch_up_and_check_none_lost()
        finally:
            world.stop_daemon()
            world.example_seconds.append(round(time.monotonic() - self.started, 1))
            world.receiver.set_delay(0)


# --------------------------------------------------------------------------- the test


def prepare(engine: Engine) -> None:
    """One party and the track every meeting belongs to (no default reminders)."""
    service = wire(engine)
    service.execute(RegisterParty(party_id="AZ-MFA", name="MFA of Azerbaijan", tz="UTC"), ANALYST)
    service.execute(
        AddTrack(track_id=TRACK, title="Chaos consultations", kind="consultation", cadence="year", start=datetime.now(UTC).date(),
                 tz="UTC", parties=("AZ-MFA",), default_duration="PT30M"),
        ANALYST,
    )  # fmt: skip


def report(world: Chaos, took: float) -> None:
    with world.engine.connect() as connection:
        statuses = Counter(
            f"{kind}/{channel}/{status}"
            for kind, channel, status in connection.execute(
                sa.select(deliveries.c.kind, deliveries.c.channel, deliveries.c.status)
            )
        )
    counts = world.receiver.counts()
    lines = [
        f"[chaos/{world.backend}] {took:.1f}s, examples {world.example_seconds}s"
        + ("" if SCENARIO_SEED is None else f", CONSULTATIONS_CHAOS_SEED={SCENARIO_SEED}"),
        "  " + ", ".join(f"{k}={v}" for k, v in sorted(world.stats.items())),
        "  deliveries: " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())),
        f"  receiver: {sum(counts.values())} requests, {len(counts)} distinct webhook-ids, "
        f"{sum(n - 1 for n in counts.values())} repeats",
        f"  events: {world.head()}",
    ]
    print("\n".join(lines))


def test_random_commands_and_kill_9_of_writer_and_daemon_keep_every_invariant(
    migrated_engine: Engine, database_url: str, backend: str, tmp_path: Path
) -> None:
    prepare(migrated_engine)
    processes = Processes(tmp_path / "logs", tmp_path / "work")
    started = time.monotonic()
    with WebhookReceiver(secret=SECRET) as receiver:
        world = Chaos(backend, database_url, migrated_engine, receiver, processes)

        @CHAOS
        @given(SCENARIOS)
        def examples(scenario: Scenario) -> None:
            ChaosExample(world).run(scenario)

        if SCENARIO_SEED is not None:
            examples = seed(SCENARIO_SEED)(examples)

        try:
            examples()
        except BaseException:
            print("\n".join(world.steps[-80:]))
            raise
        finally:
            processes.close()
            (tmp_path / "steps.log").write_text("\n".join(world.steps), encoding="utf-8")
            report(world, time.monotonic() - started)


# --------------------------------------------------------------------------- the bug, minimal


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """A channel that records what it sends."""

    name = "webhook"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, notification: Any) -> None:
        self.sent.append(notification.idempotency_key)


def test_a_reminder_back_after_a_superseded_delivery_is_delivered(
    migrated_engine: Engine,
) -> None:
    """Due, materialized, not yet sent (daemon killed mid-batch, or a retry waiting);
    the meeting moves away (the delivery is superseded) and back to its first start."""
    start = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    clock = Clock(datetime(2027, 3, 1, tzinfo=UTC))
    service = wire(migrated_engine, clock=clock)
    service.clock = clock
    service.execute(RegisterParty(party_id="AZ-MFA", name="MFA of Azerbaijan", tz="UTC"), ANALYST)
    service.execute(
        AddTrack(track_id="pc", title="Political consultations", kind="consultation", cadence="quarter", start=date(2027, 1, 1),
                 tz="UTC", parties=("AZ-MFA",), reminders=("P1D",)),
        ANALYST,
    )  # fmt: skip
    service.execute(
        PlanMeeting(
            meeting_id="pc-1", title="Consultations", start=datetime(2027, 3, 10, 9), track_id="pc"
        ),
        ANALYST,
    )
    channel = Recorder()
    outbox = SqlOutbox(migrated_engine, "daemon-1")
    dispatcher = Dispatcher(outbox, ReadModels(migrated_engine), [channel], clock)  # type: ignore[list-item]

    clock.now = start - timedelta(days=1) + timedelta(minutes=1)  # the day-before reminder is due
    outbox.materialize_reminders(clock.now, ["webhook"])  # ... and the daemon dies here
    service.execute(RescheduleMeeting(meeting_id="pc-1", start=datetime(2027, 3, 11, 9)), ANALYST)
    dispatcher.sweep()  # the successor: the old delivery is superseded
    service.execute(
        RescheduleMeeting(meeting_id="pc-1", start=datetime(2027, 3, 10, 9)), ANALYST
    )  # back again
    clock.now += timedelta(minutes=1)
    dispatcher.sweep()

    with migrated_engine.connect() as connection:
        (reminder,) = connection.execute(sa.select(reminders)).mappings()
    assert reminder["due_at"] <= clock.now < reminder["start_utc"]  # due, not started
    assert delivery_id(reminder["reminder_id"], "webhook") in channel.sent, outbox.list()
