"""Proposals: made for a meeting another party convenes, settled by the convener.

Accepting a proposal is the convener's own change of the meeting (a reschedule, a new
venue), recorded in one append with the acceptance.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from consultations.domain.aggregates import PROPOSAL, Aggregate
from consultations.domain.commands import (
    AcceptProposal,
    AmendMeeting,
    DomainCommand,
    ProposeChange,
    RescheduleMeeting,
)
from consultations.domain.errors import NotAllowed, UnknownId
from consultations.domain.meeting_proposals import Proposal
from consultations.service_layer.handlers import handle
from consultations.service_layer.identity import current_identity
from consultations.service_layer.services import CommandService, Outcome, Provenance


class ProposalCount(Protocol):
    """What the read models know of the proposals made so far."""

    def proposals_made_by(self, party: str) -> int:
        """How many proposals ``party`` has made."""


def propose(
    commands: CommandService,
    made: ProposalCount,
    meeting_id: str,
    *,
    start: datetime | None,
    end: datetime | None = None,
    duration: str | None = None,
    tz: str | None = None,
    fold: int | None = None,
    venue: str | None = None,
    reason: str,
    provenance: Provenance,
    idempotency_key: str | None = None,
) -> Outcome:
    """Propose a change to the convener; the proposal's id is ``<party>-<n>``.

    ``n`` counts this party's proposals, skipping ids taken already.
    """
    command = ProposeChange(
        proposal_id=next_id(commands, PROPOSAL, made.proposals_made_by), meeting_id=meeting_id,
        reason=reason, start=start, end=end, duration=duration, tz=tz, fold=fold, venue=venue,
    )  # fmt: skip
    return commands.execute(command, provenance, idempotency_key)


def next_id(commands: CommandService, aggregate: Aggregate[Any], made: Callable[[str], int]) -> str:
    """The id of this party's next proposal: ``<party>-<n>``, ``n`` one more than ``made``.

    Ids taken already (by a proposal not yet in the read models) are skipped.
    """
    identity = current_identity(commands.store)
    if identity is None:
        raise NotAllowed("identity", "run `identity init --party P` before proposing")
    number = made(identity.party_id) + 1
    uow = commands.new_unit_of_work()
    while uow.state(aggregate, f"{identity.party_id}-{number}") is not None:
        number += 1
    return f"{identity.party_id}-{number}"


def accept(
    commands: CommandService, meeting_id: str, proposal_id: str, provenance: Provenance
) -> Outcome:
    """Accept a proposal: settle it, and make its changes to the meeting, in one append."""

    def changes(proposal: Proposal) -> list[DomainCommand]:
        why = f"accepted proposal {proposal_id} of {proposal.proposer}: {proposal.reason}"
        made: list[DomainCommand] = []
        if proposal.start is not None and proposal.end is not None:
            made.append(
                RescheduleMeeting(
                    meeting_id=meeting_id, start=proposal.start.local, end=proposal.end.local,
                    tz=proposal.tz, fold=proposal.start.fold, reason=why,
                )
            )  # fmt: skip
        if proposal.venue is not None:
            made.append(AmendMeeting(meeting_id=meeting_id, venue=proposal.venue))
        return made

    settle = AcceptProposal(proposal_id=proposal_id, meeting_id=meeting_id)
    return accept_with(commands, settle, PROPOSAL, changes, provenance)


class _Proposed(Protocol):
    @property
    def proposer(self) -> str: ...
    @property
    def reason(self) -> str: ...


P = TypeVar("P", bound=_Proposed)


def accept_with(
    commands: CommandService,
    settle: DomainCommand,
    aggregate: Aggregate[P],
    changes: Callable[[P], list[DomainCommand]],
    provenance: Provenance,
) -> Outcome:
    """Settle a proposal as accepted and make ``changes(proposal)`` with it, in one append."""
    uow = commands.new_unit_of_work()
    now = commands.clock()
    handle(uow, settle, now, commands.directory)
    proposal_id = aggregate.target(settle)
    proposal = uow.state(aggregate, proposal_id)
    if proposal is None:  # pragma: no cover - handle() has refused an unknown proposal
        raise UnknownId(aggregate.name, proposal_id)
    for change in changes(proposal):
        handle(uow, change, now, commands.directory)
    why = f"accepted {aggregate.name} {proposal_id} of {proposal.proposer}: {proposal.reason}"
    metadata = {**provenance.metadata(type(settle).__name__), "reason": why}
    return Outcome(proposal_id, uow.commit(metadata))
