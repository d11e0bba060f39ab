"""Compliance facts per track and window, and the window each session counts in.

Only facts that do not depend on the day they are read are stored: window bounds,
sessions required and held, and where each session counts. Statuses depend on the day
(``as_of``); the reports compute them with ``domain.compliance``, the analysts' views
with ``CURRENT_DATE`` (docs/reporting.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.database import chunks
from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import compliance_sessions, compliance_windows, schedule, tracks
from consultations.adapters.projections.base import AtTheEnd, Replay, replace_rows
from consultations.domain.aggregates import MEETING
from consultations.domain.cadence import parse_cadence
from consultations.domain.compliance import Session, TrackRules, Window, evaluate
from consultations.domain.events import MeetingPlanned, TrackAdded, TrackAmended, TrackRetired
from consultations.domain.vocabulary import MeetingStatus
from consultations.domain.wall_time import local_date

HORIZON = timedelta(days=730)


FULL_RECOMPUTE_AT = 20
"""A batch changing more meetings of one track than this recomputes the whole track."""


@dataclass(frozen=True, slots=True)
class _Change:
    """A meeting the batch touched: the day it counted on before, and how it counts now."""

    meeting_id: str
    counted_before: date | None  # None: it counted in no window
    session: Session | None  # None: cancelled


class ComplianceProjection:
    """Keeps each track's windows and sessions equal to a full evaluation of the track.

    A change to a track recomputes it whole. A changed meeting recomputes only the windows
    from the one containing its earliest affected day up to the first later window that
    comes out as before (the chain of windows has re-synchronised), so the cost of a
    command does not grow with the track's history.
    """

    name: ClassVar[str] = "compliance"
    version: ClassVar[int] = 2  # 2: windows run two years past the last session
    tables: ClassVar[tuple[sa.Table, ...]] = (compliance_windows, compliance_sessions)
    reads: ClassVar[tuple[str, ...]] = ("tracks", "schedule")  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Bring the windows of the affected tracks up to date."""
        whole = {
            r.event.track_id
            for r in batch
            if isinstance(r.event, TrackAdded | TrackAmended | TrackRetired)
        }
        # A meeting keeps the track it was planned on: one planned in the batch on a track
        # recomputed whole (or on none) needs no look at how it counted before.
        settled = {
            r.event.meeting_id
            for r in batch
            if isinstance(r.event, MeetingPlanned)
            and (r.event.track_id is None or r.event.track_id in whole)
        }
        changes, track_rows = _changes(
            connection,
            {MEETING.id_of(r.stream_id) for r in batch if MEETING.owns(r.stream_id)} - settled,
        )
        partial = {t: c for t, c in changes.items() if t not in whole}
        whole.update(t for t, c in partial.items() if len(c) > FULL_RECOMPUTE_AT)
        for track_id, changed in partial.items():
            track = track_rows.get(track_id)
            if track is None or track_id in whole:
                continue
            if track["retired_on"] is not None or not _update_from_change(
                connection, track, changed
            ):
                whole.add(track_id)
        _recompute(connection, whole)

    def replay(self, connection: Connection) -> Replay:
        """A rebuild computes every track once, from the final schedule."""
        return AtTheEnd(lambda: recompute_all(connection))


def recompute_all(connection: Connection) -> None:
    """Replace the windows and sessions of every track."""
    _recompute(connection, set(connection.execute(sa.select(tracks.c.track_id)).scalars()))


TRACKS_AT_ONCE = 8
"""Tracks recomputed and written together: a rebuild never holds every session at once."""


def _recompute(connection: Connection, affected: set[str]) -> None:
    """Replace every window and session row of the given tracks."""
    for chunk in chunks(affected, TRACKS_AT_ONCE):
        window_rows: list[dict[str, Any]] = []
        session_rows: list[dict[str, Any]] = []
        sessions = _sessions(connection, chunk)
        for track in _tracks(connection, chunk):
            windows, counted = track_windows(track, sessions.get(track["track_id"], []))
            window_rows += windows
            session_rows += counted
        for table, rows in ((compliance_windows, window_rows), (compliance_sessions, session_rows)):
            replace_rows(connection, table, table.c.track_id, chunk, rows)


def _update_from_change(connection: Connection, track: Any, changed: list[_Change]) -> bool:
    """Recompute the windows the changed meetings can affect; False if the track needs all."""
    rules = rules_of(track)
    track_id, tz = track["track_id"], track["tz"]
    now_on = {c.meeting_id: counted_day(c.session, tz) for c in changed if c.session is not None}
    days = [c.counted_before for c in changed if c.counted_before is not None]
    days += now_on.values()
    if not days:
        return True  # counted nowhere before, and now cancelled
    old_last, new_last = _horizons(connection, track_id, rules.start, changed, now_on)
    if old_last != new_last:
        # The windows between the two horizons appear or go: start no later than the
        # window holding the earlier one.
        days.append(min(old_last, new_last))
    low, high = min(days), max(days)
    ids = {c.meeting_id for c in changed}
    # When the horizon moved, the tail of windows changes: there is nothing to
    # re-synchronise with, so every session from the first window on is loaded.
    reach = _first_reach(rules, high) if old_last == new_last else None
    while True:
        bound = _bound(high, reach)
        stored = _stored_windows(connection, track_id, low, bound)
        first = _holding(stored, low) or _window_at(connection, track_id, low)
        if first is None:
            return False
        sessions = [
            s
            for s in _sessions_from(connection, track_id, first[0], bound)
            if s.meeting_id not in ids
        ]
        sessions += [
            c.session
            for c in changed
            if c.session is not None
            and first[0] <= now_on[c.meeting_id]
            and (bound is None or now_on[c.meeting_id] < bound)
        ]
        until = new_last if bound is None else min(new_last, bound - _ONE_DAY)
        windows = evaluate(rules, sessions, rules.start, until=until, resume=first)
        if bound is None:
            stop = None
            break
        stop = _resynchronised(stored, windows, high, bound)
        if stop is not None:
            break
        reach = None if reach is None or reach > _MAX_REACH else reach * 4
    kept = windows if stop is None else windows[:stop]
    end = None if stop is None else windows[stop].start
    _replace_range(connection, track, (first[0], end), windows=kept, sessions=sessions)
    return True


_ONE_DAY = timedelta(days=1)
_MAX_REACH = timedelta(days=20 * 366)


def _first_reach(rules: TrackRules, day: date) -> timedelta:
    """How far past the last changed day to look for the windows to re-synchronise."""
    gap = rules.cadence.max_gap
    period = (gap.add_to(day) - day) if gap is not None else timedelta(days=366)
    return max(timedelta(days=800), 3 * period)


def _bound(high: date, reach: timedelta | None) -> date | None:
    if reach is None:
        return None
    try:
        return high + reach
    except OverflowError:
        return None


def _resynchronised(
    stored: Sequence[tuple[str, date, date]], windows: Sequence[Window], high: date, bound: date
) -> int | None:
    """Index of the first window after ``high`` that is stored exactly so, or None.

    From such a window on, the chain is the same as before (it depends only on the window
    and on sessions after ``high``, which did not change). Only windows whose whole span is
    before ``bound`` (all their sessions loaded) can be trusted. ``stored``: the stored
    windows (label, start, end) that start before ``bound``, from some day up to ``high``.
    """
    after = {window for window in stored if high < window[1] < bound}
    for index, window in enumerate(windows):
        if window.start > high and (window.label, window.start, window.end) in after:
            return index
        if window.end >= bound:
            return None
    return None


_STORED_WINDOWS = (
    sa.select(
        compliance_windows.c.window,
        compliance_windows.c.window_start,
        compliance_windows.c.window_end,
    )
    .where(
        compliance_windows.c.track_id == sa.bindparam("track_id"),
        compliance_windows.c.window_end >= sa.bindparam("low"),
        compliance_windows.c.window_start < sa.bindparam("bound"),
    )
    .order_by(compliance_windows.c.window_start)
)


def _stored_windows(
    connection: Connection, track_id: str, low: date, bound: date | None
) -> list[tuple[str, date, date]]:
    """The stored windows (label, start, end) ending on or after ``low``, in order.

    Only those starting before ``bound`` (None: all).
    """
    parameters = {"track_id": track_id, "low": low, "bound": bound or date.max}
    return [(row[0], row[1], row[2]) for row in connection.execute(_STORED_WINDOWS, parameters)]


def _holding(stored: Sequence[tuple[str, date, date]], day: date) -> tuple[date, date] | None:
    """(start, end) of the window holding ``day`` (or the first, for earlier days), or None.

    As :func:`_window_at` finds it, from ``stored``: the windows ending on or after ``day``,
    in order. A track's windows leave no day uncovered between its first and last (each
    starts at the latest the day after the one before ends), so the last window starting
    on or before ``day`` ends on or after it; if none does, the first in ``stored`` is the
    track's first. None: ``day`` is past the last window (ask :func:`_window_at`).
    """
    if not stored:
        return None
    holding = [window for window in stored if window[1] <= day]
    _, start, end = holding[-1] if holding else stored[0]
    return start, end


def _replace_range(
    connection: Connection,
    track: Any,
    span: tuple[date, date | None],
    *,
    windows: Sequence[Window],
    sessions: Sequence[Session],
) -> None:
    """Replace the rows of the windows starting in [start, end) (to the last if None).

    The changed meetings' old rows are in that range too: it starts at or before the day
    each counted on and ends after the last changed day.
    """
    start, end = span
    parameters = {"track_id": track["track_id"], "start": start, "end": end or date.max}
    connection.execute(_DELETE_WINDOWS, parameters)
    connection.execute(_DELETE_SESSIONS, parameters)
    days = {s.meeting_id: counted_day(s, track["tz"]) for s in sessions}
    window_rows, session_rows = _rows(track, windows, sessions, days)
    if window_rows:
        connection.execute(_INSERT_WINDOWS, window_rows)
    if session_rows:
        connection.execute(_INSERT_SESSIONS, session_rows)


# Statements built once: building a query costs more than running a cached one.
_DELETE_WINDOWS = compliance_windows.delete().where(
    compliance_windows.c.track_id == sa.bindparam("track_id"),
    compliance_windows.c.window_start >= sa.bindparam("start"),
    compliance_windows.c.window_start < sa.bindparam("end"),
)
_DELETE_SESSIONS = compliance_sessions.delete().where(
    compliance_sessions.c.track_id == sa.bindparam("track_id"),
    compliance_sessions.c.counted_on >= sa.bindparam("start"),
    compliance_sessions.c.counted_on < sa.bindparam("end"),
)
_INSERT_WINDOWS = compliance_windows.insert()
_INSERT_SESSIONS = compliance_sessions.insert()
_CHANGES = (
    sa.select(
        schedule.c.track_id,
        schedule.c.meeting_id,
        schedule.c.status,
        schedule.c.start_utc,
        schedule.c.held_start_utc,
        compliance_sessions.c.counted_on,
        *(column.label(f"track_{column.name}") for column in tracks.c),
    )
    .outerjoin(compliance_sessions, compliance_sessions.c.meeting_id == schedule.c.meeting_id)
    .outerjoin(tracks, tracks.c.track_id == schedule.c.track_id)
    .where(
        schedule.c.meeting_id.in_(sa.bindparam("meeting_ids", expanding=True)),
        schedule.c.track_id.is_not(None),
    )
)


def _changes(
    connection: Connection, meeting_ids: set[str]
) -> tuple[dict[str, list[_Change]], dict[str, dict[str, Any]]]:
    """The changed meetings of tracks, by track, with how they counted before.

    And the ``tracks`` rows of those tracks, read with them.
    """
    found: dict[str, list[_Change]] = {}
    track_rows: dict[str, dict[str, Any]] = {}
    for chunk in chunks(meeting_ids):
        for row in connection.execute(_CHANGES, {"meeting_ids": chunk}).mappings():
            session = None if row["status"] == MeetingStatus.CANCELLED.value else session_of(row)
            found.setdefault(row["track_id"], []).append(
                _Change(row["meeting_id"], row["counted_on"], session)
            )
            if row["track_track_id"] is not None:
                track_rows[row["track_id"]] = {c.name: row[f"track_{c.name}"] for c in tracks.c}
    return found, track_rows


def _tracks(connection: Connection, track_ids: Sequence[str]) -> list[Any]:
    rows: list[Any] = []
    for chunk in chunks(track_ids):
        rows += connection.execute(sa.select(tracks).where(tracks.c.track_id.in_(chunk))).mappings()
    return rows


def _window_at(connection: Connection, track_id: str, day: date) -> tuple[date, date] | None:
    """(start, end) of the stored window holding ``day`` (or the first one, for earlier days)."""
    columns = (compliance_windows.c.window_start, compliance_windows.c.window_end)
    mine = compliance_windows.c.track_id == track_id
    row = (
        connection.execute(
            sa.select(*columns)
            .where(mine, compliance_windows.c.window_start <= day)
            .order_by(compliance_windows.c.window_start.desc())
            .limit(1)
        ).first()
        or connection.execute(
            sa.select(*columns).where(mine).order_by(compliance_windows.c.window_start).limit(1)
        ).first()
    )
    return None if row is None else (row[0], row[1])


_LATEST = (
    sa.select(compliance_sessions.c.meeting_id, compliance_sessions.c.counted_on)
    .where(compliance_sessions.c.track_id == sa.bindparam("track_id"))
    .order_by(compliance_sessions.c.counted_on.desc())
    .limit(sa.bindparam("count", type_=sa.Integer))
)


def _horizons(
    connection: Connection,
    track_id: str,
    start: date,
    changed: Sequence[_Change],
    now_on: dict[str, date],
) -> tuple[date, date]:
    """The last day windows ran to before the change, and the one they run to after it."""
    ids = {c.meeting_id for c in changed}
    latest = connection.execute(_LATEST, {"track_id": track_id, "count": len(ids) + 1}).all()
    before = latest[0][1] if latest else start
    others = next((day for meeting_id, day in latest if meeting_id not in ids), start)
    after = max([start, others, *now_on.values()])
    return max(start, before) + HORIZON, after + HORIZON


def _sessions_from(
    connection: Connection, track_id: str, start: date, bound: date | None
) -> list[Session]:
    """The sessions counted on days in [start, bound), as they are in the schedule now."""
    parameters = {"track_id": track_id, "start": start, "bound": bound or date.max}
    return [session_of(row) for row in connection.execute(_SESSIONS_FROM, parameters).mappings()]


_SESSIONS_FROM = (
    sa.select(
        schedule.c.meeting_id,
        schedule.c.status,
        schedule.c.start_utc,
        schedule.c.held_start_utc,
    )
    .join(compliance_sessions, compliance_sessions.c.meeting_id == schedule.c.meeting_id)
    .where(
        compliance_sessions.c.track_id == sa.bindparam("track_id"),
        compliance_sessions.c.counted_on >= sa.bindparam("start"),
        compliance_sessions.c.counted_on < sa.bindparam("bound"),
    )
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


def counted_day(session: Session, tz: str) -> date:
    """The day a session counts on in the track's zone: held day, else planned day."""
    return local_date(session.held_utc or session.start_utc, tz)


def track_windows(
    track: Any, sessions: list[Session]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Window rows and session rows of one track.

    Windows run from the track's start to ``HORIZON`` past its last session (or its start),
    so a track that falls silent shows its missed windows; the horizon depends only on the
    track's own events, which keeps a rebuild equal to the incremental rows.
    """
    rules = rules_of(track)
    days = {s.meeting_id: counted_day(s, rules.tz) for s in sessions}
    last: date = max([rules.start, *days.values()]) + HORIZON
    # as_of = the start: statuses are not stored, and every session is still "to come".
    return _rows(track, evaluate(rules, sessions, rules.start, until=last), sessions, days)


def _rows(
    track: Any, windows: Sequence[Window], sessions: Sequence[Session], days: dict[str, date]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Window and session rows; ``days`` holds each session's counted day."""
    by_id = {s.meeting_id: s for s in sessions}
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
            "counted_on": days[meeting_id],
            "held": by_id[meeting_id].held_utc is not None,
        }
        for window in windows
        for meeting_id in window.meetings
    ]
    return window_rows, session_rows
