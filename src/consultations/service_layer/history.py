"""Current state and full history of one aggregate, straight from its stream."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from consultations.adapters.eventlog import EventLog, RecordedEvent
from consultations.domain import areas, feeds, meetings, parties, tracks
from consultations.domain.errors import NotFound
from consultations.domain.validation import validate_id

_FOLDS: dict[str, Callable[[Iterable[Any]], Any]] = {
    "party": parties.fold,
    "area": areas.fold,
    "track": tracks.fold,
    "meeting": meetings.fold,
    "feed": feeds.fold,
}


@dataclass(frozen=True, slots=True)
class AggregateHistory:
    """The folded state (a domain dataclass) and the stored events it came from."""

    state: Any
    events: list[RecordedEvent]


def aggregate_history(store: EventLog, noun: str, aggregate_id: str) -> AggregateHistory:
    """Load ``<noun>-<id>``; NotFound when the stream is empty."""
    validate_id(aggregate_id, noun)
    stored = store.read_stream(f"{noun}-{aggregate_id}")
    if not stored:
        raise NotFound(noun, f"no {noun} {aggregate_id!r}")
    state = _FOLDS[noun](event.event for event in stored)
    return AggregateHistory(state, stored)
