"""Calendar feed definitions, looked up by the SHA-256 of their token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.orm import feeds
from consultations.adapters.projections.base import Recorded
from consultations.domain.events import FeedCreated, FeedRevoked


class FeedProjection:
    """One row per feed; revocation stamps ``revoked_at``."""

    name: ClassVar[str] = "feeds"
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[sa.Table, ...]] = (feeds,)

    def handle(
        self, connection: Connection, batch: Sequence[Recorded], *, replaying: bool = False
    ) -> None:
        """Insert created feeds, stamp revoked ones, in log order."""
        for recorded in batch:
            event = recorded.event
            if isinstance(event, FeedCreated):
                connection.execute(
                    feeds.insert().values(
                        feed_id=event.feed_id,
                        name=event.name,
                        scope=event.scope,
                        include_restricted=event.include_restricted,
                        days_back=event.days_back,
                        days_ahead=event.days_ahead,
                        token_sha256=event.token_sha256,
                        created_at=recorded.recorded_at,
                    )
                )
            elif isinstance(event, FeedRevoked):
                connection.execute(
                    feeds.update()
                    .where(feeds.c.feed_id == event.feed_id)
                    .values(revoked_at=recorded.recorded_at)
                )

    def finish_replay(self, connection: Connection) -> None:
        """Nothing is deferred during a rebuild."""
