"""`… show ID`: one aggregate's current state and its history (what, when, who, why).

The default format is text for people: fields in words, lists one item a line, and a
history that says who changed what, from where. JSON and CSV give the stored values.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import click

from consultations.adapters.eventlog import EventLog, RecordedEvent
from consultations.domain.aggregates import PARTY, named
from consultations.domain.durations import parse_duration
from consultations.domain.events import (
    ActionItemCompleted,
    ActionItemDropped,
    MeetingAmended,
    MeetingCancelled,
    MeetingHeld,
    MeetingPlanned,
    MeetingRescheduled,
    TrackAdded,
    TrackAmended,
    TrackRetired,
)
from consultations.domain.meetings import Meeting
from consultations.domain.tracks import Track
from consultations.domain.wall_time import WallTime
from consultations.domain.working_calendar import NON_WORKING_DAY, WorkingCalendar, parties_of
from consultations.entrypoints.cli.context import CliContext
from consultations.entrypoints.cli.output import (
    field_lines,
    plain,
    render,
    terminal_width,
    wrap_words,
)
from consultations.service_layer.history import aggregate_history
from consultations.service_layer.wording import (
    describe_cadence,
    describe_duration,
    describe_length,
    describe_offsets,
    describe_source,
    describe_time,
    join_words,
    plural,
)
from consultations.service_layer.working_time import calendar_of

HISTORY_COLUMNS = ("version", "recorded_at", "event_type", "actor", "reason", "changes")
# A field as shown: one line of text, or a list shown one item a line.
Value = str | list[str]
Fields = dict[str, Value]
_LABEL_WIDTH = len("classification  ")
_WHEN_WIDTH = len("2026-12-06 07:43 UTC  ")
_NARROW = 40  # fewer columns than this for a history sentence: it goes under its time


def show_aggregate(context: CliContext, noun: str, aggregate_id: str, output_format: str) -> None:
    """Print the state and the history of ``<noun>-<id>``: text, JSON or CSV."""
    app = context.app(projections=False)
    store = app.store
    found = aggregate_history(store, noun, aggregate_id)
    # Each other party's own minutes of a meeting, beside the convener's record of it held.
    minutes = _minutes(context, aggregate_id) if noun == "meeting" else None
    if output_format == "table":
        text = _text(store, noun, found.state, found.events, app.calendar, minutes or [])
        click.echo(text, nl=False)
        return
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
        if minutes is not None:
            document["minutes"] = minutes
        sys.stdout.write(json.dumps(document, ensure_ascii=False, default=plain, indent=2) + "\n")
        return
    rows = [{"field": key, "value": value} for key, value in state.items()]
    render(rows, ("field", "value"), output_format, title=f"{noun} {aggregate_id}")
    render(history, (*HISTORY_COLUMNS[:1], "position", *HISTORY_COLUMNS[1:]), output_format)
    if minutes is not None:
        render(minutes, MINUTES_COLUMNS, output_format)


MINUTES_COLUMNS = ("party_id", "attendance", "outcomes", "recorded_at")


def _minutes(context: CliContext, meeting_id: str) -> list[dict[str, Any]]:
    """Each party's own minutes of a meeting (its ``minutes`` rows), by party."""
    with context.read_models() as read:
        return [{name: row[name] for name in MINUTES_COLUMNS} for row in read.minutes(meeting_id)]


def _minutes_lines(rows: Sequence[dict[str, Any]], width: int) -> list[str]:
    """Each party's own minutes: a heading, then its attendance and outcomes."""
    lines: list[str] = []
    for row in rows:
        heading = f"minutes of {row['party_id']}, recorded {describe_time(row['recorded_at'])}"
        lines += ["", *wrap_words(heading, width)]
        lines += field_lines("attendance", ", ".join(row["attendance"]) or "not recorded", width,
                             _LABEL_WIDTH)  # fmt: skip
        lines += field_lines("outcomes", list(row["outcomes"]), width, _LABEL_WIDTH)
    return lines


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


# --- text ----------------------------------------------------------------------------------


def _text(
    store: EventLog,
    noun: str,
    state: Any,
    events: Sequence[RecordedEvent],
    calendar: WorkingCalendar,
    minutes: Sequence[dict[str, Any]],
) -> str:
    """The state (heading, title, one field a line), minutes and history, wrapped.

    ``minutes``: each other party's own minutes of a meeting, after the meeting's fields.
    """
    width = max(terminal_width(), 40)
    describe: Callable[[Any], Fields]
    if isinstance(state, Meeting):
        track = aggregate_history(store, "track", state.track_id).state if state.track_id else None
        heading = f"meeting {state.id}: {state.status.value}"
        describe = partial(
            _meeting_fields, track=track, days_off=partial(_days_off, store, calendar)
        )
    else:
        retired = f": retired as of {state.retired_on}" if state.retired_on else ""
        heading = f"track {state.id}{retired}"
        describe = _track_fields
    lines = [heading, *wrap_words(state.title, width), ""]
    for label, value in describe(state).items():
        lines += field_lines(label, value, width, _LABEL_WIDTH)
    lines += _minutes_lines(minutes, width)
    lines += ["", "history"]
    before: Fields | None = None
    for count, recorded in enumerate(events, start=1):
        then: Any = named(noun).fold(event.event for event in events[:count])
        after = describe(then)
        lines += _history_lines(recorded, before, after, width)
        before = after
    return "\n".join(lines) + "\n"


def _wall(time: WallTime) -> str:
    """A wall time as typed, with its fold when it occurs twice."""
    shown = describe_time(time.local)
    return shown if time.fold is None else f"{shown} (fold {time.fold})"


def _span(start: WallTime, end: WallTime | None, tz: str) -> str:
    """A span such as 2025-04-15 10:00–16:00 Asia/Baku (6 h); a later day's end in full."""
    if end is None:
        return f"{_wall(start)} {tz}"
    until = _wall(end)
    if end.local.date() == start.local.date():
        until = until.split(" ", 1)[1]
    return f"{_wall(start)}–{until} {tz} ({describe_length(end.utc - start.utc)})"


def _days_off(store: EventLog, calendar: WorkingCalendar, meeting: Meeting) -> list[str]:
    """Why the meeting's planned days are not working days of its parties (from the log)."""
    parties = (
        PARTY.fold(event.event for event in store.read_stream(PARTY.stream_id(party_id)))
        for party_id in parties_of(meeting.participants, meeting.host)
    )
    calendars = [calendar_of(party) for party in parties if party is not None]
    found = calendar.check(calendars, meeting.start.utc, meeting.end.utc)
    return [str(finding) for finding in found if finding.kind in NON_WORKING_DAY]


def _meeting_fields(
    meeting: Meeting, track: Track | None, days_off: Callable[[Meeting], list[str]]
) -> Fields:
    """A meeting's fields in words, in the order a secretariat reads them."""
    if meeting.reminders is not None:
        reminders = describe_offsets([parse_duration(offset) for offset in meeting.reminders])
    elif track is not None:
        reminders = f"{describe_offsets(track.reminders)} (the track's)"
    else:
        reminders = "none"
    fields: Fields = {
        "track": meeting.track_id or "none (ad hoc)",
        "kind": meeting.kind.value,
        "planned": _span(meeting.start, meeting.end, meeting.tz),
    }
    if meeting.cancel_reason is not None:
        fields["cancelled"] = meeting.cancel_reason
    if meeting.held is not None:
        fields["held"] = _span(meeting.held.start, meeting.held.end, meeting.tz)
    non_working = days_off(meeting)
    if non_working:
        fields["non-working"] = non_working
    fields |= {
        "venue": meeting.venue or "none",
        "host": meeting.host or "none",
        "participants": ", ".join(meeting.participants) or "none",
    }
    if meeting.convener is not None:  # whose instance records it held (the fields below)
        fields["convener"] = meeting.convener
    if meeting.held is not None:
        fields["attendance"] = ", ".join(meeting.held.attendance) or "not recorded"
    fields |= {
        "classification": meeting.classification.value,
        "reminders": reminders,
        "agenda": list(meeting.agenda),
    }
    if meeting.held is not None:
        fields["outcomes"] = list(meeting.held.outcomes)
        fields["action items"] = [
            f"{item.item_id}: {item.text} ({item.owner}, due {item.due}) — {item.status.value}"
            + (f" on {item.closed_on}" if item.closed_on else "")
            + (f": {item.note}" if item.note else "")
            for item in meeting.action_items
        ]
    return fields


def _track_fields(track: Track) -> Fields:
    """A track's fields in words."""
    return {
        "kind": track.kind.value,
        "cadence": describe_cadence(track.cadence, track.required),
        "priority": track.priority.value,
        "starts": str(track.start),
        "zone": track.tz,
        "parties": ", ".join(track.parties),
        "areas": ", ".join(track.areas),
        "meeting length": describe_duration(track.default_duration),
        "reminders": describe_offsets(track.reminders),
        "host rotation": ", ".join(track.host_rotation) or "none",
    }


def _history_lines(
    recorded: RecordedEvent, before: Fields | None, after: Fields, width: int
) -> list[str]:
    """One event: when, then who did what from where (and why), then what changed."""
    metadata = recorded.metadata
    actor = metadata.get("actor") or "someone"
    where = describe_source(metadata.get("source"))
    sentence = f"{actor} {_what(recorded)}" + (f", {where}" if where else "")
    note = getattr(recorded.event, "note", None)
    reasons = (getattr(recorded.event, "reason", None), metadata.get("reason"))
    sentence += "".join(
        [f"; note: {note}" if note else ""]
        + [f"; reason: {r}" for r in dict.fromkeys(reasons) if r]
    )
    when = describe_time(recorded.recorded_at)
    if width - _WHEN_WIDTH >= _NARROW:  # the time beside the sentence, else above it
        lines = wrap_words(sentence, width, when.ljust(_WHEN_WIDTH), " " * _WHEN_WIDTH)
    else:
        lines = [when, *wrap_words(sentence, width, "  ", "  ")]
    if before is not None and isinstance(recorded.event, _CHANGES):
        indent = " " * (_WHEN_WIDTH + 2)
        for label, value in after.items():
            old = _one_line(before.get(label, ""))
            new = _one_line(value)
            if old != new:
                change = f"{label}: {old or 'none'} → {new or 'none'}"
                lines += wrap_words(change, width, indent, indent + "  ")
    return lines


_CHANGES = (MeetingAmended, MeetingRescheduled, TrackAmended)


def _one_line(value: Value) -> str:
    return value if isinstance(value, str) else "; ".join(value)


def _held(event: MeetingHeld) -> str:
    counts = [
        plural(len(event.outcomes), "outcome"),
        plural(len(event.action_items), "action item"),
    ]
    return f"recorded it as held with {join_words(counts)}"


# What each event did, in words ("it" is the meeting or track shown).
_WHAT: dict[type[Any], Callable[[Any], str]] = {
    MeetingPlanned: lambda event: f"planned it for {_span(event.start, event.end, event.tz)}",
    MeetingRescheduled: lambda _: "rescheduled it",
    MeetingAmended: lambda _: "changed it",
    MeetingCancelled: lambda _: "cancelled it",
    MeetingHeld: _held,
    ActionItemCompleted: lambda event: f"marked action item {event.item_id} done on {event.on}",
    ActionItemDropped: lambda event: f"dropped action item {event.item_id} on {event.on}",
    TrackAdded: lambda _: "added the track",
    TrackAmended: lambda _: "changed it",
    TrackRetired: lambda event: f"retired it as of {event.on}",
}


def _what(recorded: RecordedEvent) -> str:
    """What an event did, in words; an event without words of its own by its type."""
    describe = _WHAT.get(type(recorded.event))
    return describe(recorded.event) if describe else f"recorded {_words(recorded.event_type)}"


def _words(event_type: str) -> str:
    """``MeetingNudged`` as "meeting nudged"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", event_type).lower()
