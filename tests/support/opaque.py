"""Events of any type and payload, for log tests that exercise storage rather than the domain.

An :class:`OpaqueMapper` stores an :class:`Opaque` event exactly as given (type name, JSON
payload, schema version, business time) and reads any stored row back as one, so a log can
be handed payloads no domain event would produce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from consultations.adapters.eventlog import EventMapper, UpcasterRegistry
from consultations.domain.events import DomainEvent


@dataclass(frozen=True)
class Opaque:
    """A stored event by its parts."""

    event_type: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = 1
    occurred_at: datetime | None = None


class OpaqueMapper(EventMapper):
    """Stores :class:`Opaque` events as they are (upcasting still applies on read)."""

    def __init__(self, upcasters: UpcasterRegistry | None = None) -> None:
        super().__init__(upcasters or UpcasterRegistry())

    def to_stored(self, event: DomainEvent) -> tuple[str, dict[str, Any], int]:
        opaque = cast(Opaque, event)
        return opaque.event_type, dict(opaque.payload), opaque.schema_version

    def occurred_at(self, event: DomainEvent) -> datetime | None:
        return cast(Opaque, event).occurred_at

    def from_stored(
        self, event_type: str, schema_version: int, payload: Mapping[str, Any]
    ) -> DomainEvent:
        version, current = self.upcasters.upcast(event_type, schema_version, payload)
        return cast(DomainEvent, Opaque(event_type, current, version))


def opaque(event_type: str, payload: Mapping[str, Any] | None = None, **parts: Any) -> DomainEvent:
    """An :class:`Opaque` event, typed as the log expects."""
    return cast(DomainEvent, Opaque(event_type, payload or {}, **parts))
