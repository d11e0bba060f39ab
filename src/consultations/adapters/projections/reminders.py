"""Reminders the schedule calls for: one row per upcoming meeting and reminder offset."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.database import chunks
from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import reminders, schedule, tracks
from consultations.adapters.projections.base import AtTheEnd, Replay, replace_rows
from consultations.domain.aggregates import MEETING
from consultations.domain.durations import parse_duration
from consultations.domain.events import TrackAmended
from consultations.domain.vocabulary import MeetingStatus

UPCOMING = (MeetingStatus.PLANNED.value, MeetingStatus.RESCHEDULED.value)


def reminder_id(meeting_id: str, offset: str, start_utc: Any) -> str:
    """Deterministic id of a reminder: the meeting, the offset and the start instant."""
    key = f"{meeting_id}|{offset}|{start_utc.isoformat()}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


# The upcoming meetings among some, with their own and their track's offsets (built once).
_UPCOMING = (
    sa.select(
        schedule.c.meeting_id,
        schedule.c.start_utc,
        schedule.c.reminders,
        tracks.c.reminders.label("track_reminders"),
    )
    .outerjoin(tracks, tracks.c.track_id == schedule.c.track_id)
    .where(
        schedule.c.meeting_id.in_(sa.bindparam("meeting_ids", expanding=True)),
        schedule.c.status.in_(UPCOMING),
    )
)


class ReminderProjection:
    """Rows follow the meeting.

    A reschedule replaces them (new start, new ids), holding or cancelling removes them, and
    a track's new reminder offsets apply to its meetings.
    """

    name: ClassVar[str] = "reminders"
    version: ClassVar[int] = 2  # 2: a meeting's own offsets win over its track's
    tables: ClassVar[tuple[sa.Table, ...]] = (reminders,)
    reads: ClassVar[tuple[str, ...]] = ("tracks", "schedule")  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Recompute the reminders of the meetings touched (directly or through their track)."""
        meetings = {MEETING.id_of(r.stream_id) for r in batch if MEETING.owns(r.stream_id)}
        amended = {r.event.track_id for r in batch if isinstance(r.event, TrackAmended)}
        for chunk in chunks(amended):
            query = sa.select(schedule.c.meeting_id).where(schedule.c.track_id.in_(chunk))
            meetings.update(connection.execute(query).scalars())
        self._recompute(connection, sorted(meetings))

    def replay(self, connection: Connection) -> Replay:
        """A rebuild computes every meeting's reminders once, from the final schedule."""
        return AtTheEnd(
            lambda: self._recompute(
                connection, list(connection.execute(sa.select(schedule.c.meeting_id)).scalars())
            )
        )

    @staticmethod
    def _recompute(connection: Connection, meeting_ids: list[str]) -> None:
        # Written chunk by chunk: a rebuild never holds every meeting's rows at once.
        for chunk in chunks(meeting_ids):
            rows: list[dict[str, Any]] = []
            upcoming = connection.execute(_UPCOMING, {"meeting_ids": chunk})
            for meeting_id, start_utc, own, of_track in upcoming:
                offsets = own if own is not None else (of_track or [])
                rows += [
                    {
                        "reminder_id": reminder_id(meeting_id, offset, start_utc),
                        "meeting_id": meeting_id,
                        "offset": offset,
                        "start_utc": start_utc,
                        "due_at": start_utc - parse_duration(offset).to_timedelta(),
                    }
                    for offset in offsets
                ]
            replace_rows(connection, reminders, reminders.c.meeting_id, chunk, rows)
