"""A party's own minutes of a meeting another party convenes (issue 16, point 6)."""

from datetime import UTC, datetime, timedelta

import pytest

from consultations.domain import meetings, minutes
from consultations.domain.aggregates import MINUTES, for_command, of_stream
from consultations.domain.commands import RecordMeetingHeld, RecordMinutes
from consultations.domain.errors import DomainError, InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import MeetingCancelled, MeetingRescheduled, MinutesRecorded
from consultations.domain.wall_time import WallTime

from .gwt import AFTER_MEETING, given, meeting_held, meeting_planned

PLANNED = meetings.fold([meeting_planned()])  # m1, 2026-09-15 10:00 Asia/Baku (06:00 UTC)
STARTS = datetime(2026, 9, 15, 6, 0, tzinfo=UTC)
OUTCOMES = ("Road map agreed", "A second round in spring")
RECORDED = MinutesRecorded("m1", "TM-MFA", ("TM-MFA", "AZ-MFA"), OUTCOMES)


def record(**overrides: object) -> RecordMinutes:
    values: dict[str, object] = {
        "meeting_id": "m1",
        "party": "TM-MFA",
        "attendance": ("TM-MFA", "AZ-MFA"),
        "outcomes": ("Road map agreed", "  A second round in spring  "),
    }
    return RecordMinutes(**(values | overrides))  # type: ignore[arg-type]


def test_minutes_record_attendance_and_outcomes_in_their_own_stream() -> None:
    command = record()
    state = given().when(command, now=AFTER_MEETING, meeting=PLANNED).then(RECORDED)
    assert state == minutes.Minutes("m1", "TM-MFA", ("TM-MFA", "AZ-MFA"), OUTCOMES, 1)
    assert for_command(command) is MINUTES
    assert MINUTES.stream_id(MINUTES.target(command)) == "minutes-m1@TM-MFA"
    assert of_stream("minutes-m1@TM-MFA") is MINUTES
    assert MinutesRecorded("m1", "TM-MFA", (), ("x",)).minutes_id == MINUTES.target(command)


def test_attendance_alone_or_one_outcome_alone_is_enough() -> None:
    given().when(record(outcomes=()), now=AFTER_MEETING, meeting=PLANNED).then(
        MinutesRecorded("m1", "TM-MFA", ("TM-MFA", "AZ-MFA"), ())
    )
    given().when(record(attendance=()), now=AFTER_MEETING, meeting=PLANNED).then(
        MinutesRecorded("m1", "TM-MFA", (), OUTCOMES)
    )


def test_minutes_without_attendance_or_outcome_are_refused() -> None:
    given().when(
        record(attendance=(), outcomes=()), now=AFTER_MEETING, meeting=PLANNED
    ).then_raises(InvalidInput, "attendance", "--attendance")


@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        ({"attendance": ("TM-MFA", "TM-MFA")}, "attendance", "listed twice"),
        ({"attendance": ("bad id",)}, "attendance", "invalid id"),
        ({"outcomes": ("first line\nsecond line",)}, "outcome", "single line"),
        ({"outcomes": (" ",)}, "outcome", "must not be empty"),
        ({"outcomes": ("x" * 2001,)}, "outcome", "at most 2000"),
        ({"party": "bad party"}, "party", "invalid id"),
    ],
)
def test_attendance_and_outcomes_are_validated_as_a_meeting_held_s(
    overrides: dict[str, object], field: str, problem: str
) -> None:
    given().when(record(**overrides), now=AFTER_MEETING, meeting=PLANNED).then_raises(
        InvalidInput, field, problem
    )
    # The same input is refused the same way when the convener records the meeting held.
    if field != "party":
        held = RecordMeetingHeld(
            meeting_id="m1",
            attendance=record(**overrides).attendance,
            outcomes=record(**overrides).outcomes,
        )
        with pytest.raises(InvalidInput, match=problem):
            meetings.decide(PLANNED, held, AFTER_MEETING)


def test_a_long_outcome_up_to_the_note_length_is_accepted() -> None:
    long = "x" * meetings.MAX_NOTE_LENGTH
    given().when(record(outcomes=(long,)), now=AFTER_MEETING, meeting=PLANNED).then(
        MinutesRecorded("m1", "TM-MFA", ("TM-MFA", "AZ-MFA"), (long,))
    )


def test_minutes_are_recorded_once() -> None:
    first = MinutesRecorded("m1", "TM-MFA", ("TM-MFA",), ())
    given(first).when(record(), now=AFTER_MEETING, meeting=PLANNED).then_raises(
        NotAllowed, "meeting", "TM-MFA's minutes of 'm1' were recorded already"
    )
    with pytest.raises(ValueError, match="recorded twice"):
        minutes.fold([first, first])


def test_minutes_of_a_cancelled_meeting_are_refused() -> None:
    cancelled = meetings.fold([meeting_planned(), MeetingCancelled("m1", "postponed")])
    given().when(record(), now=AFTER_MEETING, meeting=cancelled).then_raises(
        NotAllowed, "id", "meeting 'm1' is cancelled; it cannot be minuted"
    )


def test_minutes_of_an_unknown_meeting_are_refused() -> None:
    given().when(record(), now=AFTER_MEETING, meeting=None).then_raises(
        UnknownId, "id", "no meeting 'm1'"
    )


def _refusal(action: object) -> DomainError:
    with pytest.raises(DomainError) as info:
        action()  # type: ignore[operator]
    return info.value


def test_minutes_more_than_a_day_ahead_are_refused_as_a_meeting_held_is() -> None:
    early = STARTS - meetings.HELD_AHEAD_TOLERANCE - timedelta(minutes=1)
    refused = (
        given()
        .when(record(), now=early, meeting=PLANNED)
        .then_raises(InvalidInput, "on", "more than a day in the future")
    )
    held = _refusal(lambda: meetings.decide(PLANNED, RecordMeetingHeld(meeting_id="m1"), early))
    assert str(refused) == str(held)  # one rule, one message
    given().when(record(), now=STARTS - meetings.HELD_AHEAD_TOLERANCE, meeting=PLANNED).then(
        RECORDED
    )


def test_the_time_it_took_place_is_the_conveners_record_once_held_else_as_planned() -> None:
    later = WallTime(datetime(2026, 10, 15, 10), None, datetime(2026, 10, 15, 6, tzinfo=UTC))
    until = WallTime(datetime(2026, 10, 15, 13), None, datetime(2026, 10, 15, 9, tzinfo=UTC))
    rescheduled = MeetingRescheduled("m1", later, until, "Asia/Baku", None)
    moved = meetings.fold([meeting_planned(), rescheduled])
    # Rescheduled to October: in September it has not taken place yet.
    given().when(record(), now=AFTER_MEETING, meeting=moved).then_raises(InvalidInput, "on")
    # The convener recorded it held on 15 September all the same: that is when it took place.
    held = meetings.fold([meeting_planned(), rescheduled, meeting_held()])
    given().when(record(), now=AFTER_MEETING, meeting=held).then(RECORDED)
