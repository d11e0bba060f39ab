"""Each party's own minutes of a meeting another party convenes: one row per party."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import minutes
from consultations.adapters.projections.base import BatchByBatch, Replay
from consultations.domain.events import MinutesRecorded


class MinutesProjection:
    """Rows of ``minutes``, one per ``MinutesRecorded`` (each party records its minutes once)."""

    name: ClassVar[str] = "minutes"
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[sa.Table, ...]] = (minutes,)
    reads: ClassVar[tuple[str, ...]] = ()  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Add a row for each party's minutes recorded."""
        rows = [
            {
                "meeting_id": recorded.event.meeting_id,
                "party_id": recorded.event.party,
                "attendance": list(recorded.event.attendance),
                "outcomes": list(recorded.event.outcomes),
                "recorded_at": recorded.recorded_at,
            }
            for recorded in batch
            if isinstance(recorded.event, MinutesRecorded)
        ]
        if rows:
            connection.execute(minutes.insert(), rows)

    def replay(self, connection: Connection) -> Replay:
        """A rebuild handles the log batch after batch."""
        return BatchByBatch(self, connection)
