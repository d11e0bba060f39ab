"""Reports computed from the read models: compliance per window, action items."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from consultations.adapters.compliance_reads import StoredTrack, stored_compliance
from consultations.adapters.projections.compliance import rules_of
from consultations.adapters.read_models import ReadModels
from consultations.domain.compliance import (
    Period,
    TrackRules,
    periods_after,
    reach_ahead,
    window_status,
)
from consultations.domain.disclosure import meeting_for_channel, shows_details
from consultations.domain.vocabulary import MeetingStatus
from consultations.domain.wall_time import local_date
from consultations.domain.working_calendar import WorkingCalendar
from consultations.service_layer.working_time import non_working_marks

COMPLIANCE_COLUMNS = (
    "track", "title", "priority", "areas", "window", "window_start", "window_end",
    "required", "held", "planned", "unconfirmed", "status", "meetings",
)  # fmt: skip
ACTION_COLUMNS = (
    "item_id", "meeting_id", "meeting_title", "text", "owner", "due", "status", "overdue",
    "closed_on", "note",
)  # fmt: skip


def today_in(tz: str, now: datetime | None = None) -> date:
    """The date in a time zone at ``now`` (default: the current instant)."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date()


def compliance_report(
    read_models: ReadModels,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
    since: date | None = None,
    until: date | None = None,
    track_id: str | None = None,
    area_id: str | None = None,
    ahead: int = 0,
) -> list[dict[str, Any]]:
    """One row per track and window, with its status at ``as_of``.

    Without ``as_of``, each track is evaluated on the date it is in its own zone at ``now``
    (default: the current instant).

    Windows run from ``since`` (default: each track's start) to ``until`` (default: the end
    of the ``as_of`` year, so the rest of the year's windows show as upcoming), and at
    least to the ``ahead``-th window after the one containing ``as_of``.

    The rows are those of ``domain.compliance.evaluate`` over the track's sessions, read
    from the compliance projection's stored windows: only the statuses are computed here.
    """
    reports = _track_reports(
        read_models,
        as_of=as_of,
        now=now,
        since=since,
        until=until,
        track_id=track_id,
        area_id=area_id,
        ahead=ahead,
    )
    return [row for report in reports for row in report.rows]


@dataclass(frozen=True, slots=True)
class _TrackReport:
    """A track's row in ``tracks``, the day it is judged on, and its report rows."""

    track: dict[str, Any]
    as_of: date
    rows: list[dict[str, Any]]


def _track_reports(
    read_models: ReadModels,
    *,
    as_of: date | None,
    now: datetime | None,
    since: date | None,
    until: date | None,
    track_id: str | None,
    area_id: str | None,
    ahead: int,
) -> list[_TrackReport]:
    tracks = read_models.tracks(track_id=track_id, area_id=area_id)
    scopes: dict[str, _Scope] = {}
    for track in tracks:
        rules = rules_of(track)
        day = as_of or today_in(track["tz"], now)
        first = rules.start if since is None else since
        last = until or date(day.year, 12, 31)
        if ahead:
            last = max(last, reach_ahead(rules.cadence, max(day, rules.start), ahead))
        last = min(last, rules.retired_on or date.max)
        scopes[track["track_id"]] = _Scope(rules, day, first, last)
    stored = stored_compliance(
        read_models.engine, {key: (scope.first, scope.last) for key, scope in scopes.items()}
    )
    reports = []
    for track in tracks:
        common = {
            "track": track["track_id"],
            "title": track["title"],
            "priority": track["priority"],
            "areas": track["areas"],
        }
        scope = scopes[track["track_id"]]
        rows = [{**common, **columns} for columns in _windows(scope, stored[track["track_id"]])]
        reports.append(_TrackReport(track, scope.as_of, rows))
    return reports


@dataclass(frozen=True, slots=True)
class _Scope:
    """A track's rules, the day it is judged on, and the span of its report."""

    rules: TrackRules
    as_of: date
    first: date  # windows counting sessions on or after this day
    last: date  # windows starting on or before this day


def _windows(scope: _Scope, stored: StoredTrack) -> Iterator[dict[str, Any]]:
    """The report columns of a track's windows, from its stored ones and those after them."""
    closes = scope.rules.cadence.max_gap is not None
    for window in stored.windows:
        # A max-gap window closed by a held session counts sessions only up to its day.
        if closes and window.first_held is not None and window.first_held < scope.first:
            continue
        unconfirmed = bisect_left(window.pending, scope.as_of)
        yield _columns(
            scope,
            window.period,
            window.required,
            held=window.held,
            planned=len(window.pending) - unconfirmed,
            unconfirmed=unconfirmed,
            meetings=window.meetings,
        )
    final = stored.final
    if final is None or final.period.start > scope.last:
        return
    # The span reaches past the stored windows, which stop some time after the track's last
    # session: the windows after them have no session.
    for period in periods_after(scope.rules.cadence, final.period.end, scope.last):
        if period.end >= scope.first:
            yield _columns(
                scope, period, final.required, held=0, planned=0, unconfirmed=0, meetings=[]
            )


def _columns(
    scope: _Scope,
    period: Period,
    required: int,
    *,
    held: int,
    planned: int,
    unconfirmed: int,
    meetings: list[str],
) -> dict[str, Any]:
    status = window_status(
        period,
        required,
        held,
        planned,
        unconfirmed,
        as_of=scope.as_of,
        lead=scope.rules.at_risk_lead,
    )
    return {
        "window": period.label,
        "window_start": period.start,
        "window_end": period.end,
        "required": required,
        "held": held,
        "planned": planned,
        "unconfirmed": unconfirmed,
        "status": status.value,
        "meetings": meetings,
    }


@dataclass(frozen=True, slots=True)
class CountedMeeting:
    """A meeting counted in a window, as a report may show it (``domain.disclosure``).

    ``state``: held, planned, or unconfirmed (its day has passed and nobody recorded it
    held or cancelled). ``day``: the day it was held, else its planned day, in the
    meeting's own zone; a withheld meeting shows its planned day. ``non_working``: why its
    planned days are not working days of one of its parties (never for a withheld one).
    """

    meeting_id: str
    title: str
    day: date
    state: str
    withheld: bool
    non_working: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WindowOverview:
    """A report row and the meetings counted in its window, in chronological order."""

    row: dict[str, Any]
    meetings: tuple[CountedMeeting, ...]


@dataclass(frozen=True, slots=True)
class TrackOverview:
    """A track's windows, and its forward look: the current window and the next ones."""

    track: dict[str, Any]
    as_of: date
    windows: tuple[WindowOverview, ...]
    ahead: tuple[WindowOverview, ...]


@dataclass(frozen=True, slots=True)
class ComplianceOverview:
    """What the HTML compliance report shows.

    ``today``: ``as_of``, else the UTC date at ``generated``; the day overdue action items
    are judged on (each track's windows are judged on its own ``as_of``). Each overdue item
    says whether its details are ``withheld``.
    """

    as_of: date | None
    today: date
    generated: datetime
    tracks: tuple[TrackOverview, ...]
    overdue_actions: tuple[dict[str, Any], ...]


def compliance_overview(
    read_models: ReadModels,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
    since: date | None = None,
    until: date | None = None,
    track_id: str | None = None,
    area_id: str | None = None,
    ahead: int = 1,
    cleared: bool = False,
    calendar: WorkingCalendar | None = None,
) -> ComplianceOverview:
    """The compliance report with the meetings counted in each window, and overdue actions.

    Windows are those of :func:`compliance_report`. A track's forward look is its current
    window (the last one starting on or before its ``as_of``) and the ``ahead`` after it.
    Overdue actions are the open action items past due at ``today`` (only those of the
    tracks reported when the report is narrowed to a track or an area). Meetings and
    action items of restricted meetings are shown as ``domain.disclosure`` allows a
    channel that is ``cleared`` or not (an action item is part of its meeting's details).
    With a ``calendar``, meetings on a non-working day of one of their parties say why.
    """
    now = now or datetime.now(UTC)
    reports = _track_reports(
        read_models,
        as_of=as_of,
        now=now,
        since=since,
        until=until,
        track_id=track_id,
        area_id=area_id,
        ahead=ahead,
    )
    rows = read_models.meetings(
        m for report in reports for row in report.rows for m in row["meetings"]
    )
    marks = (
        {}
        if calendar is None
        else non_working_marks(calendar, rows.values(), read_models.party_calendars())
    )
    shown = {
        meeting_id: meeting_for_channel(row, cleared=cleared)
        | {"non_working": marks.get(meeting_id, [])}
        for meeting_id, row in rows.items()
    }
    tracks = []
    for report in reports:
        windows = tuple(
            WindowOverview(row, _counted(row, shown, cleared=cleared)) for row in report.rows
        )
        current = sum(w.row["window_start"] <= report.as_of for w in windows) - 1
        following = windows[max(current, 0) : max(current, 0) + 1 + ahead]
        tracks.append(
            TrackOverview(
                report.track,
                report.as_of,
                windows,
                tuple(w for w in following if w.row["window_end"] >= report.as_of),
            )
        )
    today = as_of or now.astimezone(UTC).date()
    in_scope = {report.track["track_id"] for report in reports}
    items = [
        item
        for item in action_report(read_models, as_of=today, status="overdue")
        if (track_id is None and area_id is None) or item["track_id"] in in_scope
    ]
    withheld = [not shows_details(item["classification"], cleared=cleared) for item in items]
    # Withheld items last: their place among the others would hint at their due dates.
    overdue = tuple(
        {
            **meeting_for_channel({**item, "title": item["meeting_title"]}, cleared=cleared),
            "withheld": hidden,
        }
        for hidden, item in sorted(zip(withheld, items, strict=True), key=lambda pair: pair[0])
    )
    return ComplianceOverview(as_of, today, now, tuple(tracks), overdue)


def _counted(
    row: dict[str, Any], shown: dict[str, dict[str, Any]], *, cleared: bool
) -> tuple[CountedMeeting, ...]:
    """The meetings of a report row, each with how it counts there."""
    # The row's meetings are in chronological order, and its unconfirmed ones are the
    # earliest of those not held (their day passed before ``as_of``).
    pending = [m for m in row["meetings"] if shown[m]["status"] != MeetingStatus.HELD]
    unconfirmed = set(pending[: row["unconfirmed"]])
    counted = []
    for meeting_id in row["meetings"]:
        meeting = shown[meeting_id]
        withheld = not shows_details(meeting["classification"], cleared=cleared)
        held = meeting.get("held_start_utc")  # withheld: None
        if meeting_id not in pending:
            state = "held"
        else:
            state = "unconfirmed" if meeting_id in unconfirmed else "planned"
        counted.append(
            CountedMeeting(
                meeting_id,
                meeting["title"],
                local_date(held, meeting["tz"])
                if held
                else date.fromisoformat(meeting["start_local"][:10]),
                state,
                withheld=withheld,
                non_working=() if withheld else tuple(meeting["non_working"]),
            )
        )
    return tuple(counted)


def action_report(
    read_models: ReadModels, *, as_of: date | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Action items; ``status`` is open, overdue (open and past due at ``as_of``) or done."""
    day = as_of or datetime.now(UTC).date()
    rows = []
    for item in read_models.action_items():
        item["overdue"] = item["status"] == "open" and item["due"] < day
        if status == "overdue" and not item["overdue"]:
            continue
        if status in {"open", "done"} and item["status"] != status:
            continue
        rows.append(item)
    return rows
