from datetime import UTC, date, datetime

import pytest

from consultations.domain import meetings
from consultations.domain.commands import (
    AmendMeeting,
    CancelMeeting,
    CompleteActionItem,
    DropActionItem,
    NewActionItem,
    PlanMeeting,
    RecordMeetingHeld,
    RescheduleMeeting,
)
from consultations.domain.errors import InvalidInput, NotAllowed, NotFound, UnknownId
from consultations.domain.events import (
    ActionItem,
    ActionItemCompleted,
    ActionItemDropped,
    MeetingAmended,
    MeetingCancelled,
    MeetingHeld,
    MeetingPlanned,
    MeetingRescheduled,
    TrackRetired,
)
from consultations.domain.vocabulary import ActionStatus, MeetingStatus
from consultations.domain.wall_time import WallTime

from .gwt import AFTER_MEETING, given, meeting_held, meeting_planned, track_state

TRACK = track_state()


def plan(**overrides: object) -> PlanMeeting:
    values: dict[str, object] = {
        "meeting_id": "m1",
        "track_id": "strategy-workshop",
        "title": "Strategy workshop, autumn 2026",
        "start": datetime(2026, 9, 15, 10, 0),
        "venue": "Baku",
        "host": "AZ-MFA",
        "agenda": ("Energy corridor",),
    }
    return PlanMeeting(**(values | overrides))  # type: ignore[arg-type]


# --- plan --------------------------------------------------------------------------------


def test_plan_in_track_takes_zone_kind_duration_and_participants_from_the_track() -> None:
    state = given().when(plan(), track=TRACK).then(meeting_planned())
    assert state.status is MeetingStatus.PLANNED
    assert state.version == 1


def test_plan_with_explicit_end_and_zone() -> None:
    given().when(
        plan(
            start=datetime(2026, 9, 15, 10, 0),
            end=datetime(2026, 9, 15, 11, 30),
            tz="Asia/Ashgabat",
            kind="consultation",
            classification="restricted",
            participants=("TM-MFA",),
        ),
        track=TRACK,
    ).then(
        meeting_planned(
            kind="consultation",
            start=WallTime(datetime(2026, 9, 15, 10), None, datetime(2026, 9, 15, 5, tzinfo=UTC)),
            end=WallTime(
                datetime(2026, 9, 15, 11, 30), None, datetime(2026, 9, 15, 6, 30, tzinfo=UTC)
            ),
            tz="Asia/Ashgabat",
            classification="restricted",
            participants=("TM-MFA",),
        )
    )


def test_plan_with_duration() -> None:
    given().when(plan(duration="PT1H30M"), track=TRACK).then(
        meeting_planned(
            end=WallTime(
                datetime(2026, 9, 15, 11, 30), None, datetime(2026, 9, 15, 7, 30, tzinfo=UTC)
            ),
        )
    )


def test_ad_hoc_meeting_lasts_two_hours_by_default() -> None:
    given().when(
        plan(track_id=None, tz="Asia/Ashgabat", host=None, kind="review", venue=None, agenda=())
    ).then(
        meeting_planned(
            track_id=None,
            kind="review",
            start=WallTime(datetime(2026, 9, 15, 10), None, datetime(2026, 9, 15, 5, tzinfo=UTC)),
            end=WallTime(datetime(2026, 9, 15, 12), None, datetime(2026, 9, 15, 7, tzinfo=UTC)),
            tz="Asia/Ashgabat",
            venue=None,
            host=None,
            participants=(),
            agenda=(),
        )
    )


def test_ad_hoc_meeting_needs_a_zone() -> None:
    given().when(plan(track_id=None)).then_raises(InvalidInput, "tz")


def test_plan_without_host_takes_the_next_host_in_rotation() -> None:
    event = given().when(plan(host=None), track=TRACK, previous_host="TM-MFA").decide()[0]
    assert isinstance(event, MeetingPlanned)
    assert event.host == "AZ-MFA"
    event = given().when(plan(host=None), track=TRACK, previous_host="AZ-MFA").decide()[0]
    assert isinstance(event, MeetingPlanned)
    assert event.host == "TM-MFA"


def test_plan_with_a_host_outside_the_rotation_is_fine() -> None:
    event = given().when(plan(host="UN-DP"), track=TRACK).decide()[0]
    assert isinstance(event, MeetingPlanned)
    assert event.host == "UN-DP"


def test_plan_on_an_existing_id_is_a_duplicate() -> None:
    given(meeting_planned()).when(plan(), track=TRACK).then_raises(
        NotAllowed, "id", "already exists"
    )


def test_plan_in_a_track_that_was_not_found() -> None:
    given().when(plan()).then_raises(UnknownId, "track")


@pytest.mark.parametrize("bad_id", ["", "has space", "a/b", ".hidden", "x" * 65, "ünï"])
def test_plan_with_an_invalid_id(bad_id: str) -> None:
    given().when(plan(meeting_id=bad_id), track=TRACK).then_raises(InvalidInput, "id")


def test_plan_with_unknown_time_zone() -> None:
    error = given().when(plan(tz="Europe/Atlantis"), track=TRACK).then_raises(InvalidInput, "tz")
    assert str(error) == "tz: unknown time zone 'Europe/Atlantis'"


@pytest.mark.parametrize(
    "end", [datetime(2026, 9, 15, 10, 0), datetime(2026, 9, 15, 9, 0)], ids=["equal", "before"]
)
def test_plan_with_end_not_after_start(end: datetime) -> None:
    given().when(plan(end=end), track=TRACK).then_raises(InvalidInput, "end", "is not after")


def test_plan_in_a_dst_gap_is_rejected() -> None:
    error = (
        given()
        .when(plan(track_id=None, tz="Europe/Berlin", start=datetime(2026, 3, 29, 2, 30)))
        .then_raises(InvalidInput, "start", "does not exist in Europe/Berlin")
    )
    assert "2026-03-29 02:30" in str(error)


def test_plan_ending_in_a_dst_gap_is_rejected() -> None:
    given().when(
        plan(
            track_id=None,
            tz="Europe/Berlin",
            start=datetime(2026, 3, 29, 1, 0),
            end=datetime(2026, 3, 29, 2, 15),
        )
    ).then_raises(InvalidInput, "end", "does not exist")


def test_plan_in_a_dst_fold_without_fold_is_rejected() -> None:
    given().when(
        plan(track_id=None, tz="Europe/Berlin", start=datetime(2026, 10, 25, 2, 30))
    ).then_raises(InvalidInput, "start", "is ambiguous in Europe/Berlin")
    given().when(
        plan(track_id=None, tz="Europe/Berlin", start=datetime(2026, 10, 25, 2, 30))
    ).then_raises(InvalidInput, "start", "pass --fold 0|1")


@pytest.mark.parametrize(("fold", "utc_hour"), [(0, 0), (1, 1)])
def test_plan_in_a_dst_fold_with_fold(fold: int, utc_hour: int) -> None:
    start = datetime(2026, 10, 25, 2, 30)
    event = (
        given()
        .when(plan(track_id=None, tz="Europe/Berlin", start=start, duration="PT1H", fold=fold))
        .decide()[0]
    )
    assert isinstance(event, MeetingPlanned)
    assert (event.start.local, event.start.fold) == (start, fold)
    assert event.start.utc == datetime(2026, 10, 25, utc_hour, 30, tzinfo=UTC)
    assert event.end.utc == datetime(2026, 10, 25, utc_hour + 1, 30, tzinfo=UTC)


def test_duration_is_elapsed_time_across_a_dst_change() -> None:
    event = (
        given()
        .when(
            plan(
                track_id=None,
                tz="Europe/Berlin",
                start=datetime(2026, 3, 29, 1, 30),
                duration="PT2H",
            )
        )
        .decide()[0]
    )
    assert isinstance(event, MeetingPlanned)
    assert event.end.local == datetime(2026, 3, 29, 4, 30)  # clocks skip 02:00-03:00
    assert event.end.utc - event.start.utc == datetime(1, 1, 1, 2) - datetime(1, 1, 1)


def test_end_and_duration_together_are_rejected() -> None:
    given().when(plan(end=datetime(2026, 9, 15, 12, 0), duration="PT2H"), track=TRACK).then_raises(
        InvalidInput, "duration"
    )


def test_meeting_longer_than_14_days_is_rejected() -> None:
    given().when(plan(end=datetime(2026, 9, 29, 10, 1)), track=TRACK).then_raises(
        InvalidInput, "end", "14 days"
    )
    given().when(plan(duration="P15D"), track=TRACK).then_raises(InvalidInput, "duration")


def test_meeting_of_exactly_14_days_is_allowed() -> None:
    event = given().when(plan(end=datetime(2026, 9, 29, 10, 0)), track=TRACK).decide()[0]
    assert isinstance(event, MeetingPlanned)
    assert event.end.utc - event.start.utc == datetime(2026, 9, 29) - datetime(2026, 9, 15)


@pytest.mark.parametrize(
    "start", [datetime(1899, 12, 31, 10, 0), datetime(2201, 1, 1, 10, 0)], ids=["1899", "2201"]
)
def test_dates_outside_1900_to_2200_are_rejected(start: datetime) -> None:
    given().when(plan(start=start), track=TRACK).then_raises(InvalidInput, "start", "outside")


@pytest.mark.parametrize("title", ["", "   ", "\t\n", "x" * 201, "two\nlines"])
def test_bad_titles_are_rejected(title: str) -> None:
    given().when(plan(title=title), track=TRACK).then_raises(InvalidInput, "title")


def test_title_of_200_characters_is_fine_and_whitespace_is_trimmed() -> None:
    event = given().when(plan(title=f"  {'x' * 200}  "), track=TRACK).decide()[0]
    assert isinstance(event, MeetingPlanned)
    assert event.title == "x" * 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "party"), ("classification", "secret"), ("kind", "Workshop")],
)
def test_unknown_vocabulary_is_rejected(field: str, value: str) -> None:
    given().when(plan(**{field: value}), track=TRACK).then_raises(InvalidInput, field, value)


def test_plan_after_the_track_retired_is_not_allowed() -> None:
    retired = track_state(TrackRetired("strategy-workshop", date(2026, 6, 30)))
    given().when(plan(), track=retired).then_raises(NotAllowed, "track", "retired")


def test_plan_before_the_track_retired_is_allowed() -> None:
    retired = track_state(TrackRetired("strategy-workshop", date(2026, 12, 31)))
    given().when(plan(), track=retired).then(meeting_planned())


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        meetings.decide(None, plan(), datetime(2026, 6, 1), track=TRACK)


# --- reschedule --------------------------------------------------------------------------


def test_reschedule_keeps_the_length_and_zone() -> None:
    state = (
        given(meeting_planned())
        .when(
            RescheduleMeeting(
                meeting_id="m1", start=datetime(2026, 9, 22, 9, 0), reason="Visa delays"
            )
        )
        .then(
            MeetingRescheduled(
                meeting_id="m1",
                start=WallTime(
                    datetime(2026, 9, 22, 9), None, datetime(2026, 9, 22, 5, tzinfo=UTC)
                ),
                end=WallTime(datetime(2026, 9, 22, 12), None, datetime(2026, 9, 22, 8, tzinfo=UTC)),
                tz="Asia/Baku",
                reason="Visa delays",
            )
        )
    )
    assert state.status is MeetingStatus.RESCHEDULED
    assert state.version == 2


def test_reschedule_to_the_same_time_changes_nothing() -> None:
    given(meeting_planned()).when(
        RescheduleMeeting(meeting_id="m1", start=datetime(2026, 9, 15, 10, 0))
    ).then_nothing()


def test_reschedule_into_a_dst_gap_is_rejected() -> None:
    given(meeting_planned()).when(
        RescheduleMeeting(meeting_id="m1", start=datetime(2026, 3, 29, 2, 0), tz="Europe/Berlin")
    ).then_raises(InvalidInput, "start", "does not exist")


def test_reschedule_with_end_before_start() -> None:
    given(meeting_planned()).when(
        RescheduleMeeting(
            meeting_id="m1", start=datetime(2026, 9, 22, 9, 0), end=datetime(2026, 9, 22, 8)
        )
    ).then_raises(InvalidInput, "end")


def test_reschedule_unknown_meeting() -> None:
    given().when(RescheduleMeeting(meeting_id="m1", start=datetime(2026, 9, 22, 9))).then_raises(
        UnknownId, "id"
    )


@pytest.mark.parametrize(
    "command",
    [
        RescheduleMeeting(meeting_id="m1", start=datetime(2026, 9, 22, 9, 0)),
        AmendMeeting(meeting_id="m1", venue="Ashgabat"),
        CancelMeeting(meeting_id="m1", reason="again"),
        RecordMeetingHeld(meeting_id="m1"),
    ],
    ids=["reschedule", "amend", "cancel", "hold"],
)
def test_nothing_changes_a_cancelled_meeting(command: object) -> None:
    given(meeting_planned(), MeetingCancelled("m1", "Postponed sine die")).when(
        command, now=AFTER_MEETING
    ).then_raises(NotAllowed, "id", "cancelled")


@pytest.mark.parametrize(
    "command",
    [
        RescheduleMeeting(meeting_id="m1", start=datetime(2026, 9, 22, 9, 0)),
        AmendMeeting(meeting_id="m1", venue="Ashgabat"),
        CancelMeeting(meeting_id="m1", reason="too late"),
        RecordMeetingHeld(meeting_id="m1"),
    ],
    ids=["reschedule", "amend", "cancel", "hold-twice"],
)
def test_nothing_changes_a_held_meeting(command: object) -> None:
    given(meeting_planned(), meeting_held()).when(command, now=AFTER_MEETING).then_raises(
        NotAllowed, "id", "was held"
    )


# --- amend -------------------------------------------------------------------------------


def test_amend_records_only_what_changed() -> None:
    state = (
        given(meeting_planned())
        .when(
            AmendMeeting(
                meeting_id="m1",
                title="Strategy workshop, autumn 2026",  # unchanged
                venue="Ashgabat",
                agenda=("Energy corridor", "Culture"),
                classification="internal",  # unchanged
            )
        )
        .then(MeetingAmended("m1", venue="Ashgabat", agenda=("Energy corridor", "Culture")))
    )
    assert (state.venue, state.title) == ("Ashgabat", "Strategy workshop, autumn 2026")
    assert state.status is MeetingStatus.PLANNED


def test_amend_that_changes_nothing_produces_no_event() -> None:
    given(meeting_planned()).when(
        AmendMeeting(
            meeting_id="m1", venue="Baku", host="AZ-MFA", participants=("TM-MFA", "AZ-MFA")
        )
    ).then_nothing()


def test_amend_with_empty_venue_clears_it() -> None:
    state = (
        given(meeting_planned())
        .when(AmendMeeting(meeting_id="m1", venue=""))
        .then(MeetingAmended("m1", venue=""))
    )
    assert state.venue is None


def test_amend_with_blank_title_is_rejected() -> None:
    given(meeting_planned()).when(AmendMeeting(meeting_id="m1", title=" ")).then_raises(
        InvalidInput, "title"
    )


def test_amend_with_unknown_classification_is_rejected() -> None:
    given(meeting_planned()).when(AmendMeeting(meeting_id="m1", classification="top")).then_raises(
        InvalidInput, "classification"
    )


# --- cancel ------------------------------------------------------------------------------


def test_cancel() -> None:
    state = (
        given(meeting_planned())
        .when(CancelMeeting(meeting_id="m1", reason="  Postponed by mutual agreement "))
        .then(MeetingCancelled("m1", "Postponed by mutual agreement"))
    )
    assert state.status is MeetingStatus.CANCELLED
    assert state.cancel_reason == "Postponed by mutual agreement"


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_needs_a_reason(reason: str) -> None:
    given(meeting_planned()).when(CancelMeeting(meeting_id="m1", reason=reason)).then_raises(
        InvalidInput, "reason"
    )


def test_cancel_a_rescheduled_meeting() -> None:
    rescheduled = MeetingRescheduled(
        "m1",
        WallTime(datetime(2026, 9, 22, 9), None, datetime(2026, 9, 22, 5, tzinfo=UTC)),
        WallTime(datetime(2026, 9, 22, 12), None, datetime(2026, 9, 22, 8, tzinfo=UTC)),
        "Asia/Baku",
        None,
    )
    given(meeting_planned(), rescheduled).when(
        CancelMeeting(meeting_id="m1", reason="No quorum")
    ).then(MeetingCancelled("m1", "No quorum"))


# --- held --------------------------------------------------------------------------------


def test_record_held_as_planned_with_action_items() -> None:
    state = (
        given(meeting_planned())
        .when(
            RecordMeetingHeld(
                meeting_id="m1",
                attendance=("TM-MFA", "AZ-MFA"),
                outcomes=("Joint statement agreed",),
                action_items=(
                    NewActionItem(
                        text="Draft the memorandum", owner="TM-MFA", due=date(2026, 10, 1)
                    ),
                    # A due date before the meeting is allowed (e.g. recorded late).
                    NewActionItem(text="Share minutes", owner="AZ-MFA", due=date(2026, 9, 1)),
                ),
            ),
            now=AFTER_MEETING,
        )
        .then(
            meeting_held(
                action_items=(
                    ActionItem("m1/1", "Draft the memorandum", "TM-MFA", date(2026, 10, 1)),
                    ActionItem("m1/2", "Share minutes", "AZ-MFA", date(2026, 9, 1)),
                )
            )
        )
    )
    assert state.status is MeetingStatus.HELD
    assert [item.status for item in state.action_items] == [ActionStatus.OPEN] * 2


def test_record_held_at_another_time_without_attendance() -> None:
    given(meeting_planned()).when(
        RecordMeetingHeld(
            meeting_id="m1", on=datetime(2026, 9, 15, 11, 0), end=datetime(2026, 9, 15, 14, 30)
        ),
        now=AFTER_MEETING,
    ).then(
        MeetingHeld(
            meeting_id="m1",
            start=WallTime(datetime(2026, 9, 15, 11), None, datetime(2026, 9, 15, 7, tzinfo=UTC)),
            end=WallTime(
                datetime(2026, 9, 15, 14, 30), None, datetime(2026, 9, 15, 10, 30, tzinfo=UTC)
            ),
            attendance=(),
            outcomes=(),
            action_items=(),
        )
    )


def test_record_held_more_than_a_day_ahead_is_rejected() -> None:
    just_over_a_day_before = datetime(2026, 9, 14, 5, 59, tzinfo=UTC)
    given(meeting_planned()).when(
        RecordMeetingHeld(meeting_id="m1"), now=just_over_a_day_before
    ).then_raises(InvalidInput, "on", "future")


def test_record_held_up_to_a_day_ahead_is_accepted() -> None:
    exactly_a_day_before = datetime(2026, 9, 14, 6, 0, tzinfo=UTC)
    given(meeting_planned()).when(
        RecordMeetingHeld(meeting_id="m1", attendance=("TM-MFA", "AZ-MFA"), outcomes=("ok",)),
        now=exactly_a_day_before,
    ).then(meeting_held(outcomes=("ok",), action_items=()))


def test_record_held_with_explicit_future_date_is_rejected() -> None:
    given(meeting_planned()).when(
        RecordMeetingHeld(meeting_id="m1", on=datetime(2026, 9, 25, 10, 0)), now=AFTER_MEETING
    ).then_raises(InvalidInput, "on")


def test_record_held_with_bad_action_owner() -> None:
    given(meeting_planned()).when(
        RecordMeetingHeld(
            meeting_id="m1",
            action_items=(NewActionItem(text="x", owner="not an id", due=date(2026, 10, 1)),),
        ),
        now=AFTER_MEETING,
    ).then_raises(InvalidInput, "action")


def test_record_held_unknown_meeting() -> None:
    given().when(RecordMeetingHeld(meeting_id="m1")).then_raises(UnknownId, "id")


# --- action items ------------------------------------------------------------------------


def test_complete_action_item_defaults_to_today_in_the_meeting_zone() -> None:
    late_evening_utc = datetime(2026, 9, 20, 21, 0, tzinfo=UTC)  # already the 21st in Baku
    state = (
        given(meeting_planned(), meeting_held())
        .when(
            CompleteActionItem(meeting_id="m1", item_id="m1/1", note="Sent"), now=late_evening_utc
        )
        .then(ActionItemCompleted("m1", "m1/1", date(2026, 9, 21), "Sent"))
    )
    (item,) = state.action_items
    assert (item.status, item.closed_on) == (ActionStatus.DONE, date(2026, 9, 21))
    assert state.status is MeetingStatus.HELD


def test_drop_action_item() -> None:
    state = (
        given(meeting_planned(), meeting_held())
        .when(
            DropActionItem(
                meeting_id="m1", item_id="m1/1", on=date(2026, 9, 20), reason="Overtaken"
            ),
            now=datetime(2026, 9, 21, 8, 0, tzinfo=UTC),
        )
        .then(ActionItemDropped("m1", "m1/1", date(2026, 9, 20), "Overtaken"))
    )
    assert state.action_items[0].status is ActionStatus.DROPPED


@pytest.mark.parametrize(
    "closed", [ActionItemCompleted("m1", "m1/1", date(2026, 9, 20), None)], ids=["done"]
)
@pytest.mark.parametrize(
    "command",
    [
        CompleteActionItem(meeting_id="m1", item_id="m1/1"),
        DropActionItem(meeting_id="m1", item_id="m1/1"),
    ],
    ids=["complete", "drop"],
)
def test_closed_action_item_cannot_be_closed_again(closed: object, command: object) -> None:
    given(meeting_planned(), meeting_held(), closed).when(command).then_raises(
        NotAllowed, "action", "already done"
    )


def test_unknown_action_item() -> None:
    given(meeting_planned(), meeting_held()).when(
        CompleteActionItem(meeting_id="m1", item_id="m1/7")
    ).then_raises(NotFound, "action", "m1/7")


def test_action_item_completed_in_the_future_is_rejected() -> None:
    given(meeting_planned(), meeting_held()).when(
        CompleteActionItem(meeting_id="m1", item_id="m1/1", on=date(2026, 12, 1)), now=AFTER_MEETING
    ).then_raises(InvalidInput, "on")


# --- host rotation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rotation", "previous", "expected"),
    [
        (("TM-MFA", "AZ-MFA"), None, "TM-MFA"),
        (("TM-MFA", "AZ-MFA"), "TM-MFA", "AZ-MFA"),
        (("TM-MFA", "AZ-MFA"), "AZ-MFA", "TM-MFA"),
        (("A", "B", "C"), "B", "C"),
        (("TM-MFA", "AZ-MFA"), "UN-DP", "TM-MFA"),
        ((), "TM-MFA", None),
        (("TM-MFA",), "TM-MFA", "TM-MFA"),
    ],
)
def test_next_host(rotation: tuple[str, ...], previous: str | None, expected: str | None) -> None:
    assert meetings.next_host(rotation, previous) == expected


def test_action_item_ids() -> None:
    assert meetings.action_item_id("m1", 2) == "m1/2"


# --- per-meeting reminder offsets ---------------------------------------------------------


def test_plan_with_its_own_reminders_overrides_the_track() -> None:
    state = (
        given()
        .when(plan(reminders=("PT24H", "PT30M")), track=TRACK)
        .then(meeting_planned(reminders=("PT24H", "PT30M")))
    )
    assert state.reminders == ("PT24H", "PT30M")
    assert given().when(plan(), track=TRACK).then(meeting_planned()).reminders is None


def test_plan_with_a_bad_reminder_offset_is_rejected() -> None:
    given().when(plan(reminders=("P1M",)), track=TRACK).then_raises(InvalidInput, "reminders")
    given().when(plan(reminders=("P1D", "PT24H")), track=TRACK).then_raises(
        InvalidInput, "reminders", "twice"
    )


def test_amend_reminders_records_the_change_once() -> None:
    state = (
        given(meeting_planned())
        .when(AmendMeeting(meeting_id="m1", reminders=()))
        .then(MeetingAmended("m1", reminders=()))
    )
    assert state.reminders == ()
    given(meeting_planned(reminders=("P1D",))).when(
        AmendMeeting(meeting_id="m1", reminders=("P1D",))
    ).then_nothing()
