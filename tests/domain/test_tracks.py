from datetime import date

import pytest

from consultations.domain import tracks
from consultations.domain.cadence import parse_cadence
from consultations.domain.commands import AddTrack, AmendTrack, RetireTrack
from consultations.domain.durations import Duration
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import TrackAdded, TrackAmended, TrackRetired
from consultations.domain.vocabulary import Kind, Priority

from .gwt import given, track_added


def add(**overrides: object) -> AddTrack:
    values: dict[str, object] = {
        "track_id": "strategy-workshop",
        "title": "Bi-annual strategy workshop",
        "kind": "workshop",
        "cadence": "half-year",
        "start": date(2026, 1, 1),
        "tz": "Asia/Baku",
        "parties": ("TM-MFA", "AZ-MFA"),
        "areas": ("energy", "security"),
        "priority": "high",
        "default_duration": "PT3H",
        "reminders": ("P14D", "P1D"),
        "host_rotation": ("TM-MFA", "AZ-MFA"),
    }
    return AddTrack(**(values | overrides))  # type: ignore[arg-type]


# --- add ---------------------------------------------------------------------------------


def test_add_track() -> None:
    state = given().when(add()).then(track_added())
    assert state == tracks.Track(
        id="strategy-workshop",
        title="Bi-annual strategy workshop",
        kind=Kind.WORKSHOP,
        cadence=parse_cadence("half-year"),
        required=1,
        start=date(2026, 1, 1),
        tz="Asia/Baku",
        parties=("TM-MFA", "AZ-MFA"),
        areas=("energy", "security"),
        priority=Priority.HIGH,
        default_duration=Duration(hours=3),
        reminders=(Duration(days=14), Duration(days=1)),
        host_rotation=("TM-MFA", "AZ-MFA"),
        retired_on=None,
        version=1,
    )


def test_add_track_defaults() -> None:
    command = AddTrack(
        track_id="pol-consult", title="Political consultations", kind="consultation", cadence="max-gap:p6m", start=date(2026, 1, 1),
        tz="Asia/Ashgabat",
    )  # fmt: skip
    given().when(command).then(
        TrackAdded(
            track_id="pol-consult",
            title="Political consultations",
            kind="consultation",
            cadence="max-gap:P6M",
            required=1,
            start=date(2026, 1, 1),
            tz="Asia/Ashgabat",
            parties=(),
            areas=(),
            priority="medium",
            default_duration="PT2H",
            reminders=(),
            host_rotation=(),
        )
    )


def test_add_on_an_existing_id_is_a_duplicate() -> None:
    given(track_added()).when(add()).then_raises(NotAllowed, "id", "already exists")


@pytest.mark.parametrize(
    ("overrides", "field", "match"),
    [
        ({"track_id": "bad id"}, "id", "bad id"),
        ({"title": "  "}, "title", "empty"),
        ({"title": "t" * 201}, "title", "201"),
        ({"kind": "summit"}, "kind", "summit"),
        ({"priority": "urgent"}, "priority", "urgent"),
        ({"cadence": "weekly"}, "cadence", "weekly"),
        ({"cadence": "max-gap:P0D"}, "cadence", "zero"),
        ({"required": 0}, "required", "at least 1"),
        ({"tz": "Mars/Olympus"}, "tz", "Mars/Olympus"),
        ({"default_duration": "PT0H"}, "duration", "longer than zero"),
        ({"default_duration": "P15D"}, "duration", "14 days"),
        ({"default_duration": "P1M"}, "duration", "months"),
        ({"default_duration": "2 hours"}, "duration", "ISO 8601"),
        ({"reminders": ("P14D", "P367D")}, "reminders", "366 days"),
        ({"reminders": ("PT0S",)}, "reminders", "longer than zero"),
        ({"reminders": ("P1D", "PT24H")}, "reminders", "twice"),
        ({"host_rotation": ("TM-MFA", "UN-DP")}, "rotation", "UN-DP"),
        ({"parties": ("TM-MFA", "TM-MFA")}, "party", "twice"),
        ({"areas": ("energy", "no/slash")}, "area", "no/slash"),
        ({"start": date(1899, 12, 31)}, "start", "outside"),
        ({"start": date(2201, 1, 1)}, "start", "outside"),
    ],
)
def test_add_rejects_invalid_input(overrides: dict[str, object], field: str, match: str) -> None:
    given().when(add(**overrides)).then_raises(InvalidInput, field, match)


def test_add_accepts_the_limits() -> None:
    event = given().when(add(default_duration="P14D", reminders=("P366D",), required=3)).decide()
    assert isinstance(event[0], TrackAdded)
    assert (event[0].default_duration, event[0].reminders, event[0].required) == (
        "P14D",
        ("P366D",),
        3,
    )


# --- amend -------------------------------------------------------------------------------


def test_amend_records_only_changed_fields() -> None:
    state = (
        given(track_added())
        .when(
            AmendTrack(
                track_id="strategy-workshop",
                title="Bi-annual strategy workshop",  # unchanged
                priority="medium",
                cadence="quarter",
                reminders=("P7D",),
                default_duration="PT3H",  # unchanged
            )
        )
        .then(
            TrackAmended(
                "strategy-workshop", priority="medium", cadence="quarter", reminders=("P7D",)
            )
        )
    )
    assert (state.priority, str(state.cadence), state.reminders) == (
        Priority.MEDIUM,
        "quarter",
        (Duration(days=7),),
    )
    assert state.version == 2


def test_amend_that_changes_nothing_produces_no_event() -> None:
    given(track_added()).when(
        AmendTrack(
            track_id="strategy-workshop", kind="workshop", cadence="HALF-YEAR", tz="Asia/Baku"
        )
    ).then_nothing()


def test_amend_can_clear_the_rotation() -> None:
    state = (
        given(track_added())
        .when(AmendTrack(track_id="strategy-workshop", host_rotation=()))
        .then(TrackAmended("strategy-workshop", host_rotation=()))
    )
    assert state.host_rotation == ()


def test_amend_parties_must_keep_the_rotation_hosts() -> None:
    given(track_added()).when(
        AmendTrack(track_id="strategy-workshop", parties=("TM-MFA",))
    ).then_raises(InvalidInput, "rotation", "AZ-MFA")


def test_amend_parties_and_rotation_together() -> None:
    given(track_added()).when(
        AmendTrack(track_id="strategy-workshop", parties=("TM-MFA",), host_rotation=("TM-MFA",))
    ).then(TrackAmended("strategy-workshop", parties=("TM-MFA",), host_rotation=("TM-MFA",)))


def test_amend_with_invalid_value() -> None:
    given(track_added()).when(AmendTrack(track_id="strategy-workshop", required=-1)).then_raises(
        InvalidInput, "required"
    )


def test_amend_unknown_track() -> None:
    given().when(AmendTrack(track_id="strategy-workshop", title="x")).then_raises(UnknownId, "id")


def test_amend_retired_track_is_not_allowed() -> None:
    given(track_added(), TrackRetired("strategy-workshop", date(2027, 1, 1))).when(
        AmendTrack(track_id="strategy-workshop", title="New")
    ).then_raises(NotAllowed, "id", "retired")


# --- retire ------------------------------------------------------------------------------


def test_retire() -> None:
    state = (
        given(track_added())
        .when(RetireTrack(track_id="strategy-workshop", on=date(2027, 12, 31)))
        .then(TrackRetired("strategy-workshop", date(2027, 12, 31)))
    )
    assert state.retired_on == date(2027, 12, 31)


def test_retire_on_the_start_date_is_allowed() -> None:
    given(track_added()).when(RetireTrack(track_id="strategy-workshop", on=date(2026, 1, 1))).then(
        TrackRetired("strategy-workshop", date(2026, 1, 1))
    )


def test_retire_before_the_start_is_rejected() -> None:
    given(track_added()).when(
        RetireTrack(track_id="strategy-workshop", on=date(2025, 12, 31))
    ).then_raises(InvalidInput, "on", "before the track's start")


def test_retire_twice_is_not_allowed() -> None:
    given(track_added(), TrackRetired("strategy-workshop", date(2027, 1, 1))).when(
        RetireTrack(track_id="strategy-workshop", on=date(2028, 1, 1))
    ).then_raises(NotAllowed, "id", "already retired")


def test_retire_unknown_track() -> None:
    given().when(RetireTrack(track_id="nope", on=date(2027, 1, 1))).then_raises(UnknownId, "id")


def test_evolve_rejects_events_out_of_order() -> None:
    with pytest.raises(ValueError, match="before it was added"):
        tracks.fold([TrackRetired("x", date(2027, 1, 1))])
    with pytest.raises(ValueError, match="twice"):
        tracks.fold([track_added(), track_added()])
