"""Current state and full history of one aggregate, straight from its stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consultations.adapters.eventlog import EventLog, RecordedEvent
from consultations.domain.aggregates import named
from consultations.domain.errors import UnknownId
from consultations.domain.validation import validate_id


@dataclass(frozen=True, slots=True)
class AggregateHistory:
    """The folded state (a domain dataclass) and the stored events it came from."""

    state: Any
    events: list[RecordedEvent]


def aggregate_history(store: EventLog, noun: str, aggregate_id: str) -> AggregateHistory:
    """Load ``<noun>-<id>``; NotFound when the stream is empty."""
    validate_id(aggregate_id, noun)
    aggregate = named(noun)
    stored = store.read_stream(aggregate.stream_id(aggregate_id))
    if not stored:
        raise UnknownId(noun, aggregate_id)
    state = aggregate.fold(event.event for event in stored)
    return AggregateHistory(state, stored)
