"""What every projection is: a named, versioned owner of read tables, fed with events."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.database import chunks
from consultations.adapters.eventlog import Appended, EventMapper, RecordedEvent, SqlEventLog


class Replay(Protocol):
    """One rebuild in progress: fed the whole log, batch after batch, then finished.

    Whatever a rebuild keeps between batches lives here, not in the projection, so a
    projection holds no state across calls.
    """

    def feed(self, batch: Sequence[RecordedEvent]) -> None:
        """Take the next batch of the log (events in position order)."""

    def finish(self) -> None:
        """Complete the tables after the last batch."""


class Projection(Protocol):
    """A read model. ``version`` changes whenever its rows would come out differently."""

    name: ClassVar[str]
    version: ClassVar[int]
    tables: ClassVar[tuple[sa.Table, ...]]
    reads: ClassVar[tuple[str, ...]]
    """The projections whose tables it reads: they run before it, and rebuilding one rebuilds it."""

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Bring the tables up to date with ``batch``, events appended after the last one seen."""

    def replay(self, connection: Connection) -> Replay:
        """A rebuild of the (emptied) tables from the whole log, on ``connection``."""


@dataclass(frozen=True, slots=True)
class BatchByBatch:
    """A rebuild that is the incremental update, batch after batch."""

    projection: Projection
    connection: Connection

    def feed(self, batch: Sequence[RecordedEvent]) -> None:
        """Handle the batch as if it had just been appended."""
        self.projection.handle(self.connection, batch)

    def finish(self) -> None:
        """Nothing waits for the end."""


@dataclass(frozen=True, slots=True)
class AtTheEnd:
    """A rebuild computed once from the final state of the tables it reads."""

    compute: Callable[[], None]

    def feed(self, batch: Sequence[RecordedEvent]) -> None:
        """Nothing to do until the other projections have seen the whole log."""

    def finish(self) -> None:
        """Compute everything once."""
        self.compute()


def existing(connection: Connection, key: sa.Column[Any], ids: Sequence[str]) -> list[str]:
    """Those of ``ids`` that already have a row (``key`` is the table's id column)."""
    found: list[str] = []
    query = _select_in(key)
    for chunk in chunks(ids):
        found += connection.execute(query, {"ids": chunk}).scalars()
    return found


# Statements built once per column: building a query costs more than running a cached one.
@cache
def _select_in(key: sa.Column[Any]) -> sa.Select[Any]:
    return sa.select(key).where(key.in_(sa.bindparam("ids", expanding=True)))


@cache
def _delete_in(table: sa.Table, key: sa.Column[Any]) -> sa.Delete:
    return table.delete().where(key.in_(sa.bindparam("ids", expanding=True)))


@cache
def _insert(table: sa.Table) -> sa.Insert:
    return table.insert()


def load_streams(
    connection: Connection, mapper: EventMapper, stream_ids: Iterable[str], up_to: int
) -> dict[str, list[RecordedEvent]]:
    """Every event (at or before ``up_to``) of the given streams, decoded, by stream.

    Read on ``connection``: inside the append or rebuild transaction being projected.
    """
    log = SqlEventLog(connection.engine, mapper=mapper)
    return log.read_streams(stream_ids, up_to=up_to, connection=connection)


def streams_before(
    connection: Connection,
    mapper: EventMapper,
    batch: Sequence[RecordedEvent],
    stream_ids: Iterable[str],
) -> dict[str, list[RecordedEvent]]:
    """Each given stream's events before ``batch`` (streams that ``batch`` starts: none).

    Taken from what the writer read when it has them (:class:`Appended`), else read on
    ``connection`` up to the batch.
    """
    earlier = batch.earlier if isinstance(batch, Appended) else {}
    first_version: dict[str, int] = {}
    for recorded in batch:
        first_version.setdefault(recorded.stream_id, recorded.stream_version)
    found: dict[str, list[RecordedEvent]] = {}
    to_read: list[str] = []
    for stream_id in stream_ids:
        if first_version.get(stream_id) == 1:
            found[stream_id] = []
        elif stream_id in earlier:
            found[stream_id] = list(earlier[stream_id])
        else:
            to_read.append(stream_id)
    if to_read:
        found.update(load_streams(connection, mapper, to_read, batch[0].position - 1))
    return found


def replace_rows(
    connection: Connection,
    table: sa.Table,
    key: sa.Column[Any],
    ids: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Delete the rows of ``ids`` and insert ``rows`` in their place."""
    for chunk in chunks(ids):
        connection.execute(_delete_in(table, key), {"ids": chunk})
    if rows:
        connection.execute(_insert(table), list(rows))
