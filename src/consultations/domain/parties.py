"""Party aggregate: a participating institution such as ``TM-MFA``.

Besides its name and zone, a party has a working calendar: the country whose public
holidays apply, and closures (days its secretariat does not work, recorded as events).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import assert_never

from consultations.domain.commands import (
    AddPartyClosure,
    AmendParty,
    PartyCommand,
    RegisterParty,
)
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import (
    PartyAmended,
    PartyClosureAdded,
    PartyEvent,
    PartyRegistered,
)
from consultations.domain.optional import changed, map_optional
from consultations.domain.validation import (
    require_aware,
    validate_date,
    validate_email,
    validate_id,
    validate_line,
)
from consultations.domain.wall_time import parse_zone
from consultations.domain.working_calendar import Closure

_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Party:
    """Current state of a party; ``version`` counts the events folded into it."""

    id: str
    name: str
    tz: str
    departments: tuple[str, ...]
    version: int
    email: str | None = None
    country: str | None = None
    closures: tuple[Closure, ...] = ()


def validate_country(value: str, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code in capitals (``tm`` → ``TM``); InvalidInput otherwise."""
    code = value.strip().upper()
    if not _COUNTRY.fullmatch(code):
        raise InvalidInput(field, f"{value!r} is not an ISO 3166 country code such as TM or AZ")
    return code


def decide(state: Party | None, command: PartyCommand, now: datetime) -> tuple[PartyEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = not registered yet)."""
    require_aware(now)
    validate_id(command.party_id)
    match command:
        case RegisterParty():
            return _register(state, command)
        case AmendParty():
            party = _existing(state, command.party_id)
            country = changed(map_optional(command.country, validate_country), party.country)
            return () if country is None else (PartyAmended(party.id, country=country),)
        case AddPartyClosure():
            return _close(_existing(state, command.party_id), command)
        case _:
            assert_never(command)


def _register(state: Party | None, command: RegisterParty) -> tuple[PartyEvent, ...]:
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
            country=map_optional(command.country, validate_country),
        ),
    )


def _close(party: Party, command: AddPartyClosure) -> tuple[PartyEvent, ...]:
    first = validate_date(command.first, "from")
    last = validate_date(command.last, "to")
    if last < first:
        raise InvalidInput("to", f"{last} is before --from {first}")
    closure = Closure(first, last, validate_line(command.reason, "reason"))
    if closure in party.closures:
        return ()  # recorded already: a repeat changes nothing
    return (PartyClosureAdded(party.id, closure.first, closure.last, closure.reason),)


def _existing(state: Party | None, party_id: str) -> Party:
    if state is None:
        raise UnknownId("party", party_id, "id")
    return state


def evolve(state: Party | None, event: PartyEvent) -> Party:
    """Apply one event to the state.

    A later registration replaces the whole record, country and closures included: only the
    party's own instance makes one, and it reaches this log through the exchange (a
    provisional record gives way to it; the owner's amendments and closures follow it).
    """
    if isinstance(event, PartyRegistered):
        return Party(
            event.party_id,
            event.name,
            event.tz,
            event.departments,
            version=1 if state is None else state.version + 1,
            email=event.email,
            country=event.country,
        )
    if state is None:
        raise ValueError(
            f"{type(event).__name__} applied to party {event.party_id!r} before it was registered"
        )
    match event:
        case PartyAmended():
            state = replace(state, country=event.country or state.country)
        case PartyClosureAdded():
            closure = Closure(event.first, event.last, event.reason)
            state = replace(state, closures=(*state.closures, closure))
        case _:
            assert_never(event)
    return replace(state, version=state.version + 1)


def fold(events: Iterable[PartyEvent]) -> Party | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Party | None = None
    for event in events:
        state = evolve(state, event)
    return state
