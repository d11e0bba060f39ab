"""Parties and areas: registered once, never changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import areas, parties
from consultations.adapters.projections.base import BatchByBatch, Replay
from consultations.domain.events import AreaRegistered, PartyRegistered


class DirectoryProjection:
    """Rows of ``parties`` and ``areas``."""

    name: ClassVar[str] = "directory"
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[sa.Table, ...]] = (parties, areas)
    reads: ClassVar[tuple[str, ...]] = ()  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Insert newly registered parties and areas."""
        new_parties = [
            {
                "party_id": e.party_id,
                "name": e.name,
                "tz": e.tz,
                "departments": list(e.departments),
                "email": e.email,
            }
            for e in (r.event for r in batch)
            if isinstance(e, PartyRegistered)
        ]
        new_areas = [
            {"area_id": e.area_id, "name": e.name}
            for e in (r.event for r in batch)
            if isinstance(e, AreaRegistered)
        ]
        if new_parties:
            connection.execute(parties.insert(), new_parties)
        if new_areas:
            connection.execute(areas.insert(), new_areas)

    def replay(self, connection: Connection) -> Replay:
        """A rebuild handles the log batch after batch."""
        return BatchByBatch(self, connection)
