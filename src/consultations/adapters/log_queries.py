"""Queries answered from the event log itself, for decisions that need other streams."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.orm import events


class LogMeetingDirectory:
    """Looks up meetings in the log (the read models of the projections replace it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def previous_host(self, track_id: str) -> str | None:
        """Host of the most recently planned meeting of the track."""
        query = (
            sa.select(events.c.payload["host"].as_string())
            .where(
                events.c.event_type == "MeetingPlanned",
                events.c.payload["track_id"].as_string() == track_id,
            )
            .order_by(events.c.position.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()
