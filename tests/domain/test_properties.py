"""Random command sequences keep the aggregates' invariants."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import event as note_event
from hypothesis import given, settings
from hypothesis import strategies as st

from consultations.domain import meetings, tracks
from consultations.domain.commands import (
    AddTrack,
    AmendMeeting,
    AmendTrack,
    CancelMeeting,
    CompleteActionItem,
    DropActionItem,
    MeetingCommand,
    NewActionItem,
    PlanMeeting,
    RecordMeetingHeld,
    RescheduleMeeting,
    RetireTrack,
    TrackCommand,
)
from consultations.domain.errors import DomainError, NotAllowed, NotFound
from consultations.domain.events import TrackAmended
from consultations.domain.vocabulary import ActionStatus, MeetingStatus

ZONES = st.sampled_from(["Asia/Baku", "Asia/Ashgabat", "Europe/Berlin"])
ORDINARY_TIMES = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)
# Mostly ordinary times, sometimes right inside Berlin's 2026 DST gap or fold.
LOCAL_TIMES = st.one_of(
    ORDINARY_TIMES,
    ORDINARY_TIMES,
    ORDINARY_TIMES,
    st.sampled_from([datetime(2026, 3, 29, 2, 30), datetime(2026, 10, 25, 2, 30)]),
)
NOWS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 6, 30), timezones=st.just(UTC)
)
MAYBE = st.none

valid_plan = st.builds(
    PlanMeeting,
    meeting_id=st.just("m1"),
    title=st.just("Political consultations"),
    start=ORDINARY_TIMES,
    tz=st.sampled_from(["Asia/Baku", "Asia/Ashgabat"]),
    duration=st.sampled_from([None, "PT1H", "P2D"]),
)
plan_meeting = st.builds(
    PlanMeeting,
    meeting_id=st.just("m1"),
    title=st.sampled_from(["Political consultations", "Workshop", " ", "x" * 201]),
    start=LOCAL_TIMES,
    tz=ZONES,
    fold=st.sampled_from([None, 0, 1]),
    duration=st.sampled_from([None, "PT1H", "PT3H", "P15D"]),
    classification=st.sampled_from(["internal", "restricted", "public", "secret"]),
)
reschedule = st.builds(
    RescheduleMeeting,
    meeting_id=st.just("m1"),
    start=LOCAL_TIMES,
    duration=MAYBE() | st.sampled_from(["PT2H", "P14D"]),
    tz=MAYBE() | ZONES,
    fold=st.sampled_from([None, 0, 1]),
    reason=MAYBE() | st.just("Visa delays"),
)
amend = st.builds(
    AmendMeeting,
    meeting_id=st.just("m1"),
    title=MAYBE() | st.sampled_from(["Political consultations", "Renamed", ""]),
    venue=MAYBE() | st.sampled_from(["Baku", "Ashgabat", ""]),
    classification=MAYBE() | st.sampled_from(["public", "internal"]),
)
cancel = st.builds(
    CancelMeeting, meeting_id=st.just("m1"), reason=st.sampled_from(["", "No quorum", "Postponed"])
)
action_items = st.lists(
    st.builds(
        NewActionItem,
        text=st.just("Draft memorandum"),
        owner=st.sampled_from(["TM-MFA", "AZ-MFA"]),
        due=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 1, 1)),
    ),
    max_size=3,
).map(tuple)
hold = st.builds(
    RecordMeetingHeld,
    meeting_id=st.just("m1"),
    on=st.one_of(MAYBE(), MAYBE(), LOCAL_TIMES),
    attendance=st.sampled_from([(), ("TM-MFA", "AZ-MFA")]),
    action_items=action_items,
)
item_ids = st.sampled_from(["m1/1", "m1/2", "m1/4"])
complete = st.builds(CompleteActionItem, meeting_id=st.just("m1"), item_id=item_ids)
drop = st.builds(DropActionItem, meeting_id=st.just("m1"), item_id=item_ids)
meeting_commands = st.one_of(
    plan_meeting, reschedule, reschedule, amend, amend, cancel, hold, hold, complete, drop
)


def attempt(decide: Any, *args: Any) -> tuple[Any, ...] | DomainError:
    """Run a decider, returning its rejection as a value instead of raising it."""
    try:
        return tuple(decide(*args))
    except DomainError as error:
        return error


LEGAL_MOVES = {
    None: {MeetingStatus.PLANNED},
    MeetingStatus.PLANNED: set(MeetingStatus),
    MeetingStatus.RESCHEDULED: set(MeetingStatus) - {MeetingStatus.PLANNED},
    MeetingStatus.HELD: {MeetingStatus.HELD},
    MeetingStatus.CANCELLED: {MeetingStatus.CANCELLED},
}
LIFECYCLE_COMMANDS = (RescheduleMeeting, AmendMeeting, CancelMeeting, RecordMeetingHeld)


@settings(max_examples=300, deadline=None)
@given(
    first=valid_plan,
    steps=st.lists(st.tuples(meeting_commands, NOWS), max_size=15),
)
def test_meeting_invariants(
    first: MeetingCommand, steps: list[tuple[MeetingCommand, datetime]]
) -> None:
    steps = [(first, datetime(2026, 1, 1, tzinfo=UTC)), *steps]
    events: list[Any] = []
    state: meetings.Meeting | None = None
    for command, now in steps:
        produced = attempt(meetings.decide, state, command, now)
        if isinstance(produced, DomainError):
            if state is None and not isinstance(command, PlanMeeting):
                assert isinstance(produced, NotFound)
            if state is not None and state.is_closed and isinstance(command, LIFECYCLE_COMMANDS):
                assert isinstance(produced, NotAllowed)
            continue
        assert meetings.decide(state, command, now) == produced  # pure
        before = state
        for event in produced:
            state = meetings.evolve(state, event)
        events.extend(produced)

        assert state is not None
        assert meetings.fold(events) == state
        assert state.version == len(events)
        assert state.status in LEGAL_MOVES[None if before is None else before.status]
        assert timedelta(0) < state.end.utc - state.start.utc <= timedelta(days=14)
        if before is not None and before.is_closed:
            assert state.status is before.status
        if before is not None and before.action_items:
            for old, new in zip(before.action_items, state.action_items, strict=True):
                assert old.status is ActionStatus.OPEN or new == old
        just_held = state.status is MeetingStatus.HELD and (
            before is None or before.status is not MeetingStatus.HELD
        )
        if just_held:
            assert state.held is not None
            assert state.held.start.utc <= now + timedelta(days=1)
    note_event(f"final status: {None if state is None else state.status.value}")
    note_event(f"meeting events: {min(len(events), 4)}{'+' if len(events) >= 4 else ''}")


valid_track_add = st.builds(
    AddTrack,
    track_id=st.just("pol-consult"),
    title=st.just("Political consultations"),
    kind=st.just("consultation"),
    cadence=st.sampled_from(["half-year", "max-gap:P6M"]),
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1)),
    tz=ZONES,
    parties=st.just(("TM-MFA", "AZ-MFA")),
    host_rotation=st.sampled_from([(), ("TM-MFA",), ("AZ-MFA", "TM-MFA")]),
)
track_add = st.builds(
    AddTrack,
    track_id=st.just("pol-consult"),
    title=st.sampled_from(["Political consultations", ""]),
    kind=st.sampled_from(["consultation", "review", "summit"]),
    cadence=st.sampled_from(["half-year", "max-gap:P6M", "fortnight"]),
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1)),
    tz=ZONES,
    parties=st.sampled_from([(), ("TM-MFA",), ("TM-MFA", "AZ-MFA")]),
    host_rotation=st.sampled_from([(), ("TM-MFA",), ("AZ-MFA", "TM-MFA")]),
    default_duration=st.sampled_from(["PT2H", "P15D"]),
)
track_amend = st.builds(
    AmendTrack,
    track_id=st.just("pol-consult"),
    title=MAYBE() | st.sampled_from(["Political consultations", "Renamed"]),
    priority=MAYBE() | st.sampled_from(["high", "medium", "urgent"]),
    cadence=MAYBE() | st.sampled_from(["quarter", "half-year"]),
    required=MAYBE() | st.integers(min_value=0, max_value=3),
    start=MAYBE() | st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1)),
    parties=MAYBE() | st.sampled_from([(), ("TM-MFA",), ("TM-MFA", "AZ-MFA")]),
    host_rotation=MAYBE() | st.sampled_from([(), ("TM-MFA",), ("AZ-MFA", "TM-MFA")]),
    reminders=MAYBE() | st.sampled_from([(), ("P14D", "P1D"), ("P400D",)]),
)
track_retire = st.builds(
    RetireTrack,
    track_id=st.just("pol-consult"),
    on=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 1, 1)),
)


@settings(max_examples=300, deadline=None)
@given(
    first=valid_track_add,
    rest=st.lists(st.one_of(track_add, track_amend, track_amend, track_retire), max_size=12),
)
def test_track_invariants(first: TrackCommand, rest: list[TrackCommand]) -> None:
    commands = [first, *rest]
    events: list[Any] = []
    state: tracks.Track | None = None
    now = datetime(2026, 6, 1, tzinfo=UTC)
    for command in commands:
        produced = attempt(tracks.decide, state, command, now)
        if isinstance(produced, DomainError):
            if state is not None and state.retired_on is not None:
                # Amending or retiring a retired track, or adding it again: never allowed.
                assert isinstance(produced, NotAllowed)
            continue
        before = state
        for event in produced:
            assert event != TrackAmended(track_id="pol-consult")  # never an empty amendment
            state = tracks.evolve(state, event)
        events.extend(produced)

        assert state is not None
        assert tracks.fold(events) == state
        assert state.version == len(events)
        assert set(state.host_rotation) <= set(state.parties)
        assert state.required >= 1
        assert state.default_duration.to_timedelta() <= timedelta(days=14)
        if state.retired_on is not None:
            assert state.retired_on >= state.start
        if before is not None and before.retired_on is not None:
            assert state == before  # a retired track never changes again
    note_event(f"track events: {min(len(events), 3)}{'+' if len(events) >= 3 else ''}")
