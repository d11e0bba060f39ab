"""The append-only event log on SQLAlchemy Core, for SQLite and PostgreSQL.

Appends are serialised on the single ``event_log_head`` row (``BEGIN IMMEDIATE`` on SQLite,
``SELECT … FOR UPDATE`` on PostgreSQL), so positions are gap-free and in commit order, and
each row can be hash-chained to the one before it. Listeners run inside the same transaction:
read models and their checkpoints commit or roll back with the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from consultations.adapters.database import IN_CLAUSE_CHUNK, chunks, write_transaction
from consultations.adapters.eventlog.guards import IntegrityReport, integrity_report
from consultations.adapters.eventlog.hash_chain import ChainReport
from consultations.adapters.eventlog.mapper import EventMapper
from consultations.adapters.eventlog.port import (
    Append,
    Appended,
    EventLog,
    RecordedEvent,
    earlier_of,
)
from consultations.adapters.eventlog.records import (
    ENVELOPE_COLUMNS,
    EnvelopeRows,
    assumed_versions,
    chained_rows,
    check_appends,
    check_versions,
    recorded,
    repeated_result,
    verify_rows,
)
from consultations.adapters.eventlog.upcasting import UpcasterRegistry
from consultations.adapters.orm import event_log_head, events, idempotency_keys

VERIFY_BATCH = 100
"""Rows read at a time to verify. The daemon verifies at start and keeps the memory it
peaked at: 1,000 rows at a time cost it 6 MB more than none, 100 rows nothing measurable."""

# Statements built once: constructing a query costs more than running a cached one.
_LOCK_HEAD = sa.select(event_log_head).where(event_log_head.c.id == 1).with_for_update()
_HEAD_POSITION = sa.select(event_log_head.c.position).where(event_log_head.c.id == 1)
_HEAD = sa.select(event_log_head.c.position, event_log_head.c.hash).where(event_log_head.c.id == 1)
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
    idempotency_keys.c.first_position,
    idempotency_keys.c.last_position,
    idempotency_keys.c.fingerprint,
).where(idempotency_keys.c.key == sa.bindparam("key"))
# What an envelope needs, in EnvelopeRows' order; JSON and times as the text stored, which
# EnvelopeRows parses faster than SQLAlchemy's result processors do.
_AS_TEXT = {"payload", "metadata", "occurred_at", "recorded_at"}
_ENVELOPE = tuple(
    sa.type_coerce(events.c[name], sa.Text).label(name) if name in _AS_TEXT else events.c[name]
    for name in ENVELOPE_COLUMNS
)
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
_READ_STREAMS_UP_TO = _READ_STREAMS.where(events.c.position <= sa.bindparam("up_to"))


Listener = Callable[[Connection, Sequence[RecordedEvent]], None]
"""Called inside the append transaction with the events just written."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqlEventLog(EventLog):
    """The event log over an engine whose schema was created by the Alembic migrations."""

    def __init__(
        self,
        engine: Engine,
        *,
        mapper: EventMapper | None = None,
        clock: Callable[[], datetime] = _utc_now,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.engine = engine
        self.mapper = mapper or EventMapper(UpcasterRegistry())
        self._clock = clock
        self.listeners = list(listeners)

    # -- writing -------------------------------------------------------------------------

    def append_many(
        self,
        appends: Sequence[Append],
        *,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> list[int]:
        """Append to several streams at once: each expected version holds, or nothing is written.

        Listeners run in the same transaction: if one raises, nothing is written. A repeated
        key returns the first result (see ``EventLog.append_many``).
        """
        check_appends(appends)
        try:
            return self._append_many(appends, metadata, idempotency_key, fingerprint)
        except sa.exc.IntegrityError:
            # The unique (stream, version) index refused a row: a stream taken to be at its
            # expected version (see ``assumed_versions``) had moved on. Name it, as the
            # version check does; anything else is re-raised.
            with self.engine.connect() as connection:
                streams = {item.stream_id for item in appends}
                check_versions(appends, self._stream_versions(connection, streams))
            raise

    def _append_many(
        self,
        appends: Sequence[Append],
        metadata: Mapping[str, Any] | None,
        idempotency_key: str | None,
        fingerprint: str | None,
    ) -> list[int]:
        with write_transaction(self.engine) as connection:
            head = connection.execute(_LOCK_HEAD).mappings().one()
            if idempotency_key is not None:
                previous = self._recorded_result(connection, idempotency_key, fingerprint)
                if previous is not None:
                    return previous
            # The head is locked: at position 0 no stream has events, so nothing to look up.
            versions = assumed_versions(appends) if head["position"] else {}
            unknown = {item.stream_id for item in appends} - versions.keys()
            if unknown and head["position"]:
                versions.update(self._stream_versions(connection, unknown))
            rows, envelopes = chained_rows(
                self.mapper,
                appends,
                metadata or {},
                versions,
                (head["position"], head["hash"], head["recorded_at"]),
                self._clock(),
            )
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
                        "fingerprint": fingerprint,
                    },
                )
            batch = Appended(envelopes, earlier_of(appends))
            for listener in self.listeners:
                listener(connection, batch)
            return positions

    @staticmethod
    def _stream_versions(connection: Connection, stream_ids: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        if len(stream_ids) == 1:  # the usual case; an IN list is rendered anew every time
            (stream_id,) = stream_ids
            version = connection.execute(_STREAM_VERSION, {"stream_id": stream_id}).scalar()
            return {} if version is None else {stream_id: version}
        for chunk in chunks(stream_ids):
            rows = connection.execute(_STREAM_VERSIONS, {"stream_ids": chunk})
            found.update({row[0]: row[1] for row in rows})
        return found

    # -- reading -------------------------------------------------------------------------

    def recorded_result(
        self, idempotency_key: str, fingerprint: str | None = None
    ) -> list[int] | None:
        """Positions appended by the first command with this key, or None if it is new."""
        with self.engine.connect() as connection:
            return self._recorded_result(connection, idempotency_key, fingerprint)

    @staticmethod
    def _recorded_result(
        connection: Connection, key: str, fingerprint: str | None
    ) -> list[int] | None:
        row = connection.execute(_RECORDED_RESULT, {"key": key}).one_or_none()
        if row is None:
            return None
        return repeated_result(
            key, row.first_position, row.last_position, row.fingerprint, fingerprint
        )

    def stream_version(self, stream_id: str) -> int:
        """The number of events in a stream (0 when it does not exist)."""
        with self.engine.connect() as connection:
            return self._stream_versions(connection, {stream_id}).get(stream_id, 0)

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """All events of one stream after ``after_version``, oldest first."""
        parameters = {"stream_id": stream_id, "after_version": after_version}
        with self.engine.connect() as connection:
            rows = connection.execute(_READ_STREAM, parameters).mappings()
            return [recorded(row, self.mapper) for row in rows]

    def read_streams(
        self,
        stream_ids: Iterable[str],
        *,
        up_to: int | None = None,
        connection: Connection | None = None,
    ) -> dict[str, list[RecordedEvent]]:
        """Every event of each given stream, oldest first; streams without events are left out.

        One query per few hundred streams. Without ``connection``, each stream is as of its
        query: appending at the versions read fails with ``ConcurrencyConflict`` if a stream
        has moved on since. With one (a projection inside the append or rebuild transaction),
        only the events at or before ``up_to`` are read, on that connection.
        """
        wanted = set(stream_ids)
        if connection is not None:
            return self._read_streams(connection, wanted, up_to)
        if not wanted:
            return {}
        if len(wanted) == 1 and up_to is None:
            (stream_id,) = wanted
            stream = self.read_stream(stream_id)
            return {stream_id: stream} if stream else {}
        with self.engine.connect() as own:
            if len(wanted) > IN_CLAUSE_CHUNK and not own.execute(_HEAD_POSITION).scalar():
                return {}  # an empty log: no need to look each stream up
            return self._read_streams(own, wanted, up_to)

    def _read_streams(
        self, connection: Connection, wanted: set[str], up_to: int | None
    ) -> dict[str, list[RecordedEvent]]:
        found: dict[str, list[RecordedEvent]] = {}
        query = _READ_STREAMS if up_to is None else _READ_STREAMS_UP_TO
        for chunk in chunks(wanted):
            parameters: dict[str, Any] = {"stream_ids": chunk}
            if up_to is not None:
                parameters["up_to"] = up_to
            for row in connection.execute(query, parameters).mappings():
                event = recorded(row, self.mapper)
                found.setdefault(event.stream_id, []).append(event)
        return found

    def read(
        self,
        after: int = 0,
        *,
        up_to: int | None = None,
        stream_id: str | None = None,
        batch_size: int = 1000,
        connection: Connection | None = None,
    ) -> Iterator[list[RecordedEvent]]:
        """The log in position order after ``after`` (to ``up_to``), one batch at a time.

        Without ``connection`` each batch is read in a connection of its own, so appends made
        while a reader is part-way through are seen by its later batches. With one (a rebuild
        inside the write transaction), every batch is read on it.
        """
        envelopes = EnvelopeRows(self.mapper)
        for rows in self._row_batches(
            after, up_to, stream_id, batch_size, connection, columns=_ENVELOPE
        ):
            yield envelopes(rows)

    def _row_batches(
        self,
        after: int,
        up_to: int | None,
        stream_id: str | None,
        batch_size: int,
        connection: Connection | None,
        *,
        columns: Sequence[Any] = (events,),
    ) -> Iterator[Sequence[Row[Any]]]:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        # Keyset pagination: safe across transactions because positions are gap-free and
        # committed in order, so a later batch never finds a row an earlier one skipped.
        while up_to is None or after < up_to:
            query = sa.select(*columns).where(events.c.position > after)
            if up_to is not None:
                query = query.where(events.c.position <= up_to)
            if stream_id is not None:
                query = query.where(events.c.stream_id == stream_id)
            query = query.order_by(events.c.position).limit(batch_size)
            if connection is not None:
                batch = connection.execute(query).all()
            else:
                with self.engine.connect() as own:
                    batch = own.execute(query).all()
            if batch:
                yield batch
            if len(batch) < batch_size:
                return
            after = batch[-1].position

    def head(self, connection: Connection | None = None) -> tuple[int, str]:
        """The position and hash of the last event (0 and the genesis hash for an empty log)."""
        if connection is None:
            with self.engine.connect() as own:
                return self.head(own)
        row = connection.execute(_HEAD).one()
        return int(row.position), str(row.hash)

    def lock_head(self, connection: Connection) -> int:
        """Lock the head row as an append does (no append interleaves); return its position."""
        return int(connection.execute(_LOCK_HEAD).mappings().one()["position"])

    def verify(self, *, batch_size: int = VERIFY_BATCH) -> ChainReport:
        """Recompute the hash chain over the rows as stored, and check the head against it."""
        rows = (
            row._mapping
            for batch in self._row_batches(0, None, None, batch_size, None)
            for row in batch
        )
        return verify_rows(rows, self.head)

    def verify_integrity(self, *, batch_size: int = VERIFY_BATCH) -> IntegrityReport:
        """:meth:`verify`, plus the append-only guards (the triggers) checked in place.

        The one report ``events verify``, ``db upgrade``, the daemon and the feed server use.
        """
        chain = self.verify(batch_size=batch_size)
        with self.engine.connect() as connection:
            return integrity_report(chain, connection)

    # -- copying ---------------------------------------------------------------------------

    def copy_prefix(self, target: Engine, moment: datetime, *, batch_size: int = 5000) -> int:
        """Copy the events recorded at or before ``moment`` into ``target``'s empty log.

        ``recorded_at`` never decreases along positions, so those events are a prefix of the
        log; they are copied as stored (same payloads, hashes and head). Returns the count.
        """
        after, last, copied = 0, None, 0
        with write_transaction(target) as destination:
            while True:
                query = (
                    sa.select(events)
                    .where(events.c.position > after, events.c.recorded_at <= moment)
                    .order_by(events.c.position)
                    .limit(batch_size)
                )
                with self.engine.connect() as connection:
                    rows = [dict(row) for row in connection.execute(query).mappings()]
                if not rows:
                    break
                destination.execute(_INSERT_EVENTS, rows)
                after, last, copied = rows[-1]["position"], rows[-1], copied + len(rows)
            if last is not None:
                destination.execute(
                    event_log_head.update().values(
                        position=last["position"],
                        hash=last["hash"],
                        recorded_at=last["recorded_at"],
                    )
                )
        return copied
