"""The schedule (one row per meeting) and the action items of held meetings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.eventlog import EventMapper, RecordedEvent
from consultations.adapters.orm import action_items, schedule
from consultations.adapters.projections.base import Replay, replace_rows, streams_before
from consultations.domain import meetings as meeting_model
from consultations.domain.aggregates import MEETING
from consultations.domain.events import (
    MeetingAmended,
    MeetingCancelled,
    MeetingEvent,
    MeetingRescheduled,
)

REPLAY_CACHE = 20_000
"""Meetings kept folded in memory during a rebuild, so a later event needs no reload."""


@dataclass(slots=True)
class Folded:
    """A meeting folded up to some event, with what its row takes from the log."""

    state: meeting_model.Meeting
    created_at: datetime
    last_modified: datetime
    last_position: int
    sequence: int

    @classmethod
    def of(cls, stream: Sequence[RecordedEvent]) -> Folded:
        """Fold a whole stream (its first event plans the meeting)."""
        first = stream[0]
        state = meeting_model.evolve(None, cast(MeetingEvent, first.event))
        folded = cls(state, first.recorded_at, first.recorded_at, first.position, 0)
        for recorded in stream[1:]:
            folded.advance(recorded)
        return folded

    def advance(self, recorded: RecordedEvent) -> None:
        """Apply the stream's next event."""
        event = cast(MeetingEvent, recorded.event)
        self.state = meeting_model.evolve(self.state, event)
        self.last_modified, self.last_position = recorded.recorded_at, recorded.position
        self.sequence += is_significant(event)


@dataclass
class _Replay:
    """A rebuild in progress: the meetings folded most recently."""

    projection: ScheduleProjection
    connection: Connection
    folded: dict[str, Folded] = field(default_factory=dict)

    def feed(self, batch: Sequence[RecordedEvent]) -> None:
        """Fold the batch's meetings further, from memory where they are."""
        self.projection.project(self.connection, batch, self)

    def finish(self) -> None:
        """The rows are written batch by batch: nothing is left."""

    def remember(self, stream_id: str, folded: Folded) -> None:
        self.folded.pop(stream_id, None)
        self.folded[stream_id] = folded  # most recently used last
        while len(self.folded) > REPLAY_CACHE:
            del self.folded[next(iter(self.folded))]


class ScheduleProjection:
    """Current state of every meeting, folded from its stream."""

    name: ClassVar[str] = "schedule"
    version: ClassVar[int] = 2  # 2: the meeting's own reminder offsets
    tables: ClassVar[tuple[sa.Table, ...]] = (schedule, action_items)
    reads: ClassVar[tuple[str, ...]] = ()  # projections whose tables it reads

    def __init__(self, mapper: EventMapper) -> None:
        self._mapper = mapper  # to decode the earlier events of a meeting it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Fold each meeting touched by the batch further and replace its rows."""
        self.project(connection, batch, None)

    def replay(self, connection: Connection) -> Replay:
        """A rebuild keeps the meetings it folded in memory (up to ``REPLAY_CACHE``).

        Only a meeting whose stream spans far apart in the log is reloaded.
        """
        return _Replay(self, connection)

    def project(
        self, connection: Connection, batch: Sequence[RecordedEvent], replay: _Replay | None
    ) -> None:
        """Fold the batch's meetings further (from ``replay``'s memory in a rebuild)."""
        streams: dict[str, list[RecordedEvent]] = {}
        for recorded in batch:
            if MEETING.owns(recorded.stream_id):
                streams.setdefault(recorded.stream_id, []).append(recorded)
        if not streams:
            return
        folded: dict[str, Folded] = {}
        if replay is not None:
            folded = {s: replay.folded[s] for s in streams if s in replay.folded}
        # A meeting whose stream the batch does not start had events before, so it has rows.
        with_rows = {s for s, new in streams.items() if new[0].stream_version > 1}
        before = streams_before(connection, self._mapper, batch, with_rows - folded.keys())
        for stream_id, events in before.items():
            folded[stream_id] = Folded.of(events)
        rows, item_rows = [], []
        for stream_id, new in streams.items():
            meeting = folded.get(stream_id)
            if meeting is None:
                meeting = Folded.of(new)
            else:
                for recorded in new:
                    meeting.advance(recorded)
            if replay is not None:
                replay.remember(stream_id, meeting)
            row, items = meeting_rows(meeting)
            rows.append(row)
            item_rows += items
        stale = sorted(MEETING.id_of(s) for s in with_rows)
        replace_rows(connection, schedule, schedule.c.meeting_id, stale, rows)
        replace_rows(connection, action_items, action_items.c.meeting_id, stale, item_rows)


def is_significant(event: MeetingEvent) -> bool:
    """Whether calendar subscribers must see the change (it raises the SEQUENCE)."""
    if isinstance(event, MeetingAmended):
        return event.venue is not None
    return isinstance(event, MeetingRescheduled | MeetingCancelled)


def meeting_rows(meeting: Folded) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The schedule row and action-item rows of a folded meeting."""
    state = meeting.state
    held = state.held
    row = {
        "meeting_id": state.id,
        "track_id": state.track_id,
        "title": state.title,
        "kind": state.kind.value,
        "status": state.status.value,
        "start_local": state.start.local.isoformat(timespec="seconds"),
        "end_local": state.end.local.isoformat(timespec="seconds"),
        "tz": state.tz,
        "start_utc": state.start.utc,
        "end_utc": state.end.utc,
        "venue": state.venue,
        "host": state.host,
        "participants": list(state.participants),
        "agenda": list(state.agenda),
        "classification": state.classification.value,
        "reminders": None if state.reminders is None else list(state.reminders),
        "held_start_utc": held.start.utc if held else None,
        "held_end_utc": held.end.utc if held and held.end else None,
        "outcomes": list(held.outcomes) if held else [],
        "cancel_reason": state.cancel_reason,
        "sequence": meeting.sequence,
        "created_at": meeting.created_at,
        "last_modified": meeting.last_modified,
        "last_position": meeting.last_position,
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
