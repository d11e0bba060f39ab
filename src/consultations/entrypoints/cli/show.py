"""`… show ID`: one aggregate's current state and its history (what, when, who, why)."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from consultations.domain.wall_time import WallTime
from consultations.entrypoints.cli.context import CliContext
from consultations.entrypoints.cli.output import plain, render
from consultations.service_layer.history import aggregate_history

HISTORY_COLUMNS = ("version", "recorded_at", "event_type", "actor", "reason", "changes")


def show_aggregate(context: CliContext, noun: str, aggregate_id: str, output_format: str) -> None:
    """Print the state (key/value) and the history of ``<noun>-<id>``."""
    store = context.app(projections=False).store
    found = aggregate_history(store, noun, aggregate_id)
    state = _fields(found.state)
    history = [
        {
            "version": event.stream_version,
            "position": event.position,
            "recorded_at": event.recorded_at,
            "occurred_at": event.occurred_at,
            "event_type": event.event_type,
            "actor": event.metadata.get("actor"),
            "reason": event.metadata.get("reason"),
            "source": event.metadata.get("source"),
            "changes": {
                k: v for k, v in store.mapper.to_stored(event.event)[1].items() if v is not None
            },
        }
        for event in found.events
    ]
    if output_format == "json":
        document: dict[str, Any] = {noun: state, "history": history}
        sys.stdout.write(json.dumps(document, ensure_ascii=False, default=plain, indent=2) + "\n")
        return
    rows = [{"field": key, "value": value} for key, value in state.items()]
    render(rows, ("field", "value"), output_format, title=f"{noun} {aggregate_id}")
    columns = (
        HISTORY_COLUMNS
        if output_format == "table"
        else (*HISTORY_COLUMNS[:1], "position", *HISTORY_COLUMNS[1:])
    )
    render(history, columns, output_format, title="History")


def _fields(value: Any) -> Any:
    """A state as plain values; a wall time ``x`` as ``x``, ``x_fold``, ``x_utc`` (as stored)."""
    if isinstance(value, tuple | list):
        return [_fields(item) for item in value]
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if isinstance(item, WallTime):
            fields |= {field.name: item.local, f"{field.name}_fold": item.fold}
            fields[f"{field.name}_utc"] = item.utc
        else:
            fields[field.name] = _fields(item)
    return fields
