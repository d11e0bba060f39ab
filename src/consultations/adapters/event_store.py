"""The append-only event log on SQLAlchemy Core, for SQLite and PostgreSQL.

Appends are serialised on the single ``event_log_head`` row (``BEGIN IMMEDIATE`` on SQLite,
``SELECT … FOR UPDATE`` on PostgreSQL), so positions are gap-free and in commit order, and
each row can be hash-chained to the one before it. Listeners run inside the same transaction:
read models and their checkpoints commit or roll back with the events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from consultations.adapters.database import write_transaction
from consultations.adapters.hash_chain import ChainReport, canonical_json, row_hash, verify_chain
from consultations.adapters.orm import event_log_head, events, idempotency_keys
from consultations.adapters.upcasting import UpcasterRegistry

_IN_CLAUSE_CHUNK = 500


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


Listener = Callable[[Connection, Sequence[StoredEvent]], None]
"""Called inside the append transaction with the events just written."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _json_native(value: Mapping[str, Any]) -> dict[str, Any]:
    # What is hashed must be exactly what will be read back (tuples become lists, etc.).
    result: dict[str, Any] = json.loads(canonical_json(value))
    return result


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
            head = (
                connection.execute(
                    sa.select(event_log_head).where(event_log_head.c.id == 1).with_for_update()
                )
                .mappings()
                .one()
            )
            if idempotency_key is not None:
                previous = self._recorded_result(connection, idempotency_key)
                if previous is not None:
                    return previous
            rows = self._new_rows(connection, head, appends)
            if not rows:
                return []
            connection.execute(events.insert(), rows)
            last = rows[-1]
            connection.execute(
                event_log_head.update()
                .where(event_log_head.c.id == 1)
                .values(
                    position=last["position"], hash=last["hash"], recorded_at=last["recorded_at"]
                )
            )
            positions = [row["position"] for row in rows]
            if idempotency_key is not None:
                connection.execute(
                    idempotency_keys.insert().values(
                        key=idempotency_key,
                        first_position=positions[0],
                        last_position=positions[-1],
                        recorded_at=last["recorded_at"],
                    )
                )
            if self._listeners:
                stored = [self._to_stored(row, upcast=True) for row in rows]
                for listener in self._listeners:
                    listener(connection, stored)
            return positions

    def _new_rows(
        self, connection: Connection, head: RowMapping, appends: Sequence[Append]
    ) -> list[dict[str, Any]]:
        versions = self._stream_versions(connection, {item.stream_id for item in appends})
        recorded_at = self._clock()
        if head["recorded_at"] is not None and recorded_at < head["recorded_at"]:
            recorded_at = head["recorded_at"]  # keep recorded_at monotonic along positions
        position, prev_hash = head["position"], head["hash"]
        rows: list[dict[str, Any]] = []
        for item in appends:
            actual = versions.get(item.stream_id, 0)
            if actual != item.expected_version:
                raise ConcurrencyConflict(item.stream_id, item.expected_version, actual)
            for new in item.events:
                position += 1
                actual += 1
                row: dict[str, Any] = {
                    "position": position,
                    "stream_id": item.stream_id,
                    "stream_version": actual,
                    "event_type": new.event_type,
                    "schema_version": new.schema_version,
                    "payload": _json_native(new.payload),
                    "metadata": _json_native(new.metadata),
                    "occurred_at": new.occurred_at or recorded_at,
                    "recorded_at": recorded_at,
                    "prev_hash": prev_hash,
                }
                row["hash"] = prev_hash = row_hash(row, prev_hash)
                rows.append(row)
            versions[item.stream_id] = actual
        return rows

    @staticmethod
    def _stream_versions(connection: Connection, stream_ids: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        ordered = sorted(stream_ids)
        for start in range(0, len(ordered), _IN_CLAUSE_CHUNK):
            chunk = ordered[start : start + _IN_CLAUSE_CHUNK]
            query = (
                sa.select(events.c.stream_id, sa.func.max(events.c.stream_version))
                .where(events.c.stream_id.in_(chunk))
                .group_by(events.c.stream_id)
            )
            found.update({row[0]: row[1] for row in connection.execute(query)})
        return found

    # -- reading -------------------------------------------------------------------------

    def recorded_result(self, idempotency_key: str) -> list[int] | None:
        """Positions appended by the first command with this key, or None if it is new."""
        with self.engine.connect() as connection:
            return self._recorded_result(connection, idempotency_key)

    @staticmethod
    def _recorded_result(connection: Connection, key: str) -> list[int] | None:
        row = connection.execute(
            sa.select(idempotency_keys.c.first_position, idempotency_keys.c.last_position).where(
                idempotency_keys.c.key == key
            )
        ).one_or_none()
        return None if row is None else list(range(row.first_position, row.last_position + 1))

    def stream_version(self, stream_id: str) -> int:
        """The number of events in a stream (0 when it does not exist)."""
        with self.engine.connect() as connection:
            return self._stream_versions(connection, {stream_id}).get(stream_id, 0)

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        """All events of one stream after ``after_version``, oldest first."""
        query = (
            sa.select(events)
            .where(events.c.stream_id == stream_id, events.c.stream_version > after_version)
            .order_by(events.c.stream_version)
        )
        with self.engine.connect() as connection:
            return [
                self._to_stored(row, upcast=True) for row in connection.execute(query).mappings()
            ]

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

    def _to_stored(self, row: Mapping[Any, Any], *, upcast: bool) -> StoredEvent:
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
        )
