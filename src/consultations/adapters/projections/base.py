"""What every projection is: a named, versioned owner of read tables, fed with events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.database import chunks
from consultations.adapters.eventlog import EventMapper, RecordedEvent, SqlEventLog


class Projection(Protocol):
    """A read model. ``version`` changes whenever its rows would come out differently."""

    name: ClassVar[str]
    version: ClassVar[int]
    tables: ClassVar[tuple[sa.Table, ...]]

    def handle(
        self, connection: Connection, batch: Sequence[RecordedEvent], *, replaying: bool = False
    ) -> None:
        """Bring the tables up to date with ``batch`` (events in position order).

        ``replaying`` is set during a rebuild: work that only the final state needs may wait
        for :meth:`finish_replay`.
        """

    def finish_replay(self, connection: Connection) -> None:
        """Complete a rebuild after the last batch."""


def existing(connection: Connection, key: sa.Column[Any], ids: Sequence[str]) -> list[str]:
    """Those of ``ids`` that already have a row (``key`` is the table's id column)."""
    found: list[str] = []
    for chunk in chunks(ids):
        found += connection.execute(sa.select(key).where(key.in_(chunk))).scalars()
    return found


def load_streams(
    connection: Connection, mapper: EventMapper, stream_ids: Iterable[str], up_to: int
) -> dict[str, list[RecordedEvent]]:
    """Every event (at or before ``up_to``) of the given streams, decoded, by stream.

    Read on ``connection``: inside the append or rebuild transaction being projected.
    """
    log = SqlEventLog(connection.engine, mapper=mapper)
    return log.read_streams(stream_ids, up_to=up_to, connection=connection)


def replace_rows(
    connection: Connection,
    table: sa.Table,
    key: sa.Column[Any],
    ids: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Delete the rows of ``ids`` and insert ``rows`` in their place."""
    for chunk in chunks(ids):
        connection.execute(table.delete().where(key.in_(chunk)))
    if rows:
        connection.execute(table.insert(), list(rows))
