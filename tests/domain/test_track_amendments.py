"""The amendment decider: a change of a track proposed by a party that did not add it."""

from datetime import date

from consultations.domain.commands import (
    AcceptAmendment,
    AmendTrack,
    DeclineAmendment,
    ProposeAmendment,
)
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import (
    AmendmentAccepted,
    AmendmentDeclined,
    AmendmentProposed,
    TrackAmended,
    TrackRetired,
)
from consultations.domain.meeting_proposals import ACCEPTED, DECLINED, OPEN

from .gwt import given, track_state

TRACK = "strategy-workshop"


def propose(**overrides: object) -> ProposeAmendment:
    values: dict[str, object] = {
        "amendment_id": "AZ-MFA-1",
        "track_id": TRACK,
        "reason": "Twice a year is too rare",
        "amendment": AmendTrack(track_id=TRACK, cadence="quarter", title="Quarterly workshop"),
    }
    return ProposeAmendment(**(values | overrides))  # type: ignore[arg-type]


def proposed(**overrides: object) -> AmendmentProposed:
    values: dict[str, object] = {
        "amendment_id": "AZ-MFA-1",
        "track_id": TRACK,
        "proposer": "AZ-MFA",
        "amendment": TrackAmended(TRACK, title="Quarterly workshop", cadence="quarter"),
        "retire_on": None,
        "reason": "Twice a year is too rare",
    }
    return AmendmentProposed(**(values | overrides))  # type: ignore[arg-type]


def test_a_proposal_records_the_amendment_the_track_would_record() -> None:
    state = given().when(propose(), track=track_state(), proposer="AZ-MFA").then(proposed())
    assert (state.status, state.version) == (OPEN, 1)


def test_only_what_changes_is_proposed() -> None:
    # The title is unchanged: the proposal carries only the cadence.
    same_title = AmendTrack(track_id=TRACK, title="Bi-annual strategy workshop", cadence="quarter")
    given().when(propose(amendment=same_title), track=track_state(), proposer="AZ-MFA").then(
        proposed(amendment=TrackAmended(TRACK, cadence="quarter"))
    )


def test_a_retirement_is_checked_as_the_track_checks_it() -> None:
    when = given().when(
        propose(amendment=None, retire_on=date(2027, 6, 30)), track=track_state(), proposer="AZ-MFA"
    )
    when.then(proposed(amendment=None, retire_on=date(2027, 6, 30)))
    given().when(
        propose(amendment=None, retire_on=date(2025, 6, 30)), track=track_state(), proposer="AZ-MFA"
    ).then_raises(InvalidInput, "on", "before the track's start")
    retired = track_state(TrackRetired(TRACK, date(2026, 12, 31)))
    given().when(propose(), track=retired, proposer="AZ-MFA").then_raises(
        NotAllowed, "id", "cannot be amended"
    )


def test_what_cannot_be_proposed() -> None:
    track = track_state()
    given().when(propose(amendment=None), track=track, proposer="AZ-MFA").then_raises(
        InvalidInput, "track", "propose new values"
    )
    unchanged = AmendTrack(track_id=TRACK, cadence="half-year")
    given().when(propose(amendment=unchanged), track=track, proposer="AZ-MFA").then_raises(
        InvalidInput, "track", "has these values already"
    )
    local = AmendTrack(track_id=TRACK, reminders=("P1D",))
    given().when(propose(amendment=local), track=track, proposer="AZ-MFA").then_raises(
        InvalidInput, "reminders", "each instance sets its own"
    )
    given().when(propose(reason=" "), track=track, proposer="AZ-MFA").then_raises(
        InvalidInput, "reason"
    )
    given().when(propose(), track=None, proposer="AZ-MFA").then_raises(UnknownId, "id")
    given(proposed()).when(propose(), track=track, proposer="AZ-MFA").then_raises(
        NotAllowed, "amendment", "exists already"
    )


def test_an_amendment_is_settled_once() -> None:
    accept = AcceptAmendment(amendment_id="AZ-MFA-1", track_id=TRACK)
    decline = DeclineAmendment(amendment_id="AZ-MFA-1", track_id=TRACK, reason="Not now")
    state = given(proposed()).when(accept).then(AmendmentAccepted("AZ-MFA-1", TRACK))
    assert (state.status, state.decision_reason) == (ACCEPTED, None)
    state = given(proposed()).when(decline).then(AmendmentDeclined("AZ-MFA-1", TRACK, "Not now"))
    assert (state.status, state.decision_reason) == (DECLINED, "Not now")
    settled = (proposed(), AmendmentDeclined("AZ-MFA-1", TRACK, "Not now"))
    given(*settled).when(accept).then_raises(NotAllowed, "amendment", "was declined already")
    given().when(accept).then_raises(UnknownId, "amendment")
    other_track = AcceptAmendment(amendment_id="AZ-MFA-1", track_id="other")
    given(proposed()).when(other_track).then_raises(
        InvalidInput, "amendment", "is of track 'strategy-workshop', not 'other'"
    )
