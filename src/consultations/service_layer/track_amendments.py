"""Amendments: changes of a joint track proposed by a party that did not add it.

Accepting one is the track creator's own change of the track (an amendment, a
retirement), recorded in one append with the acceptance.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Protocol

from consultations.domain.aggregates import AMENDMENT
from consultations.domain.commands import (
    AcceptAmendment,
    AmendTrack,
    DomainCommand,
    ProposeAmendment,
    RetireTrack,
)
from consultations.domain.events import TrackAmended
from consultations.domain.track_amendments import Amendment
from consultations.service_layer.meeting_proposals import accept_with, next_id
from consultations.service_layer.services import CommandService, Outcome, Provenance


class AmendmentCount(Protocol):
    """What the read models know of the amendments proposed so far."""

    def amendments_made_by(self, party: str) -> int:
        """How many amendments ``party`` has proposed."""


def propose(
    commands: CommandService,
    made: AmendmentCount,
    track_id: str,
    *,
    amendment: AmendTrack | None = None,
    retire_on: date | None = None,
    reason: str,
    provenance: Provenance,
    idempotency_key: str | None = None,
) -> Outcome:
    """Propose a change of a track to the party that added it; the id is ``<party>-<n>``."""
    command = ProposeAmendment(
        amendment_id=next_id(commands, AMENDMENT, made.amendments_made_by),
        track_id=track_id,
        reason=reason,
        amendment=amendment,
        retire_on=retire_on,
    )
    return commands.execute(command, provenance, idempotency_key)


def accept(
    commands: CommandService, track_id: str, amendment_id: str, provenance: Provenance
) -> Outcome:
    """Accept an amendment: settle it, and make its changes to the track, in one append."""

    def changes(proposed: Amendment) -> list[DomainCommand]:
        made: list[DomainCommand] = []
        if proposed.amendment is not None:
            made.append(_as_command(proposed.amendment))
        if proposed.retire_on is not None:
            made.append(RetireTrack(track_id=track_id, on=proposed.retire_on))
        return made

    settle = AcceptAmendment(amendment_id=amendment_id, track_id=track_id)
    return accept_with(commands, settle, AMENDMENT, changes, provenance)


def _as_command(amended: TrackAmended) -> AmendTrack:
    """The command that makes the change ``amended`` records (the same fields)."""
    return AmendTrack(**{field.name: getattr(amended, field.name) for field in fields(amended)})
