"""Reads of the compliance projection's stored facts, for the compliance report.

The projection stores, per track, its windows (bounds, sessions required and held) and
the window each session counts in (``adapters/projections/compliance.py``). These queries
read only the windows a report covers and the sessions counted in them, through the
indexes on ``(track_id, window_start)`` and ``(track_id, counted_on)``, so their cost
follows the report's span of time, not the size of the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from consultations.adapters.database import chunks
from consultations.adapters.orm import compliance_sessions, compliance_windows, schedule, tracks
from consultations.domain.compliance import Period


@dataclass(slots=True)
class StoredWindow:
    """A stored window and the sessions counted in it.

    ``meetings``: their ids, in chronological order; ``pending``: the days of those not
    held (planned or rescheduled), in order; ``first_held``: the day of the first one held.
    """

    period: Period
    required: int
    held: int
    meetings: list[str] = field(default_factory=list)
    pending: list[date] = field(default_factory=list)
    first_held: date | None = None


@dataclass(slots=True)
class StoredTrack:
    """What is stored for one track: the windows asked for, and its last window (no sessions)."""

    windows: list[StoredWindow] = field(default_factory=list)
    final: StoredWindow | None = None  # None: no window is stored for the track


def stored_compliance(
    engine: Engine, spans: Mapping[str, tuple[date, date]]
) -> dict[str, StoredTrack]:
    """Stored windows and their sessions, per track of ``spans`` (id -> ``(first, last)``).

    The windows of a track are those that end on or after ``first`` and start on or before
    ``last``. Windows come in chronological order, and the sessions of each in the order
    ``domain.compliance.evaluate`` lists them: by day, then the moment (held time for held
    sessions, planned start otherwise), then meeting id. Every track of ``spans`` has an
    entry, with its last stored window, so a caller can tell whether the span reaches past
    what is stored.
    """
    found = {track_id: StoredTrack() for track_id in spans}
    if not spans:
        return found
    with engine.connect() as connection:
        for track_ids in chunks(spans):
            _read_chunk(connection, found, {t: spans[t] for t in track_ids})
    return found


def _read_chunk(
    connection: Connection,
    found: dict[str, StoredTrack],
    spans: dict[str, tuple[date, date]],
) -> None:
    track_ids = list(spans)
    first = min(span[0] for span in spans.values())
    last = max(span[1] for span in spans.values())
    windows = compliance_windows.c
    later = compliance_windows.alias("later")
    final = (
        sa.select(sa.func.max(later.c.window_start))
        .where(later.c.track_id == tracks.c.track_id)
        .correlate(tracks)
    )
    for track_id, label, start, end, required, held in connection.execute(
        sa.select(
            tracks.c.track_id,
            windows.window,
            windows.window_start,
            windows.window_end,
            windows.required,
            windows.held,
        )
        .select_from(tracks)
        .join(
            compliance_windows,
            sa.and_(
                windows.track_id == tracks.c.track_id,
                windows.window_start == final.scalar_subquery(),
            ),
        )
        .where(tracks.c.track_id.in_(track_ids))
    ):
        found[track_id].final = StoredWindow(Period(label, start, end), required, held)
    by_label: dict[tuple[str, str], StoredWindow] = {}
    query = (
        sa.select(
            windows.track_id,
            windows.window,
            windows.window_start,
            windows.window_end,
            windows.required,
            windows.held,
        )
        .where(
            windows.track_id.in_(track_ids),
            windows.window_start <= last,
            windows.window_end >= first,
        )
        .order_by(windows.track_id, windows.window_start)
    )
    for track_id, label, start, end, required, held in connection.execute(query):
        track_first, track_last = spans[track_id]
        if start <= track_last and end >= track_first:
            window = StoredWindow(Period(label, start, end), required, held)
            found[track_id].windows.append(window)
            by_label[track_id, label] = window
    if not by_label:
        return
    low = min(w.period.start for w in by_label.values())
    high = max(w.period.end for w in by_label.values())
    _read_sessions(connection, by_label, track_ids, low, high)


def _read_sessions(
    connection: Connection,
    by_label: dict[tuple[str, str], StoredWindow],
    track_ids: list[str],
    low: date,
    high: date,
) -> None:
    """Add the sessions counted from ``low`` to ``high`` to their windows, in order."""
    counted = compliance_sessions.c
    query = (
        sa.select(
            counted.track_id, counted.window, counted.meeting_id, counted.counted_on, counted.held
        )
        .where(
            counted.track_id.in_(track_ids),
            counted.counted_on >= low,
            counted.counted_on <= high,
        )
        .order_by(counted.track_id, counted.counted_on)
    )
    # By track and day: a window's sessions come together, in order but for those that
    # share a day, which are put in order afterwards.
    shared: list[_SharedDay] = []
    window: StoredWindow | None = None
    track_now = label_now = ""
    day_now: date | None = None
    day_start = 0
    for track_id, label, meeting_id, day, held in connection.execute(query):
        if label != label_now or track_id != track_now:
            track_now, label_now, day_now = track_id, label, None
            window = by_label.get((track_id, label))
        if window is None:
            continue
        if day != day_now:
            day_now, day_start = day, len(window.meetings)
        elif shared and shared[-1].window is window and shared[-1].start == day_start:
            shared[-1].stop += 1
        else:
            shared.append(_SharedDay(window, day_start, day_start + 2))
        window.meetings.append(meeting_id)
        if not held:
            window.pending.append(day)
        elif window.first_held is None:
            window.first_held = day
    if shared:
        _order_shared_days(connection, shared)


@dataclass(slots=True)
class _SharedDay:
    """Sessions counted on the same day: ``window.meetings[start:stop]``."""

    window: StoredWindow
    start: int
    stop: int


def _order_shared_days(connection: Connection, shared: list[_SharedDay]) -> None:
    """Sort the sessions of each day by their moment, then meeting id (in one query)."""
    ids = [m for day in shared for m in day.window.meetings[day.start : day.stop]]
    moment = sa.case(
        (compliance_sessions.c.held, schedule.c.held_start_utc), else_=schedule.c.start_utc
    )
    moments: dict[str, Any] = {}
    for chunk in chunks(ids):
        query = (
            sa.select(compliance_sessions.c.meeting_id, moment)
            .join(schedule, schedule.c.meeting_id == compliance_sessions.c.meeting_id)
            .where(compliance_sessions.c.meeting_id.in_(chunk))
        )
        for meeting_id, at in connection.execute(query):
            moments[meeting_id] = at
    for day in shared:
        meetings = day.window.meetings
        meetings[day.start : day.stop] = sorted(
            meetings[day.start : day.stop], key=lambda m: (moments[m], m)
        )
