"""What every projection is: a named, versioned owner of read tables, fed with events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.event_mapper import from_stored
from consultations.adapters.orm import events as events_table
from consultations.adapters.upcasting import upcasters
from consultations.domain.events import DomainEvent

IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Recorded:
    """A domain event with where and when it was recorded."""

    position: int
    stream_id: str
    recorded_at: datetime
    event: DomainEvent


class Projection(Protocol):
    """A read model. ``version`` changes whenever its rows would come out differently."""

    name: ClassVar[str]
    version: ClassVar[int]
    tables: ClassVar[tuple[sa.Table, ...]]

    def handle(
        self, connection: Connection, batch: Sequence[Recorded], *, replaying: bool = False
    ) -> None:
        """Bring the tables up to date with ``batch`` (events in position order).

        ``replaying`` is set during a rebuild: work that only the final state needs may wait
        for :meth:`finish_replay`.
        """

    def finish_replay(self, connection: Connection) -> None:
        """Complete a rebuild after the last batch."""


def chunks(values: Iterable[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    """Split ids into lists small enough for an IN clause."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def existing(connection: Connection, key: sa.Column[Any], ids: Sequence[str]) -> list[str]:
    """Those of ``ids`` that already have a row (``key`` is the table's id column)."""
    found: list[str] = []
    for chunk in chunks(ids):
        found += connection.execute(sa.select(key).where(key.in_(chunk))).scalars()
    return found


def load_streams(
    connection: Connection, stream_ids: Iterable[str], up_to: int
) -> dict[str, list[Recorded]]:
    """Every event (at or before ``up_to``) of the given streams, decoded, by stream."""
    loaded: dict[str, list[Recorded]] = {}
    for chunk in chunks(stream_ids):
        query = (
            sa.select(
                events_table.c.position,
                events_table.c.stream_id,
                events_table.c.recorded_at,
                events_table.c.event_type,
                events_table.c.schema_version,
                events_table.c.payload,
            )
            .where(events_table.c.stream_id.in_(chunk), events_table.c.position <= up_to)
            .order_by(events_table.c.position)
        )
        for row in connection.execute(query):
            loaded.setdefault(row.stream_id, []).append(decode(row._mapping))
    return loaded


def decode(row: Any) -> Recorded:
    """Turn a stored row into a ``Recorded`` domain event (upcast first)."""
    _, payload = upcasters.upcast(row["event_type"], row["schema_version"], row["payload"])
    return Recorded(
        row["position"],
        row["stream_id"],
        row["recorded_at"],
        from_stored(row["event_type"], payload),
    )


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
