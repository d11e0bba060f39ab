"""A unit of work over the event log: load streams, record decisions, append them at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from consultations.adapters.eventlog import Append, EventLog, RecordedEvent
from consultations.domain.aggregates import Aggregate
from consultations.domain.events import DomainEvent

State = TypeVar("State")


class UnitOfWork:
    """Streams read once, decisions kept in memory; ``commit`` appends every stream together.

    Each stream is appended at the version it had when it was first read, so a concurrent
    writer makes the whole commit fail with ``ConcurrencyConflict`` rather than interleave.
    """

    def __init__(self, store: EventLog) -> None:
        self.store = store
        self._versions: dict[str, int] = {}  # of each stream read, as read
        self._stored: dict[str, list[DomainEvent]] = {}  # of each stream read, as read
        self._recorded: dict[str, Sequence[RecordedEvent]] = {}  # the same, with metadata
        self._pending: dict[str, list[DomainEvent]] = {}
        # Events with metadata of their own (from another instance), in the order recorded,
        # and the same by stream.
        self._foreign: list[tuple[str, DomainEvent, Mapping[str, Any]]] = []
        self._received: dict[str, list[DomainEvent]] = {}
        self._states: dict[str, dict[Callable[..., Any], Any]] = {}
        self._warnings: list[str] = []

    def events(self, stream_id: str) -> list[DomainEvent]:
        """The stream's events: those in the log, then those recorded in this unit of work."""
        if stream_id not in self._versions:
            self._remember(stream_id, self.store.read_stream(stream_id))
        received = self._received.get(stream_id, [])
        return [*self._stored[stream_id], *self._pending.get(stream_id, []), *received]

    def has_read(self, stream_id: str) -> bool:
        """True once the stream was read (or preloaded): ``events`` will not query for it."""
        return stream_id in self._versions

    def preload(self, stream_ids: Iterable[str]) -> None:
        """Read every given stream not read yet, together: one query per few hundred streams.

        A stream read here and found empty is remembered as new, like one read by ``events``.
        """
        missing = {stream_id for stream_id in stream_ids if stream_id not in self._versions}
        if not missing:
            return
        found = self.store.read_streams(missing)
        for stream_id in missing:
            self._remember(stream_id, found.get(stream_id, []))

    def _remember(self, stream_id: str, stored: Sequence[RecordedEvent]) -> None:
        self._versions[stream_id] = stored[-1].stream_version if stored else 0
        self._stored[stream_id] = [recorded.event for recorded in stored]
        self._recorded[stream_id] = stored

    def folded(self, stream_id: str, fold: Callable[[Iterable[Any]], State]) -> State:
        """``fold`` of the stream's events, kept until events are recorded to the stream.

        For state that many commands of one batch look at (a track, for each of its meetings).
        ``fold`` must return immutable state.
        """
        states = self._states.setdefault(stream_id, {})
        if fold not in states:
            states[fold] = fold(self.events(stream_id))
        state: State = states[fold]
        return state

    def state(self, aggregate: Aggregate[State], aggregate_id: str) -> State | None:
        """The current state of one aggregate (None when it has no events), kept like ``folded``."""
        return self.folded(aggregate.stream_id(aggregate_id), aggregate.fold)

    def exists(self, stream_id: str) -> bool:
        """True when the stream has any event, stored or pending."""
        if stream_id not in self._versions:
            self._remember(stream_id, self.store.read_stream(stream_id))
        return self._versions[stream_id] > 0 or bool(self.events(stream_id))

    def record(self, stream_id: str, new_events: Sequence[DomainEvent]) -> None:
        """Keep decided events for ``commit``; the stream must have been read first."""
        if stream_id not in self._versions:
            raise RuntimeError(f"{stream_id} was not read before recording events to it")
        if new_events:
            self._pending.setdefault(stream_id, []).extend(new_events)
            self._states.pop(stream_id, None)

    def record_received(
        self, stream_id: str, event: DomainEvent, metadata: Mapping[str, Any]
    ) -> None:
        """Keep an event another instance recorded, stored with its own ``metadata``.

        Appended after the decided events, in the order received; the stream must have been
        read first.
        """
        if stream_id not in self._versions:
            raise RuntimeError(f"{stream_id} was not read before recording events to it")
        self._foreign.append((stream_id, event, metadata))
        self._received.setdefault(stream_id, []).append(event)
        self._states.pop(stream_id, None)

    @property
    def recorded(self) -> Mapping[str, Sequence[RecordedEvent]]:
        """Every stream read so far as it was in the log (who recorded what, when), by stream."""
        return self._recorded

    @property
    def pending(self) -> Mapping[str, Sequence[DomainEvent]]:
        """Events recorded and not yet committed, by stream."""
        return self._pending

    def warn(self, warning: str) -> None:
        """Keep a warning about a decision (it stands) for the caller to show."""
        self._warnings.append(warning)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warnings about the decisions recorded and not yet committed, in order."""
        return tuple(self._warnings)

    def commit(
        self,
        metadata: Mapping[str, Any],
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> list[int]:
        """Append every pending event in one transaction; return their positions.

        ``fingerprint`` identifies the request ``idempotency_key`` is recorded for.
        """
        # Each stream's events as read go with its first append: the projections need
        # not read them again.
        appends = [
            Append(
                stream_id, self._versions[stream_id], new_events, earlier=self._recorded[stream_id]
            )
            for stream_id, new_events in self._pending.items()
            if new_events
        ]
        versions = {a.stream_id: a.expected_version + len(a.events) for a in appends}
        for stream_id, event, own in self._foreign:
            earlier = None if stream_id in versions else self._recorded[stream_id]
            version = versions.get(stream_id, self._versions[stream_id])
            appends.append(Append(stream_id, version, [event], own, earlier=earlier))
            versions[stream_id] = version + 1
        positions = (
            self.store.append_many(
                appends,
                metadata=metadata,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
            if appends
            else []
        )
        self._versions.clear()
        self._stored.clear()
        self._recorded.clear()
        self._pending.clear()
        self._foreign.clear()
        self._received.clear()
        self._states.clear()
        self._warnings.clear()
        return positions
