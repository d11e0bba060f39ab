"""Tracks and their areas and parties, one row per track (plus link rows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.eventlog import EventMapper, RecordedEvent
from consultations.adapters.orm import track_areas, track_parties, tracks
from consultations.adapters.projections.base import (
    BatchByBatch,
    Replay,
    replace_rows,
    streams_before,
)
from consultations.domain import tracks as track_model
from consultations.domain.aggregates import TRACK
from consultations.domain.events import TrackAdded, TrackAmended, TrackRetired


class TrackProjection:
    """Current state of every track, folded from its stream."""

    name: ClassVar[str] = "tracks"
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[sa.Table, ...]] = (tracks, track_areas, track_parties)
    reads: ClassVar[tuple[str, ...]] = ()  # projections whose tables it reads

    def __init__(self, mapper: EventMapper) -> None:
        self._mapper = mapper  # to decode the earlier events of the tracks it re-folds

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Re-fold each track touched by the batch and replace its rows."""
        touched = {
            r.event.track_id
            for r in batch
            if isinstance(r.event, TrackAdded | TrackAmended | TrackRetired)
        }
        if not touched:
            return
        streams = streams_before(
            connection, self._mapper, batch, [TRACK.stream_id(t) for t in touched]
        )
        for recorded in batch:
            if recorded.stream_id in streams:
                streams[recorded.stream_id].append(recorded)
        rows, area_rows, party_rows = [], [], []
        for recorded_events in streams.values():
            state = track_model.fold(cast(Iterable[Any], (r.event for r in recorded_events)))
            assert state is not None
            rows.append(track_row(state))
            area_rows += [{"track_id": state.id, "area_id": area} for area in state.areas]
            party_rows += [{"track_id": state.id, "party_id": party} for party in state.parties]
        ids = sorted(touched)
        replace_rows(connection, tracks, tracks.c.track_id, ids, rows)
        replace_rows(connection, track_areas, track_areas.c.track_id, ids, area_rows)
        replace_rows(connection, track_parties, track_parties.c.track_id, ids, party_rows)

    def replay(self, connection: Connection) -> Replay:
        """A rebuild handles the log batch after batch."""
        return BatchByBatch(self, connection)


def track_row(state: track_model.Track) -> dict[str, Any]:
    """The ``tracks`` row of a track state."""
    return {
        "track_id": state.id,
        "title": state.title,
        "kind": state.kind.value,
        "cadence": str(state.cadence),
        "required": state.required,
        "start_date": state.start,
        "retired_on": state.retired_on,
        "tz": state.tz,
        "priority": state.priority.value,
        "default_duration": str(state.default_duration),
        "reminders": [str(offset) for offset in state.reminders],
        "host_rotation": list(state.host_rotation),
        "version": state.version,
    }
