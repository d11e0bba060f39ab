"""The append-only event log on SQLAlchemy Core, for SQLite and PostgreSQL.

Appends are serialised on the single ``event_log_head`` row (``BEGIN IMMEDIATE`` on SQLite,
``SELECT … FOR UPDATE`` on PostgreSQL), so positions are gap-free and in commit order, and
each row can be hash-chained to the one before it. Listeners run inside the same transaction:
read models and their checkpoints commit or roll back with the events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from consultations.adapters.database import write_transaction
from consultations.adapters.hash_chain import (
    ChainReport,
    canonical_json,
    chained_hash,
    instant,
    verify_chain,
)
from consultations.adapters.log_guards import IntegrityReport, integrity_report
from consultations.adapters.orm import event_log_head, events, idempotency_keys
from consultations.adapters.upcasting import UpcasterRegistry
from consultations.domain.events import DomainEvent

_IN_CLAUSE_CHUNK = 500

# Statements built once: constructing a query costs more than running a cached one.
_LOCK_HEAD = sa.select(event_log_head).where(event_log_head.c.id == 1).with_for_update()
_HEAD_POSITION = sa.select(event_log_head.c.position).where(event_log_head.c.id == 1)
_MOVE_HEAD = (
    event_log_head.update()
    .where(event_log_head.c.id == 1)
    .values(
        position=sa.bindparam("new_position", type_=event_log_head.c.position.type),
        hash=sa.bindparam("new_hash", type_=event_log_head.c.hash.type),
        recorded_at=sa.bindparam("new_recorded_at", type_=event_log_head.c.recorded_at.type),
    )
)
_INSERT_EVENTS = events.insert()
_INSERT_KEY = idempotency_keys.insert()
_STREAM_VERSIONS = (
    sa.select(events.c.stream_id, sa.func.max(events.c.stream_version))
    .where(events.c.stream_id.in_(sa.bindparam("stream_ids", expanding=True)))
    .group_by(events.c.stream_id)
)
_STREAM_VERSION = sa.select(sa.func.max(events.c.stream_version)).where(
    events.c.stream_id == sa.bindparam("stream_id")
)
_RECORDED_RESULT = sa.select(
    idempotency_keys.c.first_position, idempotency_keys.c.last_position
).where(idempotency_keys.c.key == sa.bindparam("key"))
_READ_STREAM = (
    sa.select(events)
    .where(
        events.c.stream_id == sa.bindparam("stream_id"),
        events.c.stream_version > sa.bindparam("after_version"),
    )
    .order_by(events.c.stream_version)
)
_READ_STREAMS = (
    sa.select(events)
    .where(events.c.stream_id.in_(sa.bindparam("stream_ids", expanding=True)))
    .order_by(events.c.stream_id, events.c.stream_version)
)


class ConcurrencyConflict(Exception):
    """A stream moved on since the caller read it: the append was refused, nothing was written."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"{stream_id}: expected version {expected}, but the stream is at version {actual}"
        )
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended."""

    event_type: str
    payload: Mapping[str, Any]
    schema_version: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    event: DomainEvent | None = field(default=None, compare=False, repr=False)
    """The domain event the payload encodes, if the caller has it: handed on to listeners."""


@dataclass(frozen=True, slots=True)
class Append:
    """New events for one stream, expected to be at ``expected_version`` (0 = new stream)."""

    stream_id: str
    expected_version: int
    events: Sequence[NewEvent]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as read back from the log (payload upcast to the current schema)."""

    position: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    payload: Mapping[str, Any]
    metadata: Mapping[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    hash: str
    event: DomainEvent | None = field(default=None, compare=False, repr=False)
    """The domain event, when the appender supplied it (listeners need not decode the payload)."""


Listener = Callable[[Connection, Sequence[StoredEvent]], None]
"""Called inside the append transaction with the events just written."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqlEventStore:
    """Event store over an engine whose schema was created by the Alembic migrations."""

    def __init__(
        self,
        engine: Engine,
        *,
        upcasters: UpcasterRegistry | None = None,
        clock: Callable[[], datetime] = _utc_now,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.engine = engine
        self._upcasters = upcasters or UpcasterRegistry()
        self._clock = clock
        self._listeners = list(listeners)

    # -- writing -------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        idempotency_key: str | None = None,
    ) -> list[int]:
        """Append to one stream; return the new positions (a repeated key: the first result)."""
        return self.append_many([Append(stream_id, expected_version, new_events)], idempotency_key)

    def append_many(
        self, appends: Sequence[Append], idempotency_key: str | None = None
    ) -> list[int]:
        """Append to several streams at once: each expected version holds, or nothing is written."""
        for item in appends:
            if not item.stream_id:
                raise ValueError("stream_id must not be empty")
            if item.expected_version < 0:
                raise ValueError("expected_version must be >= 0")
        with write_transaction(self.engine) as connection:
            head = connection.execute(_LOCK_HEAD).mappings().one()
            if idempotency_key is not None:
                previous = self._recorded_result(connection, idempotency_key)
                if previous is not None:
                    return previous
            rows = self._new_rows(connection, head, appends)
            if not rows:
                return []
            connection.execute(_INSERT_EVENTS, rows)
            last = rows[-1]
            connection.execute(
                _MOVE_HEAD,
                {
                    "new_position": last["position"],
                    "new_hash": last["hash"],
                    "new_recorded_at": last["recorded_at"],
                },
            )
            positions = [row["position"] for row in rows]
            if idempotency_key is not None:
                connection.execute(
                    _INSERT_KEY,
                    {
                        "key": idempotency_key,
                        "first_position": positions[0],
                        "last_position": positions[-1],
                        "recorded_at": last["recorded_at"],
                    },
                )
            if self._listeners:
                carried = [new.event for item in appends for new in item.events]
                stored = [
                    self._to_stored(row, upcast=True, event=event)
                    for row, event in zip(rows, carried, strict=True)
                ]
                for listener in self._listeners:
                    listener(connection, stored)
            return positions

    def _new_rows(
        self, connection: Connection, head: RowMapping, appends: Sequence[Append]
    ) -> list[dict[str, Any]]:
        # The head is locked: at position 0 no stream has events, so nothing to look up.
        versions = (
            self._stream_versions(connection, {item.stream_id for item in appends})
            if head["position"]
            else {}
        )
        recorded_at = self._clock()
        if head["recorded_at"] is not None and recorded_at < head["recorded_at"]:
            recorded_at = head["recorded_at"]  # keep recorded_at monotonic along positions
        recorded = instant(recorded_at)
        position, prev_hash = head["position"], head["hash"]
        # One command's events share one metadata mapping: serialise it once per append.
        metadata_of: dict[int, tuple[str, dict[str, Any]]] = {}
        rows: list[dict[str, Any]] = []
        for item in appends:
            actual = versions.get(item.stream_id, 0)
            if actual != item.expected_version:
                raise ConcurrencyConflict(item.stream_id, item.expected_version, actual)
            for new in item.events:
                position += 1
                actual += 1
                # What is hashed must be exactly what will be read back (tuples become
                # lists, keys sorted, etc.), so the stored value is parsed from the hashed text.
                payload_json = canonical_json(new.payload)
                metadata = metadata_of.get(id(new.metadata))
                if metadata is None:
                    metadata_json = canonical_json(new.metadata)
                    metadata = metadata_of[id(new.metadata)] = (
                        metadata_json,
                        json.loads(metadata_json),
                    )
                occurred_at = new.occurred_at or recorded_at
                row_hash = chained_hash(
                    position,
                    item.stream_id,
                    actual,
                    new.event_type,
                    new.schema_version,
                    payload_json,
                    metadata[0],
                    recorded if new.occurred_at is None else instant(occurred_at),
                    recorded,
                    prev_hash,
                )
                rows.append(
                    {
                        "position": position,
                        "stream_id": item.stream_id,
                        "stream_version": actual,
                        "event_type": new.event_type,
                        "schema_version": new.schema_version,
                        "payload": json.loads(payload_json),
                        "metadata": metadata[1],
                        "occurred_at": occurred_at,
                        "recorded_at": recorded_at,
                        "prev_hash": prev_hash,
                        "hash": row_hash,
                    }
                )
                prev_hash = row_hash
            versions[item.stream_id] = actual
        return rows

    @staticmethod
    def _stream_versions(connection: Connection, stream_ids: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        if len(stream_ids) == 1:  # the usual case; an IN list is rendered anew every time
            (stream_id,) = stream_ids
            version = connection.execute(_STREAM_VERSION, {"stream_id": stream_id}).scalar()
            return {} if version is None else {stream_id: version}
        for chunk in _chunks(stream_ids):
            rows = connection.execute(_STREAM_VERSIONS, {"stream_ids": chunk})
            found.update({row[0]: row[1] for row in rows})
        return found

    # -- reading -------------------------------------------------------------------------

    def recorded_result(self, idempotency_key: str) -> list[int] | None:
        """Positions appended by the first command with this key, or None if it is new."""
        with self.engine.connect() as connection:
            return self._recorded_result(connection, idempotency_key)

    @staticmethod
    def _recorded_result(connection: Connection, key: str) -> list[int] | None:
        row = connection.execute(_RECORDED_RESULT, {"key": key}).one_or_none()
        return None if row is None else list(range(row.first_position, row.last_position + 1))

    def stream_version(self, stream_id: str) -> int:
        """The number of events in a stream (0 when it does not exist)."""
        with self.engine.connect() as connection:
            return self._stream_versions(connection, {stream_id}).get(stream_id, 0)

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        """All events of one stream after ``after_version``, oldest first."""
        parameters = {"stream_id": stream_id, "after_version": after_version}
        with self.engine.connect() as connection:
            rows = connection.execute(_READ_STREAM, parameters).mappings()
            return [self._to_stored(row, upcast=True) for row in rows]

    def read_streams(self, stream_ids: Iterable[str]) -> dict[str, list[StoredEvent]]:
        """Every event of each given stream, oldest first; streams without events are left out.

        One connection and one query per few hundred streams, instead of one of each per
        stream. Like separate reads, each stream is as of its query: appending at the
        versions read fails with ``ConcurrencyConflict`` if a stream has moved on since.
        """
        wanted = set(stream_ids)
        found: dict[str, list[StoredEvent]] = {}
        if not wanted:
            return found
        if len(wanted) == 1:
            (stream_id,) = wanted
            stream = self.read_stream(stream_id)
            return {stream_id: stream} if stream else found
        with self.engine.connect() as connection:
            if len(wanted) > _IN_CLAUSE_CHUNK and not connection.execute(_HEAD_POSITION).scalar():
                return found  # an empty log: no need to look each stream up
            for chunk in _chunks(wanted):
                rows = connection.execute(_READ_STREAMS, {"stream_ids": chunk}).mappings()
                for row in rows:
                    stored = self._to_stored(row, upcast=True)
                    found.setdefault(stored.stream_id, []).append(stored)
        return found

    def read_all(
        self, after: int = 0, *, batch_size: int = 1000, stream_id: str | None = None
    ) -> Iterator[StoredEvent]:
        """Stream the log in position order after ``after``, one batch in memory at a time."""
        for row in self._rows_after(after, batch_size, stream_id):
            yield self._to_stored(row, upcast=True)

    def read_raw(self, after: int = 0, *, batch_size: int = 1000) -> Iterator[StoredEvent]:
        """Like :meth:`read_all` but without upcasting: the rows exactly as stored."""
        for row in self._rows_after(after, batch_size, None):
            yield self._to_stored(row, upcast=False)

    def _rows_after(
        self, after: int, batch_size: int, stream_id: str | None
    ) -> Iterator[RowMapping]:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        # Keyset pagination: safe across transactions because positions are gap-free and
        # committed in order, so a later batch never finds a row an earlier one skipped.
        while True:
            query = sa.select(events).where(events.c.position > after)
            if stream_id is not None:
                query = query.where(events.c.stream_id == stream_id)
            query = query.order_by(events.c.position).limit(batch_size)
            with self.engine.connect() as connection:
                batch = list(connection.execute(query).mappings())
            yield from batch
            if len(batch) < batch_size:
                return
            after = batch[-1]["position"]

    def head(self) -> tuple[int, str]:
        """The position and hash of the last event (0 and the genesis hash for an empty log)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(event_log_head.c.position, event_log_head.c.hash)
            ).one()
            return int(row.position), str(row.hash)

    def verify(self, *, batch_size: int = 5000) -> ChainReport:
        """Recompute the hash chain and check the head; name the first bad position."""
        report = verify_chain(self._rows_after(0, batch_size, None))
        if not report.ok:
            return report
        position, last_hash = self.head()
        if position != report.last_position or last_hash != report.last_hash:
            return ChainReport(
                report.checked,
                report.last_position,
                report.last_hash,
                report.last_position + 1,
                f"the log head says position {position}, the log ends at {report.last_position}",
            )
        return report

    def verify_integrity(self, *, batch_size: int = 5000) -> IntegrityReport:
        """:meth:`verify`, plus the append-only guards (the triggers) checked in place.

        The one report ``events verify``, ``db upgrade``, the daemon and the feed server use.
        """
        chain = self.verify(batch_size=batch_size)
        with self.engine.connect() as connection:
            return integrity_report(chain, connection)

    def _to_stored(
        self, row: Mapping[Any, Any], *, upcast: bool, event: DomainEvent | None = None
    ) -> StoredEvent:
        version, payload = row["schema_version"], row["payload"]
        if upcast:
            version, payload = self._upcasters.upcast(row["event_type"], version, payload)
        return StoredEvent(
            position=row["position"],
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            event_type=row["event_type"],
            schema_version=version,
            payload=payload,
            metadata=row["metadata"],
            occurred_at=row["occurred_at"],
            recorded_at=row["recorded_at"],
            hash=row["hash"],
            event=event,
        )


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    """Sorted ids, in lists small enough for an IN clause."""
    ordered = sorted(values)
    for start in range(0, len(ordered), _IN_CLAUSE_CHUNK):
        yield ordered[start : start + _IN_CLAUSE_CHUNK]
