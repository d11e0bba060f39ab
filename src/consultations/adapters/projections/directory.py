"""Parties and areas, with each party's country and closures (its working calendar).

A party's own instance may replace its record (the exchange): its row and closures start afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.database import chunks
from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import areas, parties, party_closures
from consultations.adapters.projections.base import BatchByBatch, Replay, existing
from consultations.domain.events import (
    AreaRegistered,
    PartyAmended,
    PartyClosureAdded,
    PartyRegistered,
)


class DirectoryProjection:
    """Rows of ``parties``, ``party_closures`` and ``areas``."""

    name: ClassVar[str] = "directory"
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[sa.Table, ...]] = (parties, party_closures, areas)
    reads: ClassVar[tuple[str, ...]] = ()  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Insert newly registered parties and areas; apply amendments and closures.

        A party registered again is replaced: its last registration in the batch wins, and
        its row and closures from before that registration are dropped.
        """
        last_registration = {
            r.event.party_id: n for n, r in enumerate(batch) if isinstance(r.event, PartyRegistered)
        }

        def current(n: int, party_id: str) -> bool:
            """Whether the batch's event ``n`` comes after the party's last registration."""
            return n > last_registration.get(party_id, -1)

        new_parties = [
            {
                "party_id": e.party_id,
                "name": e.name,
                "tz": e.tz,
                "departments": list(e.departments),
                "email": e.email,
                "country": e.country,
            }
            for e in (batch[n].event for n in last_registration.values())
            if isinstance(e, PartyRegistered)
        ]
        new_areas = [
            {"area_id": e.area_id, "name": e.name}
            for e in (r.event for r in batch)
            if isinstance(e, AreaRegistered)
        ]
        closures = [
            {
                "position": r.position,
                "party_id": r.event.party_id,
                "first_day": r.event.first,
                "last_day": r.event.last,
                "reason": r.event.reason,
            }
            for n, r in enumerate(batch)
            if isinstance(r.event, PartyClosureAdded) and current(n, r.event.party_id)
        ]
        if new_parties:
            replaced = existing(connection, parties.c.party_id, list(last_registration))
            for chunk in chunks(replaced):
                connection.execute(parties.delete().where(parties.c.party_id.in_(chunk)))
                connection.execute(
                    party_closures.delete().where(party_closures.c.party_id.in_(chunk))
                )
            connection.execute(parties.insert(), new_parties)
        if new_areas:
            connection.execute(areas.insert(), new_areas)
        for n, r in enumerate(batch):  # after the inserts: a party registers first
            event = r.event
            if (
                isinstance(event, PartyAmended)
                and event.country is not None
                and current(n, event.party_id)
            ):
                connection.execute(
                    parties.update()
                    .where(parties.c.party_id == event.party_id)
                    .values(country=event.country)
                )
        if closures:
            connection.execute(party_closures.insert(), closures)

    def replay(self, connection: Connection) -> Replay:
        """A rebuild handles the log batch after batch."""
        return BatchByBatch(self, connection)
