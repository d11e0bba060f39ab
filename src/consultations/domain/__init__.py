"""Pure domain layer: commands, events, deciders and value objects.

Nothing here performs I/O or reads the clock; the current time is always an argument.
"""

from consultations.domain.errors import (
    DomainError,
    InvalidInput,
    NotAllowed,
    NotFound,
    UnknownId,
)
from consultations.domain.events import ALL_EVENTS, DomainEvent

__all__ = [
    "ALL_EVENTS",
    "DomainError",
    "DomainEvent",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
    "UnknownId",
]
