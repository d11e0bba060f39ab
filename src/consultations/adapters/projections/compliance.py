"""Compliance facts per track and window, and the window each session counts in.

Only facts that do not depend on the day they are read are stored: window bounds,
sessions required and held, and where each session counts. Statuses depend on the day
(``as_of``); the reports compute them with ``domain.compliance``, the analysts' views
with ``CURRENT_DATE`` (docs/reporting.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.orm import compliance_sessions, compliance_windows, schedule, tracks
from consultations.adapters.projections.base import Recorded, chunks, replace_rows
from consultations.domain.cadence import parse_cadence
from consultations.domain.compliance import Session, TrackRules, evaluate
from consultations.domain.events import TrackAdded, TrackAmended, TrackRetired
from consultations.domain.vocabulary import MeetingStatus
from consultations.domain.wall_time import local_date

HORIZON = timedelta(days=730)


class ComplianceProjection:
    """Recomputes the windows of every track touched by a batch (directly or via a meeting)."""

    name: ClassVar[str] = "compliance"
    version: ClassVar[int] = 2  # 2: windows run two years past the last session
    tables: ClassVar[tuple[sa.Table, ...]] = (compliance_windows, compliance_sessions)

    def handle(
        self, connection: Connection, batch: Sequence[Recorded], *, replaying: bool = False
    ) -> None:
        """Replace the windows and sessions of the affected tracks (all at once in a rebuild)."""
        if replaying:
            return
        affected = {
            r.event.track_id
            for r in batch
            if isinstance(r.event, TrackAdded | TrackAmended | TrackRetired)
        }
        meeting_ids = [
            r.stream_id.removeprefix("meeting-")
            for r in batch
            if r.stream_id.startswith("meeting-")
        ]
        for chunk in chunks(meeting_ids):
            query = sa.select(schedule.c.track_id).where(
                schedule.c.meeting_id.in_(chunk), schedule.c.track_id.is_not(None)
            )
            affected.update(connection.execute(query).scalars())
        self._recompute(connection, affected)

    def finish_replay(self, connection: Connection) -> None:
        """Compute every track once, from the final schedule."""
        self._recompute(connection, set(connection.execute(sa.select(tracks.c.track_id)).scalars()))

    @staticmethod
    def _recompute(connection: Connection, affected: set[str]) -> None:
        if not affected:
            return
        window_rows: list[dict[str, Any]] = []
        session_rows: list[dict[str, Any]] = []
        for chunk in chunks(affected):
            track_rows = connection.execute(sa.select(tracks).where(tracks.c.track_id.in_(chunk)))
            sessions = _sessions(connection, chunk)
            for track in track_rows.mappings():
                windows, counted = track_windows(track, sessions.get(track["track_id"], []))
                window_rows += windows
                session_rows += counted
        ids = sorted(affected)
        replace_rows(
            connection, compliance_windows, compliance_windows.c.track_id, ids, window_rows
        )
        replace_rows(
            connection, compliance_sessions, compliance_sessions.c.track_id, ids, session_rows
        )


def rules_of(track: Any) -> TrackRules:
    """The compliance rules of a ``tracks`` row."""
    return TrackRules(
        cadence=parse_cadence(track["cadence"]),
        required=track["required"],
        start=track["start_date"],
        tz=track["tz"],
        retired_on=track["retired_on"],
    )


def session_of(row: Any) -> Session:
    """The compliance view of a ``schedule`` row."""
    return Session(
        row["meeting_id"], MeetingStatus(row["status"]), row["start_utc"], row["held_start_utc"]
    )


def _sessions(connection: Connection, track_ids: list[str]) -> dict[str, list[Session]]:
    query = sa.select(
        schedule.c.track_id,
        schedule.c.meeting_id,
        schedule.c.status,
        schedule.c.start_utc,
        schedule.c.held_start_utc,
    ).where(schedule.c.track_id.in_(track_ids), schedule.c.status != MeetingStatus.CANCELLED.value)
    found: dict[str, list[Session]] = {}
    for row in connection.execute(query).mappings():
        found.setdefault(row["track_id"], []).append(session_of(row))
    return found


def track_windows(
    track: Any, sessions: list[Session]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Window rows and session rows of one track.

    Windows run from the track's start to ``HORIZON`` past its last session (or its start),
    so a track that falls silent shows its missed windows; the horizon depends only on the
    track's own events, which keeps a rebuild equal to the incremental rows.
    """
    rules = rules_of(track)
    counted_on = {s.meeting_id: local_date(s.held_utc or s.start_utc, rules.tz) for s in sessions}
    last: date = max([rules.start, *counted_on.values()]) + HORIZON
    # as_of = the start: statuses are not stored, and every session is still "to come".
    windows = evaluate(rules, sessions, rules.start, until=last)
    held = {s.meeting_id for s in sessions if s.held_utc is not None}
    window_rows = [
        {
            "track_id": track["track_id"],
            "window": window.label,
            "window_start": window.start,
            "window_end": window.end,
            "required": window.required,
            "held": window.held,
        }
        for window in windows
    ]
    session_rows = [
        {
            "meeting_id": meeting_id,
            "track_id": track["track_id"],
            "window": window.label,
            "counted_on": counted_on[meeting_id],
            "held": meeting_id in held,
        }
        for window in windows
        for meeting_id in window.meetings
    ]
    return window_rows, session_rows
