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
from consultations.domain.compliance import Period, TrackRules, periods_after, window_status

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
) -> list[dict[str, Any]]:
    """One row per track and window, with its status at ``as_of``.

    Without ``as_of``, each track is evaluated on the date it is in its own zone at ``now``
    (default: the current instant).

    Windows run from ``since`` (default: each track's start) to ``until`` (default: the end
    of the ``as_of`` year, so the rest of the year's windows show as upcoming).

    The rows are those of ``domain.compliance.evaluate`` over the track's sessions, read
    from the compliance projection's stored windows: only the statuses are computed here.
    """
    tracks = read_models.tracks(track_id=track_id, area_id=area_id)
    scopes: dict[str, _Scope] = {}
    for track in tracks:
        rules = rules_of(track)
        day = as_of or today_in(track["tz"], now)
        first = rules.start if since is None else since
        last = min(until or date(day.year, 12, 31), rules.retired_on or date.max)
        scopes[track["track_id"]] = _Scope(rules, day, first, last)
    stored = stored_compliance(
        read_models.engine, {key: (scope.first, scope.last) for key, scope in scopes.items()}
    )
    rows: list[dict[str, Any]] = []
    for track in tracks:
        common = {
            "track": track["track_id"],
            "title": track["title"],
            "priority": track["priority"],
            "areas": track["areas"],
        }
        scope = scopes[track["track_id"]]
        rows += [{**common, **columns} for columns in _windows(scope, stored[track["track_id"]])]
    return rows


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
