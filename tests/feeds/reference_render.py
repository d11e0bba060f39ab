"""The renderer as it was before the direct VEVENT writer: every event through ``ics``.

Kept only as an oracle: the tests check that :func:`consultations.adapters.ical_feed.
render_calendar` gives exactly the bytes this slow path gives, on generated meetings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ics import Calendar, Event  # type: ignore[import-untyped]
from ics.grammar.parse import ContentLine  # type: ignore[import-untyped]
from ics.utils import escape_string  # type: ignore[import-untyped]

from consultations.adapters.ical_feed import PRODID, FeedCalendar, FeedMeeting
from consultations.domain.disclosure import BUSY

_STATUSES = {"planned", "rescheduled", "held", "cancelled"}
_CLASSES = {"public": "PUBLIC", "internal": "PRIVATE", "restricted": "CONFIDENTIAL"}
_CALENDAR_ORDER = (
    "VERSION",
    "PRODID",
    "CALSCALE",
    "METHOD",
    "X-WR-CALNAME",
    "NAME",
    "REFRESH-INTERVAL",
    "X-PUBLISHED-TTL",
)
_EVENT_ORDER = (
    "UID",
    "DTSTAMP",
    "CREATED",
    "LAST-MODIFIED",
    "SEQUENCE",
    "STATUS",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "LOCATION",
    "DESCRIPTION",
    "CATEGORIES",
    "ORGANIZER",
    "CLASS",
    "TRANSP",
)
_MAX_OCTETS = 75
# Line breaks of every kind become "\n" (escaped by ics as "\\n"); other controls are not TEXT.
_LINE_BREAKS = re.compile(r"\r\n|[\r\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NAME = re.compile(r"[;:]")


def render_calendar(
    calendar: FeedCalendar, meetings: Sequence[FeedMeeting], *, stamp: datetime | None = None
) -> bytes:
    """UTF-8 bytes of an RFC 5545 calendar; the same input gives the same bytes."""
    ids = [meeting.meeting_id for meeting in meetings]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate meeting ids: each UID must appear once")
    ics_calendar = Calendar(creator=PRODID)
    ics_calendar.scale = "GREGORIAN"
    events = [_event(meeting, calendar.include_restricted, stamp) for meeting in meetings]
    if all(any(line.name == "ORGANIZER" for line in event.extra) for event in events):
        ics_calendar.method = "PUBLISH"  # RFC 5546: PUBLISH needs an ORGANIZER in each event
    elif stamp is not None:  # no METHOD: DTSTAMP is the last revision after all
        return render_calendar(calendar, meetings)
    refresh = _duration(calendar.refresh)
    name = escape_string(_text(calendar.name))
    ics_calendar.extra.extend(
        [
            ContentLine("X-WR-CALNAME", value=name),
            ContentLine("NAME", value=name),
            ContentLine("REFRESH-INTERVAL", params={"VALUE": ["DURATION"]}, value=refresh),
            ContentLine("X-PUBLISHED-TTL", value=refresh),
        ]
    )
    for event in events:
        ics_calendar.events.add(event)
    serialized: str = ics_calendar.serialize()
    return _normalise(serialized).encode("utf-8")


def _event(meeting: FeedMeeting, include_restricted: bool, stamp: datetime | None) -> Event:
    if meeting.status not in _STATUSES:
        raise ValueError(f"unknown meeting status {meeting.status!r}")
    if meeting.classification not in _CLASSES:
        raise ValueError(f"unknown classification {meeting.classification!r}")
    cancelled = meeting.status == "cancelled"
    event = Event(
        uid=f"{meeting.meeting_id}@consultations",
        begin=_aware(meeting.start_utc),
        end=_aware(meeting.end_utc),
        last_modified=_aware(meeting.last_modified),
        status="CANCELLED" if cancelled else "CONFIRMED",
        classification=_CLASSES[meeting.classification],
        transparent=cancelled,  # a cancelled meeting no longer blocks the time
    )
    event.extra.extend(
        [
            ContentLine("DTSTAMP", value=_utc(stamp or meeting.last_modified)),
            ContentLine("CREATED", value=_utc(meeting.created_at)),
            ContentLine("SEQUENCE", value=str(meeting.sequence)),
        ]
    )
    if meeting.classification == "restricted" and not include_restricted:
        event.name = BUSY
        return event
    event.name = _text(meeting.title)
    event.description = _description(meeting)
    event.location = _text(meeting.venue) if meeting.venue else None
    areas = sorted({_text(area) for area in meeting.areas})
    if areas:
        value = ",".join(escape_string(area) for area in areas)
        event.extra.append(ContentLine("CATEGORIES", value=value))
    if meeting.host_email:
        # The host's name (else its id) as CN: one line, no controls, DQUOTE replaced.
        name = re.sub(r"\s+", " ", _text(meeting.host_name or meeting.host or "")).strip()
        name = name.replace('"', "'")
        if re.search("[;:,]", name):
            name = f'"{name}"'
        address = "mailto:" + "".join(
            char
            if (char.isascii() and char.isalnum()) or char in "@.!$&'*+=^_`{|}~-"
            else f"%{ord(char):02X}"
            for char in meeting.host_email
        )
        params = {"CN": [name]} if name else {}
        event.extra.append(ContentLine("ORGANIZER", params=params, value=address))
    return event


def _description(meeting: FeedMeeting) -> str:
    start = datetime.fromisoformat(meeting.start_local)
    end = datetime.fromisoformat(meeting.end_local)
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    lines = [f"Local time: {start:%Y-%m-%d %H:%M}–{until} ({meeting.tz})"]
    if meeting.venue:
        lines.append(f"Venue: {meeting.venue}")
    if meeting.host:
        lines.append(f"Host: {meeting.host}")
    if meeting.track_title:
        lines.append(f"Track: {meeting.track_title}")
    if meeting.agenda:
        lines.append("Agenda:")
        lines.extend(f"{number}. {item}" for number, item in enumerate(meeting.agenda, 1))
    return _text("\n".join(lines))


def _text(value: str) -> str:
    """Plain text as RFC 5545 TEXT allows it: newline line breaks, no other control characters."""
    return _CONTROLS.sub("", _LINE_BREAKS.sub("\n", value))


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}; feed times must be aware")
    return moment


def _utc(moment: datetime) -> str:
    return f"{_aware(moment).astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _duration(span: timedelta) -> str:
    """An RFC 5545 DURATION such as ``PT1H`` or ``P1DT30M``."""
    seconds = int(span.total_seconds())
    if seconds <= 0:
        raise ValueError(f"refresh interval must be positive, got {span}")
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def _normalise(serialized: str) -> str:
    """Unfold, order calendar properties and events deterministically, fold and end with CRLF."""
    lines = _unfold(serialized)
    if lines[0] != "BEGIN:VCALENDAR" or lines[-1] != "END:VCALENDAR":
        raise ValueError("not a single VCALENDAR")
    properties: list[str] = []
    components: list[list[str]] = []
    depth = 0
    for line in lines[1:-1]:
        if depth == 0 and not line.startswith("BEGIN:"):
            properties.append(line)
            continue
        if depth == 0:
            components.append([])
        components[-1].append(line)
        depth += line.startswith("BEGIN:") - line.startswith("END:")
    properties.sort(key=lambda line: _rank(line, _CALENDAR_ORDER))
    components = [_order_event(component) for component in components]
    components.sort(key=_component_key)
    body = [line for component in components for line in component]
    out = ["BEGIN:VCALENDAR", *properties, *body, "END:VCALENDAR"]
    return "".join(folded + "\r\n" for line in out for folded in _fold(line))


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for line in re.split(r"\r\n|\n", text):
        if line[:1] in {" ", "\t"} and lines:
            lines[-1] += line[1:]
        elif line:
            lines.append(line)
    return lines


def _name(line: str) -> str:
    return _NAME.split(line, maxsplit=1)[0].upper()


def _rank(line: str, order: tuple[str, ...]) -> int:
    name = _name(line)
    return order.index(name) if name in order else len(order)


def _order_event(component: list[str]) -> list[str]:
    """Properties in a fixed order; the events this module builds have no subcomponents."""
    head, *inner, tail = component
    if any(line.startswith("BEGIN:") for line in inner):
        raise ValueError(f"unexpected subcomponent in {head}")
    return [head, *sorted(inner, key=lambda line: (_rank(line, _EVENT_ORDER), line)), tail]


def _component_key(component: list[str]) -> tuple[str, str, str]:
    values = {_name(line): line.partition(":")[2] for line in component[1:-1]}
    return component[0], values.get("DTSTART", ""), values.get("UID", "")


def _fold(line: str) -> list[str]:
    """Split into physical lines of at most 75 octets, never inside a UTF-8 character."""
    if len(line) * 4 <= _MAX_OCTETS or len(line.encode("utf-8")) <= _MAX_OCTETS:
        return [line]  # most lines: no character-by-character walk
    chunks: list[str] = []
    current, size, limit = "", 0, _MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            chunks.append(current)
            current, size, limit = "", 0, _MAX_OCTETS - 1  # continuation lines start with " "
        current += char
        size += width
    chunks.append(current)
    return [chunks[0], *(" " + chunk for chunk in chunks[1:])]
