"""The event log, owned by this package alone: no other module reads or writes its tables.

``port`` is what the application sees (the :class:`EventLog` protocol, the one envelope
:class:`RecordedEvent`, :class:`Append`, :class:`Appended`, :class:`ConcurrencyConflict`,
:class:`IdempotencyKeyReused`); ``sql`` and ``memory`` implement it; ``mapper`` (with an
injected ``upcasting`` registry) turns domain events into stored rows and back;
``hash_chain`` and ``records`` keep every backend's rows, hashes and chain the same.
"""

from consultations.adapters.eventlog.hash_chain import ChainReport
from consultations.adapters.eventlog.mapper import EventMapper, UnknownEventType
from consultations.adapters.eventlog.memory import InMemoryEventLog
from consultations.adapters.eventlog.port import (
    Append,
    Appended,
    ConcurrencyConflict,
    EventLog,
    IdempotencyKeyReused,
    RecordedEvent,
)
from consultations.adapters.eventlog.sql import SqlEventLog
from consultations.adapters.eventlog.upcasting import UpcasterRegistry

__all__ = [
    "Append",
    "Appended",
    "ChainReport",
    "ConcurrencyConflict",
    "EventLog",
    "EventMapper",
    "IdempotencyKeyReused",
    "InMemoryEventLog",
    "RecordedEvent",
    "SqlEventLog",
    "UnknownEventType",
    "UpcasterRegistry",
]
