"""The schedule (one row per meeting) and the action items of held meetings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.orm import action_items, schedule
from consultations.adapters.projections.base import Recorded, existing, load_streams, replace_rows
from consultations.domain import meetings as meeting_model
from consultations.domain.events import (
    MeetingAmended,
    MeetingCancelled,
    MeetingEvent,
    MeetingRescheduled,
)


class ScheduleProjection:
    """Current state of every meeting, folded from its stream."""

    name: ClassVar[str] = "schedule"
    version: ClassVar[int] = 2  # 2: the meeting's own reminder offsets
    tables: ClassVar[tuple[sa.Table, ...]] = (schedule, action_items)

    def handle(
        self, connection: Connection, batch: Sequence[Recorded], *, replaying: bool = False
    ) -> None:
        """Re-fold each meeting touched by the batch and replace its rows."""
        streams: dict[str, list[Recorded]] = {}
        for recorded in batch:
            if recorded.stream_id.startswith("meeting-"):
                streams.setdefault(recorded.stream_id, []).append(recorded)
        if not streams:
            return
        # Meetings that already have a row had events before this batch: fetch only those.
        known = existing(
            connection, schedule.c.meeting_id, [s.removeprefix("meeting-") for s in streams]
        )
        earlier = load_streams(connection, (f"meeting-{m}" for m in known), batch[0].position - 1)
        for stream_id, before in earlier.items():
            streams[stream_id] = before + streams[stream_id]
        rows, item_rows = [], []
        for stream in streams.values():
            row, items = meeting_rows(stream)
            rows.append(row)
            item_rows += items
        ids = sorted(row["meeting_id"] for row in rows)
        replace_rows(connection, schedule, schedule.c.meeting_id, ids, rows)
        replace_rows(connection, action_items, action_items.c.meeting_id, ids, item_rows)

    def finish_replay(self, connection: Connection) -> None:
        """Nothing is deferred during a rebuild."""


def is_significant(event: MeetingEvent) -> bool:
    """Whether calendar subscribers must see the change (it raises the SEQUENCE)."""
    if isinstance(event, MeetingAmended):
        return event.venue is not None
    return isinstance(event, MeetingRescheduled | MeetingCancelled)


def meeting_rows(recorded: Sequence[Recorded]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The schedule row and action-item rows of one meeting's stream."""
    events: list[Any] = [r.event for r in recorded]
    state = meeting_model.fold(events)
    assert state is not None
    held = state.held
    row = {
        "meeting_id": state.id,
        "track_id": state.track_id,
        "title": state.title,
        "kind": state.kind.value,
        "status": state.status.value,
        "start_local": state.start.isoformat(timespec="seconds"),
        "end_local": state.end.isoformat(timespec="seconds"),
        "tz": state.tz,
        "start_utc": state.start_utc,
        "end_utc": state.end_utc,
        "venue": state.venue,
        "host": state.host,
        "participants": list(state.participants),
        "agenda": list(state.agenda),
        "classification": state.classification.value,
        "reminders": None if state.reminders is None else list(state.reminders),
        "held_start_utc": held.start_utc if held else None,
        "held_end_utc": held.end_utc if held else None,
        "outcomes": list(held.outcomes) if held else [],
        "cancel_reason": state.cancel_reason,
        "sequence": sum(1 for event in events if is_significant(event)),
        "created_at": recorded[0].recorded_at,
        "last_modified": recorded[-1].recorded_at,
        "last_position": recorded[-1].position,
        "version": state.version,
    }
    items = [
        {
            "item_id": item.item_id,
            "meeting_id": state.id,
            "text": item.text,
            "owner": item.owner,
            "due": item.due,
            "status": item.status.value,
            "closed_on": item.closed_on,
            "note": item.note,
        }
        for item in state.action_items
    ]
    return row, items
