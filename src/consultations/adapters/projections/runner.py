"""Runs the projections: incrementally as an append listener, or as a full atomic rebuild."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from consultations.adapters.database import write_transaction
from consultations.adapters.eventlog import (
    EventMapper,
    RecordedEvent,
    SqlEventLog,
    UpcasterRegistry,
)
from consultations.adapters.orm import projection_checkpoints
from consultations.adapters.projections.base import Projection
from consultations.adapters.projections.compliance import ComplianceProjection
from consultations.adapters.projections.directory import DirectoryProjection
from consultations.adapters.projections.exchange import ExchangeProjection
from consultations.adapters.projections.feeds import FeedProjection
from consultations.adapters.projections.minutes import MinutesProjection
from consultations.adapters.projections.reminders import ReminderProjection
from consultations.adapters.projections.schedule import ScheduleProjection
from consultations.adapters.projections.tracks import TrackProjection

REBUILD_BATCH = 5000
Progress = Callable[[int, int], None]
"""Called with (events replayed so far, events in total) during a rebuild."""


def default_projections(mapper: EventMapper) -> list[Projection]:
    """The application's projections, in the order they must run (later ones read earlier ones).

    ``mapper`` decodes the streams that some of them read back from the log.
    """
    return [
        DirectoryProjection(),
        TrackProjection(mapper),
        ScheduleProjection(mapper),
        ComplianceProjection(),
        FeedProjection(),
        ReminderProjection(),
        ExchangeProjection(),
        MinutesProjection(),
    ]


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    """Where one projection stands against the code and the log."""

    name: str
    code_version: int
    stored_version: int | None
    position: int
    head: int

    @property
    def lag(self) -> int:
        """Events in the log the projection has not seen."""
        return self.head - self.position

    @property
    def current(self) -> bool:
        """True when the projection can be served: right version, nothing missing."""
        return self.stored_version == self.code_version and self.lag == 0


class Projector:
    """Feeds events to every projection and keeps their checkpoints, in the caller's transaction."""

    def __init__(
        self,
        projections: Sequence[Projection] | None = None,
        *,
        mapper: EventMapper | None = None,
    ) -> None:
        """``mapper`` decodes what is read back from the log (default: without upcasters)."""
        self.mapper = mapper or EventMapper(UpcasterRegistry())
        self.projections = (
            list(projections) if projections is not None else default_projections(self.mapper)
        )
        names = {p.name for p in self.projections}
        # One statement moves every checkpoint; built once, it is only run per append.
        self._move_checkpoints = (
            projection_checkpoints.update()
            .where(projection_checkpoints.c.name.in_(sorted(names)))
            .values(position=sa.bindparam("position"))
        )
        for index, projection in enumerate(self.projections):
            earlier = {p.name for p in self.projections[:index]}
            if (names & set(projection.reads)) - earlier:
                raise ValueError(f"{projection.name} must run after the projections it reads")

    def __call__(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Event-log listener: project the events just appended, in the same transaction."""
        self.apply(connection, batch)

    def apply(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Project a batch and move every checkpoint to its last position."""
        if not batch:
            return
        for projection in self.projections:
            projection.handle(connection, batch)
        connection.execute(self._move_checkpoints, {"position": batch[-1].position})

    def status(self, engine: Engine) -> list[ProjectionStatus]:
        """Each projection's stored version and position against the code and the log head."""
        log = SqlEventLog(engine, mapper=self.mapper)
        with engine.connect() as connection:
            head = log.head(connection)[0]
            stored = {
                row.name: row for row in connection.execute(sa.select(projection_checkpoints))
            }
        return [
            ProjectionStatus(
                p.name,
                p.version,
                stored[p.name].version if p.name in stored else None,
                stored[p.name].position if p.name in stored else 0,
                head,
            )
            for p in self.projections
        ]

    def ensure_current(self, engine: Engine, progress: Progress | None = None) -> bool:
        """Rebuild what is stale (new version, or behind the log); True if it rebuilt anything.

        A stale projection is rebuilt with every projection that reads its tables (and those
        that read theirs); the others are current and keep their rows.
        """
        stale = {status.name for status in self.status(engine) if not status.current}
        if not stale:
            return False
        for projection in self.projections:  # in order: what a projection reads comes first
            if stale.intersection(projection.reads):
                stale.add(projection.name)
        self.rebuild(engine, progress, only=stale)
        return True

    def rebuild(
        self,
        engine: Engine,
        progress: Progress | None = None,
        *,
        only: Collection[str] | None = None,
    ) -> int:
        """Drop the read rows and replay the whole log, in one transaction; return the count.

        ``only`` names the projections to rebuild (default: all); the others must be current,
        since the ones rebuilt may read their tables. Readers keep seeing the old rows until
        the commit (SQLite WAL snapshot, PostgreSQL MVCC), so nobody sees half a rebuild;
        writers wait for the lock.
        """
        projections = [p for p in self.projections if only is None or p.name in only]
        log = SqlEventLog(engine, mapper=self.mapper)
        with write_transaction(engine) as connection:
            # The head row is locked first, like an append, so no append interleaves.
            head = log.lock_head(connection)
            for projection in reversed(projections):
                for table in reversed(projection.tables):
                    connection.execute(table.delete())
            replays = [projection.replay(connection) for projection in projections]
            done = 0
            for batch in log.read(up_to=head, batch_size=REBUILD_BATCH, connection=connection):
                for replay in replays:
                    replay.feed(batch)
                done += len(batch)
                if progress is not None:
                    progress(done, head)
            for replay in replays:
                replay.finish()
            names = [p.name for p in projections]
            connection.execute(
                projection_checkpoints.delete().where(projection_checkpoints.c.name.in_(names))
            )
            connection.execute(
                projection_checkpoints.insert(),
                [{"name": p.name, "version": p.version, "position": head} for p in projections],
            )
            return done
