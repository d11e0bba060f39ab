"""The exchange with other instances: one row per peer, with where the exchange stands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import peers
from consultations.adapters.projections.base import BatchByBatch, Replay
from consultations.domain.events import PeerAdded, PeerRemoved


class ExchangeProjection:
    """Rows of ``peers``, in log order."""

    name: ClassVar[str] = "exchange"
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[sa.Table, ...]] = (peers,)
    reads: ClassVar[tuple[str, ...]] = ()  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Add, re-add and remove peers."""
        for recorded in batch:
            event = recorded.event
            if isinstance(event, PeerAdded):
                connection.execute(peers.delete().where(peers.c.peer_id == event.peer_id))
                connection.execute(
                    peers.insert().values(
                        peer_id=event.peer_id,
                        public_key=event.public_key,
                        url=event.url,
                        added_at=recorded.recorded_at,
                    )
                )
            elif isinstance(event, PeerRemoved):
                connection.execute(
                    peers.update()
                    .where(peers.c.peer_id == event.peer_id)
                    .values(removed_at=recorded.recorded_at)
                )

    def replay(self, connection: Connection) -> Replay:
        """A rebuild handles the log batch after batch."""
        return BatchByBatch(self, connection)
