"""Amendment aggregate: a change of a joint track proposed to the party that added it.

Only the instance that added a track changes it. Another party of the track proposes an
amendment of its fields, its retirement, or both, checked as the track would check the
change itself. The track's creator accepts it (the changes are then its own, ordinary
changes of the track) or declines it, saying why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import assert_never

from consultations.domain import tracks
from consultations.domain.commands import (
    AcceptAmendment,
    AmendmentCommand,
    DeclineAmendment,
    ProposeAmendment,
    RetireTrack,
)
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import (
    AmendmentAccepted,
    AmendmentDeclined,
    AmendmentEvent,
    AmendmentProposed,
    TrackAmended,
)
from consultations.domain.meeting_proposals import OPEN, require_open, settled
from consultations.domain.meetings import MAX_NOTE_LENGTH
from consultations.domain.validation import (
    require_aware,
    validate_date,
    validate_id,
    validate_line,
)


@dataclass(frozen=True, slots=True)
class Amendment:
    """A proposed track change and where it stands (``decision_reason``: why it was declined)."""

    id: str
    track_id: str
    proposer: str
    amendment: TrackAmended | None
    retire_on: date | None
    reason: str
    status: str
    decision_reason: str | None
    version: int


def decide(
    state: Amendment | None,
    command: AmendmentCommand,
    now: datetime,
    *,
    track: tracks.Track | None = None,
    proposer: str | None = None,
) -> tuple[AmendmentEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = no such amendment yet).

    ``track``: the track's state; ``proposer``: the party this instance speaks for.
    """
    require_aware(now)
    match command:
        case ProposeAmendment():
            validate_id(command.amendment_id, "amendment")
            if state is not None:
                raise NotAllowed("amendment", f"{command.amendment_id!r} exists already")
            if track is None:
                raise UnknownId("track", command.track_id, "id")
            if proposer is None:
                raise ValueError("an amendment needs the party that proposes it")
            return (_proposal(command, track, proposer, now),)
        case AcceptAmendment():
            _open(state, command.amendment_id, command.track_id)
            return (AmendmentAccepted(command.amendment_id, command.track_id),)
        case DeclineAmendment():
            _open(state, command.amendment_id, command.track_id)
            reason = validate_line(command.reason, "reason", max_length=MAX_NOTE_LENGTH)
            return (AmendmentDeclined(command.amendment_id, command.track_id, reason),)
        case _:
            assert_never(command)


def _proposal(
    command: ProposeAmendment, track: tracks.Track, proposer: str, now: datetime
) -> AmendmentProposed:
    """What is proposed, checked as the track would check the change itself."""
    reason = validate_line(command.reason, "reason", max_length=MAX_NOTE_LENGTH)
    if command.amendment is None and command.retire_on is None:
        raise InvalidInput("track", "propose new values of its fields, a day to retire it, or both")
    amended: TrackAmended | None = None
    if command.amendment is not None:
        if command.amendment.reminders is not None:
            raise InvalidInput("reminders", "each instance sets its own; they are not proposed")
        events = tracks.decide(track, command.amendment, now)
        if not events:
            raise InvalidInput("track", f"{track.id!r} has these values already")
        (event,) = events
        assert isinstance(event, TrackAmended)
        amended = event
    if command.retire_on is not None:
        tracks.decide(track, RetireTrack(track_id=track.id, on=command.retire_on), now)
    return AmendmentProposed(
        command.amendment_id, track.id, proposer, amended, command.retire_on, reason
    )


def check_received(event: AmendmentProposed) -> None:
    """Raise a DomainError unless a received proposal is one :func:`decide` could make.

    As it was made on another instance: whatever the track is like here now.
    """
    validate_id(event.amendment_id, "amendment")
    validate_line(event.reason, "reason", max_length=MAX_NOTE_LENGTH)
    if event.amendment is None and event.retire_on is None:
        raise InvalidInput("track", "it proposes neither new values nor a day to retire it")
    if event.amendment is not None:
        if event.amendment.track_id != event.track_id:
            raise InvalidInput(
                "track", f"it amends {event.amendment.track_id!r}, not {event.track_id!r}"
            )
        if event.amendment == TrackAmended(event.track_id):
            raise InvalidInput("track", "it changes nothing")
        if event.amendment.reminders is not None:
            raise InvalidInput("reminders", "each instance sets its own; they are not proposed")
        tracks.check_recorded(event.amendment)
    if event.retire_on is not None:
        validate_date(event.retire_on, "on")


def _open(state: Amendment | None, amendment_id: str, track_id: str) -> Amendment:
    if state is None:
        raise UnknownId("amendment", amendment_id, hint=f"see `track amendments {track_id}`")
    if state.track_id != track_id:
        raise InvalidInput(
            "amendment", f"{amendment_id!r} is of track {state.track_id!r}, not {track_id!r}"
        )
    require_open(state.status, "amendment", amendment_id)
    return state


def evolve(state: Amendment | None, event: AmendmentEvent) -> Amendment:
    """Apply one event to the state."""
    match event:
        case AmendmentProposed():
            if state is not None:
                raise ValueError(f"amendment {event.amendment_id!r} proposed twice")
            return Amendment(
                event.amendment_id, event.track_id, event.proposer, event.amendment,
                event.retire_on, event.reason, OPEN, None, version=1,
            )  # fmt: skip
        case AmendmentAccepted() | AmendmentDeclined():
            if state is None:
                raise ValueError(f"amendment {event.amendment_id!r} settled before it was made")
            return settled(state, event.reason if isinstance(event, AmendmentDeclined) else None)
        case _:
            assert_never(event)


def fold(events: Iterable[AmendmentEvent]) -> Amendment | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Amendment | None = None
    for event in events:
        state = evolve(state, event)
    return state
