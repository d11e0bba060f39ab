"""The event log as the rest of the application sees it: one envelope, one protocol.

Writers hand the log domain events; readers get them back decoded, inside a
:class:`RecordedEvent` that says where, when and by whom each was recorded. How events are
stored (payload JSON, schema versions, upcasting, the hash chain) stays inside the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from consultations.adapters.eventlog.hash_chain import ChainReport
from consultations.adapters.eventlog.mapper import EventMapper
from consultations.domain.events import DomainEvent


class ConcurrencyConflict(Exception):
    """A stream moved on since the caller read it: the append was refused, nothing was written."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"{stream_id}: expected version {expected}, but the stream is at version {actual}"
        )
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


class IdempotencyKeyReused(Exception):
    """An idempotency key came back with a different command: refused, nothing was written."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was used for a different command")
        self.key = key


@dataclass(frozen=True, slots=True)
class Append:
    """New events for one stream, expected to be at ``expected_version`` (0 = new stream).

    ``metadata``, when given, is stored with these events instead of the append call's: events
    received from another instance keep where they came from (their origin and its position).
    """

    stream_id: str
    expected_version: int
    events: Sequence[DomainEvent]
    metadata: Mapping[str, Any] | None = None
    earlier: Sequence[RecordedEvent] | None = None
    """The stream's events as the writer read them (all ``expected_version`` of them), if
    it has them: listeners get them with the batch (:class:`Appended`) instead of reading
    them again."""


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A domain event as recorded in the log: where, when, with what metadata and hash."""

    position: int
    stream_id: str
    stream_version: int
    event: DomainEvent
    metadata: Mapping[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    hash: str

    @property
    def event_type(self) -> str:
        """The stored name of the event's type (its class name)."""
        return type(self.event).__name__


class Appended(tuple[RecordedEvent, ...]):
    """The events of one append, in order, as its listeners get them.

    ``earlier`` holds, for the streams whose writer gave them (:attr:`Append.earlier`), every
    event of the stream before this batch. The append checked, with the log locked, that
    each such stream was at the version they end at; the log never changes what it holds,
    so they are the stream's events before the batch.
    """

    earlier: Mapping[str, Sequence[RecordedEvent]]

    def __new__(
        cls,
        events: Sequence[RecordedEvent],
        earlier: Mapping[str, Sequence[RecordedEvent]] | None = None,
    ) -> Appended:
        """The batch ``events``, with ``earlier`` (default: none known)."""
        batch = super().__new__(cls, events)
        batch.earlier = earlier or {}
        return batch


def earlier_of(appends: Sequence[Append]) -> dict[str, Sequence[RecordedEvent]]:
    """The earlier events the writer gave with the first append to each stream.

    Only a complete history counts: as many events of the stream as the version expected,
    the last one at that version.
    """
    found: dict[str, Sequence[RecordedEvent]] = {}
    seen: set[str] = set()
    for item in appends:
        if item.stream_id in seen:
            continue
        seen.add(item.stream_id)
        earlier = item.earlier
        if (
            earlier is not None
            and len(earlier) == item.expected_version
            and all(recorded.stream_id == item.stream_id for recorded in earlier)
            and (not earlier or earlier[-1].stream_version == item.expected_version)
        ):
            found[item.stream_id] = earlier
    return found


class EventLog(Protocol):
    """An append-only log of streams, positions gap-free and in commit order."""

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        *,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> list[int]:
        """Append to one stream; return the new positions (a repeated key: the first result)."""
        return self.append_many(
            [Append(stream_id, expected_version, events)],
            metadata=metadata,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )

    def append_many(
        self,
        appends: Sequence[Append],
        *,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> list[int]:
        """Append to several streams at once: each expected version holds, or nothing is written.

        A key already recorded returns the first result and appends nothing; ``fingerprint``
        (of the command) is kept with a new key. Raises ConcurrencyConflict when a stream is
        not at its expected version, IdempotencyKeyReused (see :func:`repeated_result`).
        """
        ...

    mapper: EventMapper
    """How events are stored: what another instance is sent, and how what it sent is read."""

    def read(
        self,
        after: int = 0,
        *,
        up_to: int | None = None,
        stream_id: str | None = None,
        batch_size: int = 1000,
    ) -> Iterator[list[RecordedEvent]]:
        """The log in position order after ``after`` (to ``up_to``), one batch at a time."""
        ...

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """All events of one stream after ``after_version``, oldest first."""
        ...

    def read_streams(self, stream_ids: Iterable[str]) -> dict[str, list[RecordedEvent]]:
        """Every event of each given stream, oldest first; streams without events left out."""
        ...

    def stream_version(self, stream_id: str) -> int:
        """The number of events in a stream (0 when it does not exist)."""
        ...

    def recorded_result(
        self, idempotency_key: str, fingerprint: str | None = None
    ) -> list[int] | None:
        """Positions appended by the first command with this key, or None if it is new.

        Raises IdempotencyKeyReused when the key was recorded for another command.
        """
        ...

    def head(self) -> tuple[int, str]:
        """The position and hash of the last event (0 and the genesis hash for an empty log)."""
        ...

    def verify(self) -> ChainReport:
        """Check the stored log (hash chain and head); name the first bad position."""
        ...
