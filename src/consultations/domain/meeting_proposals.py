"""Proposal aggregate: a change of a meeting proposed to the party that convenes it.

iTIP's COUNTER: a party that does not convene a meeting proposes a new time or venue; the
convener accepts it (its changes are then the convener's own, ordinary changes of the
meeting) or declines it, saying why. A proposal is checked with the meeting's own rules: a
time the meeting could be rescheduled to, a venue it could be given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar, assert_never

from consultations.domain import meetings
from consultations.domain.commands import (
    AcceptProposal,
    AmendMeeting,
    DeclineProposal,
    ProposalCommand,
    ProposeChange,
    RescheduleMeeting,
)
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import (
    ChangeProposed,
    MeetingAmended,
    MeetingRescheduled,
    ProposalAccepted,
    ProposalDeclined,
    ProposalEvent,
)
from consultations.domain.validation import require_aware, validate_id, validate_line
from consultations.domain.wall_time import WallTime

if TYPE_CHECKING:
    from consultations.domain import track_amendments

OPEN, ACCEPTED, DECLINED = "open", "accepted", "declined"


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal and where it stands (``decision_reason``: why it was declined)."""

    id: str
    meeting_id: str
    proposer: str
    start: WallTime | None
    end: WallTime | None
    tz: str | None
    venue: str | None
    reason: str
    status: str
    decision_reason: str | None
    version: int


def decide(
    state: Proposal | None,
    command: ProposalCommand,
    now: datetime,
    *,
    meeting: meetings.Meeting | None = None,
    proposer: str | None = None,
) -> tuple[ProposalEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = no such proposal yet).

    ``meeting``: the meeting's state; ``proposer``: the party this instance speaks for.
    """
    require_aware(now)
    match command:
        case ProposeChange():
            validate_id(command.proposal_id, "proposal")
            if state is not None:
                raise NotAllowed("proposal", f"{command.proposal_id!r} exists already")
            if meeting is None:
                raise UnknownId("meeting", command.meeting_id, "id")
            if proposer is None:
                raise ValueError("a proposal needs the party that makes it")
            return (_proposal(command, meeting, proposer, now),)
        case AcceptProposal():
            _open(state, command.proposal_id, command.meeting_id)
            return (ProposalAccepted(command.proposal_id, command.meeting_id),)
        case DeclineProposal():
            _open(state, command.proposal_id, command.meeting_id)
            reason = validate_line(command.reason, "reason", max_length=meetings.MAX_NOTE_LENGTH)
            return (ProposalDeclined(command.proposal_id, command.meeting_id, reason),)
        case _:
            assert_never(command)


def _proposal(
    command: ProposeChange, meeting: meetings.Meeting, proposer: str, now: datetime
) -> ChangeProposed:
    """What is proposed, checked as the meeting would check the change itself."""
    reason = validate_line(command.reason, "reason", max_length=meetings.MAX_NOTE_LENGTH)
    if command.start is None and command.venue is None:
        raise InvalidInput("start", "propose a new --start, a new --venue, or both")
    start = end = tz = venue = None
    if command.start is not None:
        moved = meetings.decide(
            meeting,
            RescheduleMeeting(
                meeting_id=meeting.id, start=command.start, end=command.end,
                duration=command.duration, tz=command.tz, fold=command.fold,
            ),
            now,
        )  # fmt: skip
        if not moved:
            raise InvalidInput("start", f"meeting {meeting.id!r} is at that time already")
        (rescheduled,) = moved
        assert isinstance(rescheduled, MeetingRescheduled)
        start, end, tz = rescheduled.start, rescheduled.end, rescheduled.tz
    if command.venue is not None:
        amended = meetings.decide(
            meeting, AmendMeeting(meeting_id=meeting.id, venue=command.venue), now
        )
        if not amended:
            raise InvalidInput("venue", f"meeting {meeting.id!r} is there already")
        (amendment,) = amended
        assert isinstance(amendment, MeetingAmended)
        venue = amendment.venue
    return ChangeProposed(command.proposal_id, meeting.id, proposer, start, end, tz, venue, reason)


def _open(state: Proposal | None, proposal_id: str, meeting_id: str) -> Proposal:
    if state is None:
        raise UnknownId("proposal", proposal_id, hint=f"see `meeting proposals {meeting_id}`")
    if state.meeting_id != meeting_id:
        raise InvalidInput(
            "proposal", f"{proposal_id!r} is about meeting {state.meeting_id!r}, not {meeting_id!r}"
        )
    require_open(state.status, "proposal", proposal_id)
    return state


def require_open(status: str, kind: str, id_: str) -> None:
    """Refuse to settle a proposal (``kind``: proposal, amendment) settled already."""
    if status != OPEN:
        raise NotAllowed(kind, f"{id_!r} was {status} already")


def evolve(state: Proposal | None, event: ProposalEvent) -> Proposal:
    """Apply one event to the state."""
    match event:
        case ChangeProposed():
            if state is not None:
                raise ValueError(f"proposal {event.proposal_id!r} made twice")
            return Proposal(
                event.proposal_id, event.meeting_id, event.proposer, event.start, event.end,
                event.tz, event.venue, event.reason, OPEN, None, version=1,
            )  # fmt: skip
        case ProposalAccepted() | ProposalDeclined():
            if state is None:
                raise ValueError(f"proposal {event.proposal_id!r} settled before it was made")
            return settled(state, event.reason if isinstance(event, ProposalDeclined) else None)
        case _:
            assert_never(event)


Settled = TypeVar("Settled", "Proposal", "track_amendments.Amendment")


def settled(state: Settled, declined_because: str | None) -> Settled:
    """A proposal (or amendment) once settled: accepted, or declined for a reason."""
    return replace(
        state,
        status=ACCEPTED if declined_because is None else DECLINED,
        decision_reason=declined_because,
        version=state.version + 1,
    )


def fold(events: Iterable[ProposalEvent]) -> Proposal | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Proposal | None = None
    for event in events:
        state = evolve(state, event)
    return state
