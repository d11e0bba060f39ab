"""Parties and areas: registered once; a party's own instance may replace its record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.database import chunks
from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import areas, parties
from consultations.adapters.projections.base import BatchByBatch, Replay, existing
from consultations.domain.events import AreaRegistered, PartyRegistered


class DirectoryProjection:
    """Rows of ``parties`` and ``areas``."""

    name: ClassVar[str] = "directory"
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[sa.Table, ...]] = (parties, areas)
    reads: ClassVar[tuple[str, ...]] = ()  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Insert newly registered parties and areas; a party registered again is replaced."""
        # The last registration of a party in the batch wins; an earlier row is replaced.
        new_parties: dict[str, dict[str, Any]] = {
            e.party_id: {
                "party_id": e.party_id,
                "name": e.name,
                "tz": e.tz,
                "departments": list(e.departments),
                "email": e.email,
            }
            for e in (r.event for r in batch)
            if isinstance(e, PartyRegistered)
        }
        new_areas = [
            {"area_id": e.area_id, "name": e.name}
            for e in (r.event for r in batch)
            if isinstance(e, AreaRegistered)
        ]
        if new_parties:
            replaced = existing(connection, parties.c.party_id, list(new_parties))
            for chunk in chunks(replaced):
                connection.execute(parties.delete().where(parties.c.party_id.in_(chunk)))
            connection.execute(parties.insert(), list(new_parties.values()))
        if new_areas:
            connection.execute(areas.insert(), new_areas)

    def replay(self, connection: Connection) -> Replay:
        """A rebuild handles the log batch after batch."""
        return BatchByBatch(self, connection)
