"""The event log in memory, behind the same port and with the same semantics as the SQL log.

Rows are built by the same code as the SQL log's (payloads, metadata, hashes and chain are
identical), so a test on this log tells the truth about the other. Not thread-safe: one
process, one thread, as in handler and service tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from consultations.adapters.eventlog.hash_chain import GENESIS_HASH, ChainReport
from consultations.adapters.eventlog.mapper import EventMapper
from consultations.adapters.eventlog.port import Append, EventLog, RecordedEvent
from consultations.adapters.eventlog.records import (
    Row,
    chained_rows,
    check_appends,
    recorded,
    repeated_result,
    verify_rows,
)
from consultations.adapters.eventlog.upcasting import UpcasterRegistry

MemoryListener = Callable[[Sequence[RecordedEvent]], None]
"""Called with the events just appended, before they are kept: raising discards them."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InMemoryEventLog(EventLog):
    """An event log held in lists and dicts (see the module docstring)."""

    def __init__(
        self,
        *,
        mapper: EventMapper | None = None,
        clock: Callable[[], datetime] = _utc_now,
        listeners: Sequence[MemoryListener] = (),
    ) -> None:
        self.mapper = mapper or EventMapper(UpcasterRegistry())
        self._clock = clock
        self.listeners = list(listeners)
        self._rows: list[Row] = []  # the row at position p is self._rows[p - 1]
        self._streams: dict[str, list[int]] = {}  # positions, by stream
        self._keys: dict[str, tuple[list[int], str | None]] = {}  # positions, fingerprint
        self._head: tuple[int, str, datetime | None] = (0, GENESIS_HASH, None)

    def append_many(
        self,
        appends: Sequence[Append],
        *,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> list[int]:
        """Append to several streams at once: each expected version holds, or nothing is kept."""
        check_appends(appends)
        if idempotency_key is not None:
            previous = self.recorded_result(idempotency_key, fingerprint)
            if previous is not None:
                return previous
        versions = {item.stream_id: self.stream_version(item.stream_id) for item in appends}
        rows, envelopes = chained_rows(
            self.mapper, appends, metadata or {}, versions, self._head, self._clock()
        )
        if not rows:
            return []
        for listener in self.listeners:
            listener(envelopes)
        for row in rows:
            self._rows.append(row)
            self._streams.setdefault(row["stream_id"], []).append(row["position"])
        last = rows[-1]
        self._head = (last["position"], last["hash"], last["recorded_at"])
        positions = [row["position"] for row in rows]
        if idempotency_key is not None:
            self._keys[idempotency_key] = (positions, fingerprint)
        return list(positions)

    def recorded_result(
        self, idempotency_key: str, fingerprint: str | None = None
    ) -> list[int] | None:
        """Positions appended by the first command with this key, or None if it is new."""
        if idempotency_key not in self._keys:
            return None
        positions, recorded = self._keys[idempotency_key]
        return repeated_result(idempotency_key, positions[0], positions[-1], recorded, fingerprint)

    def stream_version(self, stream_id: str) -> int:
        """The number of events in a stream (0 when it does not exist)."""
        return len(self._streams.get(stream_id, ()))

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """All events of one stream after ``after_version``, oldest first."""
        positions = self._streams.get(stream_id, [])[after_version:]
        return [recorded(self._rows[position - 1], self.mapper) for position in positions]

    def read_streams(self, stream_ids: Iterable[str]) -> dict[str, list[RecordedEvent]]:
        """Every event of each given stream, oldest first; streams without events left out."""
        return {
            stream_id: self.read_stream(stream_id)
            for stream_id in sorted(set(stream_ids))
            if stream_id in self._streams
        }

    def read(
        self,
        after: int = 0,
        *,
        up_to: int | None = None,
        stream_id: str | None = None,
        batch_size: int = 1000,
    ) -> Iterator[list[RecordedEvent]]:
        """The log in position order after ``after`` (to ``up_to``), one batch at a time.

        Like the SQL log's, each batch sees the appends made before it was read.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        while True:
            end = len(self._rows) if up_to is None else min(up_to, len(self._rows))
            rows = (self._rows[index] for index in range(max(after, 0), end))
            if stream_id is not None:
                rows = (row for row in rows if row["stream_id"] == stream_id)
            batch = [recorded(row, self.mapper) for row in itertools.islice(rows, batch_size)]
            if batch:
                yield batch
            if len(batch) < batch_size:
                return
            after = batch[-1].position

    def head(self) -> tuple[int, str]:
        """The position and hash of the last event (0 and the genesis hash for an empty log)."""
        return self._head[0], self._head[1]

    def verify(self) -> ChainReport:
        """Recompute the hash chain over the rows as kept, and check the head against it."""
        return verify_rows(list(self._rows), self.head)
