"""Area aggregate: a cooperation area such as ``energy`` or ``culture``."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from consultations.domain.commands import AreaCommand
from consultations.domain.errors import NotAllowed
from consultations.domain.events import AreaEvent, AreaRegistered
from consultations.domain.validation import require_aware, validate_id, validate_line


@dataclass(frozen=True, slots=True)
class Area:
    """Current state of an area; ``version`` counts the events folded into it."""

    id: str
    name: str
    version: int


def decide(state: Area | None, command: AreaCommand, now: datetime) -> tuple[AreaEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = not registered yet)."""
    require_aware(now)
    validate_id(command.area_id)
    if state is not None:
        raise NotAllowed("id", f"area {command.area_id!r} already exists")
    return (AreaRegistered(command.area_id, validate_line(command.name, "name")),)


def evolve(state: Area | None, event: AreaEvent) -> Area:
    """Apply one event to the state."""
    if state is not None:
        raise ValueError(f"area {event.area_id!r} registered twice in its stream")
    return Area(event.area_id, event.name, version=1)


def fold(events: Iterable[AreaEvent]) -> Area | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Area | None = None
    for event in events:
        state = evolve(state, event)
    return state
