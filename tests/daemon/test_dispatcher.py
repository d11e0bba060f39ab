"""The daemon's sweep on both backends: due reminders once, reschedules, cancellations,
retries, dead letters, cadence alerts and feed files. The clock is a test double."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from consultations.adapters.channels import DeliveryFailed, Notification
from consultations.adapters.outbox import SqlOutbox
from consultations.adapters.read_models import ReadModels
from consultations.domain.commands import (
    AddTrack,
    CancelMeeting,
    PlanMeeting,
    RecordMeetingHeld,
    RegisterParty,
    RescheduleMeeting,
    RevokeFeed,
)
from consultations.service_layer.deliveries import list_deliveries
from consultations.service_layer.dispatcher import ALERT_LOOKBACK, Dispatcher
from consultations.service_layer.feed_files import FeedFiles
from consultations.service_layer.feeds import FeedPublisher, new_feed
from consultations.service_layer.services import CommandService
from tests.projections.support import ANALYST, wire
from tests.support.libical import LibicalCheck

START = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)  # the meeting: 10:00 in Baku
DAY = timedelta(days=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Recorder:
    """A channel that records what it sends, and can be told to fail."""

    name: str = "webhook"
    sent: list[Notification] = field(default_factory=list)
    failures: list[DeliveryFailed] = field(default_factory=list)

    def send(self, notification: Notification) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(notification)


@dataclass
class World:
    clock: Clock
    service: CommandService
    channel: Recorder
    dispatcher: Dispatcher
    engine: Engine

    def at(self, moment: datetime, kind: str = "reminder.due") -> list[str]:
        """Sweep at ``moment``; the keys of the notifications of ``kind`` it sent."""
        self.clock.now = moment
        before = len(self.channel.sent)
        self.dispatcher.sweep()
        return [n.idempotency_key for n in self.channel.sent[before:] if n.type == kind]

    def reminder_rows(self, status: str | None = None) -> list[dict[str, object]]:
        return [row for row in self.outbox(status) if row["kind"] == "reminder"]

    def outbox(self, status: str | None = None) -> list[dict[str, object]]:
        return SqlOutbox(self.engine, "reader").list(status)


@pytest.fixture
def world(migrated_engine: Engine) -> World:
    clock = Clock(datetime(2027, 3, 1, tzinfo=UTC))
    service = wire(migrated_engine, clock=clock)
    service.clock = clock
    service.execute(
        RegisterParty(
            party_id="AZ-MFA",
            name="MFA of Azerbaijan",
            tz="Asia/Baku",
            email="protocol@mfa.example",
        ),
        ANALYST,
    )
    service.execute(
        AddTrack(track_id="pc", title="Political consultations", kind="consultation", cadence="quarter", start=date(2027, 1, 1),
                 tz="Asia/Baku", parties=("AZ-MFA",), reminders=("P1D", "PT1H")),
        ANALYST,
    )  # fmt: skip
    service.execute(
        PlanMeeting(
            meeting_id="pc-1",
            title="Consultations",
            start=datetime(2027, 3, 10, 13),
            track_id="pc",
            host="AZ-MFA",
        ),
        ANALYST,
    )
    channel = Recorder()
    dispatcher = Dispatcher(
        SqlOutbox(migrated_engine, "daemon-1"), ReadModels(migrated_engine), [channel], clock
    )
    return World(clock, service, channel, dispatcher, migrated_engine)


def test_each_reminder_is_sent_once_when_due(world: World) -> None:
    assert world.at(START - 2 * DAY) == []
    day_before = world.at(START - DAY)
    assert len(day_before) == 1
    assert world.at(START - DAY + timedelta(minutes=5)) == []  # not twice
    hour_before = world.at(START - timedelta(minutes=30))  # a late sweep still sends it
    assert len(hour_before) == 1
    assert hour_before != day_before
    notification = world.channel.sent[0]
    assert notification.type == "reminder.due"
    assert notification.subject_data["meeting"]["meeting_id"] == "pc-1"
    assert "Consultations on 2027-03-10 13:00 (Asia/Baku)" in notification.subject
    assert notification.calendar is not None
    assert b"UID:pc-1@consultations" in notification.calendar
    assert {row["status"] for row in world.outbox()} == {"sent"}


def test_the_reminder_calendar_is_stamped_when_built_and_names_the_organizer(
    world: World, libical: LibicalCheck
) -> None:
    sweep = START - DAY + timedelta(minutes=3, seconds=7)
    assert len(world.at(sweep)) == 1
    (notification,) = world.channel.sent
    calendar = notification.calendar
    assert calendar is not None
    lines = calendar.decode().replace("\r\n ", "").split("\r\n")
    # RFC 5545 §3.8.7.2: with a METHOD, DTSTAMP is when the object was created: the sweep.
    assert "DTSTAMP:20270309T090307Z" in lines
    (modified,) = [line for line in lines if line.startswith("LAST-MODIFIED:")]
    assert modified == "LAST-MODIFIED:20270301T000000Z"  # the log's, as in the feeds
    assert "METHOD:PUBLISH" in lines
    assert "ORGANIZER;CN=MFA of Azerbaijan:mailto:protocol@mfa.example" in lines
    assert libical(calendar) == []


def test_a_retried_reminder_gets_a_new_stamp(world: World) -> None:
    world.channel.failures.append(DeliveryFailed("receiver busy"))
    first = START - DAY
    assert world.at(first) == []  # failed, retried later
    assert world.at(first + timedelta(hours=2)) != []
    (notification,) = world.channel.sent
    assert notification.calendar is not None
    assert b"\r\nDTSTAMP:20270309T110000Z\r\n" in notification.calendar


def test_a_reschedule_supersedes_pending_reminders(world: World) -> None:
    world.clock.now = START - 3 * DAY
    world.service.execute(
        RescheduleMeeting(meeting_id="pc-1", start=datetime(2027, 3, 17, 13)), ANALYST
    )
    assert world.at(START - DAY) == []  # the old day-before reminder is gone
    sent = world.at(START + 6 * DAY)
    assert len(sent) == 1
    assert world.channel.sent[0].subject_data["meeting"]["start_local"] == "2027-03-17T13:00:00"


def test_a_reminder_claimed_then_superseded_is_not_sent(world: World) -> None:
    world.clock.now = START - DAY
    world.dispatcher.outbox.materialize_reminders(world.clock.now, ["webhook"])
    world.service.execute(CancelMeeting(meeting_id="pc-1", reason="postponed"), ANALYST)
    assert world.at(START - DAY) == []
    assert [row["status"] for row in world.reminder_rows()] == ["superseded"]


def test_a_cancelled_meeting_sends_nothing(world: World) -> None:
    world.clock.now = START - 3 * DAY
    world.service.execute(CancelMeeting(meeting_id="pc-1", reason="postponed"), ANALYST)
    assert world.at(START) == []
    assert world.reminder_rows() == []


def test_down_across_a_due_time_sends_once_if_not_started_else_skips(world: World) -> None:
    # Down from before the day-before reminder until after the start: both reminders missed.
    assert world.at(START + timedelta(minutes=1)) == []
    assert sorted(row["status"] for row in world.outbox()) == ["skipped", "skipped"]


def test_transient_failures_retry_with_backoff_and_honour_retry_after(world: World) -> None:
    world.channel.failures = [DeliveryFailed("503", retry_after=600)]
    assert world.at(START - DAY) == []
    (row,) = world.outbox("failed")
    assert row["next_attempt_at"] >= START - DAY + timedelta(seconds=600)
    assert world.at(START - DAY + timedelta(seconds=599)) == []
    assert len(world.at(row["next_attempt_at"])) == 1
    assert world.outbox("sent")[0]["attempts"] == 2


def test_permanent_failures_go_dead_and_retry_re_drives(world: World) -> None:
    world.channel.failures = [DeliveryFailed("410 gone", permanent=True)]
    world.at(START - DAY)
    (dead,) = world.outbox("dead")
    assert "410 gone" in str(dead["last_error"])
    assert world.at(START - DAY + timedelta(hours=1)) == []
    assert SqlOutbox(world.engine, "cli").retry(str(dead["delivery_id"]), world.clock.now) == "dead"
    assert world.at(START - DAY + timedelta(hours=1)) == [dead["delivery_id"]]


def test_too_many_failures_end_dead(world: World) -> None:
    world.dispatcher.max_attempts = 3
    world.channel.failures = [DeliveryFailed("timeout")] * 3
    moment = START - DAY
    for _ in range(3):
        world.at(moment)
        rows = world.outbox()
        moment = max(moment, *(r["next_attempt_at"] for r in rows)) + timedelta(seconds=1)  # type: ignore[type-var]
    assert [row["status"] for row in world.outbox()] == ["dead"]


def test_cadence_alerts_once_per_window(world: World) -> None:
    world.clock.now = START - 3 * DAY
    world.service.execute(CancelMeeting(meeting_id="pc-1", reason="postponed"), ANALYST)
    # 2027-Q1 has no session: at risk from 60 days before its end, missed after it.
    at_risk = world.at(datetime(2027, 3, 20, tzinfo=UTC), "cadence.at_risk")
    assert [n.type for n in world.channel.sent] == ["cadence.at_risk"]
    assert world.at(datetime(2027, 3, 25, tzinfo=UTC), "cadence.at_risk") == []
    missed = world.at(datetime(2027, 4, 2, tzinfo=UTC), "cadence.missed")
    assert [n.type for n in world.channel.sent] == ["cadence.at_risk", "cadence.missed"]
    assert world.at(datetime(2027, 4, 20, tzinfo=UTC), "cadence.missed") == []
    assert len(at_risk) == len(missed) == 1
    window = world.channel.sent[1].subject_data["window"]
    assert (window["track"], window["window"], window["held"]) == ("pc", "2027-Q1", 0)


def test_feed_files_are_rewritten_only_when_changed(world: World, tmp_path: Path) -> None:
    _, command = new_feed("all", "All", include_restricted=False)
    world.service.execute(command, ANALYST)
    publisher = FeedPublisher(ReadModels(world.engine), world.clock)
    files = FeedFiles(publisher, ReadModels(world.engine), tmp_path)
    path = tmp_path / f"{command.feed_id}.ics"
    assert files.refresh() == [command.feed_id]
    first = path.read_bytes()
    assert files.refresh() == []
    world.service.execute(
        RescheduleMeeting(meeting_id="pc-1", start=datetime(2027, 3, 11, 13)), ANALYST
    )
    assert files.refresh() == [command.feed_id]
    assert path.read_bytes() != first
    world.service.execute(RevokeFeed(feed_id=command.feed_id), ANALYST)
    files.refresh()
    assert not path.exists()


# --------------------------------------------------------------------------- late, and nudges

NUDGE = "meeting.awaiting_record"


def test_a_delivery_sent_late_says_how_late(world: World) -> None:
    assert len(world.at(START - DAY + timedelta(hours=3, seconds=20))) == 1  # the day before
    assert len(world.at(START - timedelta(minutes=59, seconds=30))) == 1  # the hour before
    late, on_time = world.channel.sent
    assert late.subject.endswith("(sent 3 h late)")
    assert "Due 2027-03-09 09:00 UTC, sent 3 h late." in late.body.splitlines()
    assert "late" not in on_time.subject + on_time.body  # 30 s after its time is on time
    listed = list_deliveries(
        world.dispatcher.outbox, ReadModels(world.engine), {"webhook": False}, world.clock.now
    )
    assert [(row["offset"], row["status"], row["late"]) for row in listed] == [
        ("P1D", "sent", "3 h"), ("PT1H", "sent", None),
    ]  # fmt: skip
    # The subject column is the subject line the channel got (without the lateness note).
    assert listed[0]["subject"] == "Reminder: Consultations on 2027-03-10 13:00 (Asia/Baku)"


def end_of(world: World, meeting_id: str) -> datetime:
    row = ReadModels(world.engine).meeting(meeting_id)
    assert row is not None
    end: datetime = row["end_utc"]
    return end


def test_a_meeting_nobody_recorded_is_nudged_once_a_day_after_its_end(world: World) -> None:
    end = end_of(world, "pc-1")
    assert world.at(end + DAY - timedelta(minutes=1), NUDGE) == []
    assert world.dispatcher.next_due() == end + DAY  # the daemon wakes up for it
    (first,) = world.at(end + DAY, NUDGE)
    assert world.at(end + DAY + timedelta(minutes=5), NUDGE) == []  # never twice
    assert world.at(end + 20 * DAY, NUDGE) == []
    nudge = world.channel.sent[-1]
    assert (nudge.idempotency_key, nudge.type) == (first, NUDGE)
    assert nudge.subject == (
        "Awaiting record: Consultations on 2027-03-10 13:00 (Asia/Baku), held or cancelled?"
    )
    assert "consultations meeting held pc-1" in nudge.body
    assert nudge.subject_data["meeting"]["meeting_id"] == "pc-1"
    assert nudge.calendar is None
    (row,) = [r for r in world.outbox() if r["kind"] == "nudge"]
    assert (row["status"], row["due_at"]) == ("sent", end + DAY)


def test_one_nudge_per_meeting_even_when_it_is_moved_and_ends_unrecorded_again(
    world: World,
) -> None:
    end = end_of(world, "pc-1")
    assert len(world.at(end + DAY, NUDGE)) == 1
    world.service.execute(
        RescheduleMeeting(meeting_id="pc-1", start=datetime(2027, 3, 20, 13)), ANALYST
    )
    assert world.at(end_of(world, "pc-1") + 2 * DAY, NUDGE) == []


@pytest.mark.parametrize("recorded", ["held", "cancelled"])
def test_a_meeting_recorded_in_time_is_not_nudged(world: World, recorded: str) -> None:
    end = end_of(world, "pc-1")
    world.clock.now = end + timedelta(hours=2)
    command = (
        RecordMeetingHeld(meeting_id="pc-1")
        if recorded == "held"
        else CancelMeeting(meeting_id="pc-1", reason="postponed")
    )
    world.service.execute(command, ANALYST)
    assert world.at(end + 2 * DAY, NUDGE) == []
    assert world.dispatcher.next_due() is None


def test_a_nudge_waiting_for_a_retry_is_dropped_once_the_meeting_is_recorded(
    world: World,
) -> None:
    end = end_of(world, "pc-1")
    world.channel.failures = [DeliveryFailed("503")]
    assert world.at(end + DAY, NUDGE) == []
    world.service.execute(RecordMeetingHeld(meeting_id="pc-1"), ANALYST)
    assert world.at(end + 3 * DAY, NUDGE) == []
    assert [r["status"] for r in world.outbox() if r["kind"] == "nudge"] == ["superseded"]


def test_a_nudge_held_back_by_a_move_goes_out_when_the_new_end_passes(world: World) -> None:
    end = end_of(world, "pc-1")
    world.channel.failures = [DeliveryFailed("503")]
    assert world.at(end + DAY, NUDGE) == []
    world.service.execute(
        RescheduleMeeting(meeting_id="pc-1", start=datetime(2027, 3, 20, 13)), ANALYST
    )
    assert world.at(end + 3 * DAY, NUDGE) == []  # the retry: no longer awaiting record
    assert len(world.at(end_of(world, "pc-1") + DAY, NUDGE)) == 1
    assert world.at(end_of(world, "pc-1") + 5 * DAY, NUDGE) == []


def test_the_nudge_delay_is_a_setting(world: World) -> None:
    world.dispatcher.nudge_after = timedelta(hours=6)
    end = end_of(world, "pc-1")
    assert world.at(end + timedelta(hours=5, minutes=59), NUDGE) == []
    assert len(world.at(end + timedelta(hours=6), NUDGE)) == 1


def test_a_first_start_does_not_nudge_about_meetings_long_past(world: World) -> None:
    end = end_of(world, "pc-1")
    assert world.at(end + DAY + ALERT_LOOKBACK + timedelta(minutes=1), NUDGE) == []
    assert [r for r in world.outbox() if r["kind"] == "nudge"] == []


def test_a_restricted_meeting_is_nudged_as_a_busy_block(world: World) -> None:
    world.service.execute(
        PlanMeeting(meeting_id="secret", title="Secret talks", start=datetime(2027, 3, 12, 10),
                    track_id="pc", venue="Hidden annex", classification="restricted"),
        ANALYST,
    )  # fmt: skip
    end = end_of(world, "secret")
    world.clock.now = end
    world.service.execute(CancelMeeting(meeting_id="pc-1", reason="postponed"), ANALYST)
    assert len(world.at(end + DAY, NUDGE)) == 1
    nudge = world.channel.sent[-1]
    assert nudge.subject.startswith("Awaiting record: Busy on 2027-03-12 10:00 (Asia/Baku)")
    shown = nudge.subject + nudge.body + json.dumps(nudge.subject_data)
    assert "Secret" not in shown
    assert "Hidden" not in shown
    assert "meeting held secret" in nudge.body  # the id is part of the busy block
