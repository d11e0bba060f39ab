"""Reports computed from the read models: compliance per window, action items."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from consultations.adapters.projections.compliance import rules_of, session_of
from consultations.adapters.read_models import ReadModels
from consultations.domain.compliance import evaluate

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
    """
    tracks = read_models.tracks(track_id=track_id, area_id=area_id)
    sessions: dict[str, list[Any]] = {}
    for row in read_models.sessions_of([t["track_id"] for t in tracks]):
        if row["status"] != "cancelled":
            sessions.setdefault(row["track_id"], []).append(session_of(row))
    rows: list[dict[str, Any]] = []
    for track in tracks:
        day = as_of or today_in(track["tz"], now)
        windows = evaluate(
            rules_of(track),
            sessions.get(track["track_id"], []),
            day,
            since=since,
            until=until or date(day.year, 12, 31),
        )
        rows += [
            {
                "track": track["track_id"],
                "title": track["title"],
                "priority": track["priority"],
                "areas": track["areas"],
                "window": window.label,
                "window_start": window.start,
                "window_end": window.end,
                "required": window.required,
                "held": window.held,
                "planned": window.planned,
                "unconfirmed": window.unconfirmed,
                "status": window.status.value,
                "meetings": list(window.meetings),
            }
            for window in windows
        ]
    return rows


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
