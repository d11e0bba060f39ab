"""Party aggregate: a participating institution such as ``TM-MFA``."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from consultations.domain.commands import PartyCommand
from consultations.domain.errors import InvalidInput, NotAllowed
from consultations.domain.events import PartyEvent, PartyRegistered
from consultations.domain.optional import map_optional
from consultations.domain.validation import (
    require_aware,
    validate_email,
    validate_id,
    validate_line,
)
from consultations.domain.wall_time import parse_zone


@dataclass(frozen=True, slots=True)
class Party:
    """Current state of a party; ``version`` counts the events folded into it."""

    id: str
    name: str
    tz: str
    departments: tuple[str, ...]
    version: int
    email: str | None = None


def decide(state: Party | None, command: PartyCommand, now: datetime) -> tuple[PartyEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = not registered yet)."""
    require_aware(now)
    validate_id(command.party_id)
    if state is not None:
        raise NotAllowed("id", f"party {command.party_id!r} already exists")
    parse_zone(command.tz)
    departments = tuple(validate_line(name, "departments") for name in command.departments)
    if len(set(departments)) != len(departments):
        raise InvalidInput("departments", "a department is listed twice")
    return (
        PartyRegistered(
            party_id=command.party_id,
            name=validate_line(command.name, "name"),
            tz=command.tz,
            departments=departments,
            email=map_optional(command.email, validate_email),
        ),
    )


def evolve(state: Party | None, event: PartyEvent) -> Party:
    """Apply one event to the state.

    A later registration replaces the record: only the party's own instance makes one, and
    it reaches this log through the exchange (a provisional record gives way to it).
    """
    version = 1 if state is None else state.version + 1
    return Party(
        event.party_id, event.name, event.tz, event.departments, version, email=event.email
    )


def fold(events: Iterable[PartyEvent]) -> Party | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Party | None = None
    for event in events:
        state = evolve(state, event)
    return state
