"""Render one iCalendar feed (RFC 5545) from meetings, as bytes that depend only on the input.

The calendar envelope (VERSION, PRODID, CALSCALE, METHOD and the feed's name and refresh
interval) is built with the ``ics`` package (0.7.x) and put in a fixed property order. The
VEVENTs are written directly, one content line per property in the order below, with TEXT
values escaped by ``ics``'s own ``escape_string``: going through ``ics.Event`` and then
re-parsing and re-ordering its output cost several times the serialisation itself, and
ics 0.7 cannot write DTSTAMP, CREATED, SEQUENCE or a deterministic CATEGORIES anyway (it
writes ``created`` as DTSTAMP and keeps categories, and events, in ``set``s whose order
follows ``PYTHONHASHSEED``). ``tests/feeds/reference_render.py`` keeps the ``ics``-only
renderer as an oracle: both give the same bytes.

Events come sorted by DTSTART then UID; lines are folded at 75 octets on UTF-8 character
boundaries; every line, the last included, ends with CRLF.

Each event names its host secretariat as ORGANIZER (``CN`` its name, ``mailto:`` its
address) when the host party has an e-mail address and the event shows details (a "Busy"
block names nobody). RFC 5546 requires exactly one ORGANIZER per VEVENT under
``METHOD:PUBLISH``, so the calendar says ``METHOD:PUBLISH`` only when every event has one;
otherwise it carries no METHOD: a plain RFC 5545 calendar, to which no iTIP rules apply
(docs/design-notes.md).

DTSTAMP is the meeting's last change in the log (the same log gives the same bytes), unless
the caller passes ``stamp`` and the calendar has a METHOD: the one-meeting calendar attached
to an e-mail is then stamped with the time the message is built, as RFC 5545 §3.8.7.2 asks
of an object with a METHOD (without one, DTSTAMP is when the information was last revised).

Times are written in UTC, so no VTIMEZONE is needed; the local wall time and zone are stated
in DESCRIPTION. CLASS follows the classification (public → PUBLIC, internal → PRIVATE,
restricted → CONFIDENTIAL); it only guides clients that share calendars onwards (Google
ignores it), so restricted meetings are additionally reduced to a "Busy" block unless the
feed includes them. No VALARM is ever written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

from ics import Calendar  # type: ignore[import-untyped]
from ics.grammar.parse import ContentLine  # type: ignore[import-untyped]
from ics.utils import escape_string  # type: ignore[import-untyped]

from consultations.domain.disclosure import BUSY, shows_details

PRODID = "-//consultations//Bilateral cooperation schedule//EN"

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
# The order _vevent writes an event's properties in:
# UID DTSTAMP CREATED LAST-MODIFIED SEQUENCE STATUS DTSTART DTEND SUMMARY LOCATION
# DESCRIPTION CATEGORIES ORGANIZER CLASS TRANSP.
_MAX_OCTETS = 75
# Line breaks of every kind become "\n" (escaped as "\\n"); other controls are not TEXT.
_LINE_BREAKS = re.compile(r"\r\n|[\r\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNCLEAN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")  # what _text changes
_NAME = re.compile(r"[;:]")
# A parameter value is quoted when it holds one of these; DQUOTE cannot appear even quoted.
_PARAM_SPECIAL = re.compile(r"[;:,]")
# RFC 6068: what a mailto: address may keep as it is ("%", "/", "?", "#" are encoded).
_MAILTO_SAFE = "@.!$&'*+=^_`{|}~-"
_METHOD = re.compile(rb"^METHOD:([A-Za-z0-9-]+)\r$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class FeedMeeting:
    """One meeting as a feed shows it; built by the read side from the event log."""

    meeting_id: str
    title: str
    status: str  # planned | rescheduled | held | cancelled
    start_utc: datetime  # aware UTC
    end_utc: datetime  # aware UTC
    start_local: str  # "2026-05-14T10:00:00" wall time in tz
    end_local: str
    tz: str  # IANA zone, e.g. "Asia/Baku"
    venue: str | None
    host: str | None  # party id, e.g. "AZ-MFA"
    agenda: tuple[str, ...]
    track_id: str | None
    track_title: str | None
    areas: tuple[str, ...]  # area ids → CATEGORIES
    classification: str  # public | internal | restricted
    sequence: int  # significant changes so far (time, venue, cancellation)
    created_at: datetime  # aware UTC, from the log
    last_modified: datetime  # aware UTC, from the log
    host_name: str | None = None  # the host party's name → ORGANIZER's CN
    host_email: str | None = None  # the host party's address → ORGANIZER (mailto:)


@dataclass(frozen=True, slots=True)
class FeedCalendar:
    """Calendar-level settings of one feed."""

    name: str  # → X-WR-CALNAME and NAME
    include_restricted: bool = False
    refresh: timedelta = timedelta(hours=1)  # → REFRESH-INTERVAL and X-PUBLISHED-TTL


def render_calendar(
    calendar: FeedCalendar, meetings: Sequence[FeedMeeting], *, stamp: datetime | None = None
) -> bytes:
    """UTF-8 bytes of an RFC 5545 calendar; the same input gives the same bytes.

    ``stamp`` (aware) is every event's DTSTAMP, for an object sent by e-mail, when the
    calendar has a METHOD; otherwise (and without ``stamp``) each event's DTSTAMP is its
    LAST-MODIFIED, so a feed's bytes depend on the log only.
    """
    fixed_stamp = None if stamp is None else _utc(stamp)
    include_restricted = calendar.include_restricted
    events: list[tuple[str, str, str]] = []
    every_one_organized = True
    for meeting in meetings:
        uid = f"{meeting.meeting_id}@consultations"
        start = _utc(meeting.start_utc)
        if fixed_stamp is None:
            text, organized = _published_vevent(meeting, include_restricted)
        else:
            text, organized = _vevent(meeting, uid, start, include_restricted, fixed_stamp)
        every_one_organized = every_one_organized and organized
        events.append((start, uid, text))
    if fixed_stamp is not None and not every_one_organized:
        # No METHOD after all: DTSTAMP is then the last revision (RFC 5545 §3.8.7.2).
        return render_calendar(calendar, meetings)
    if len({uid for _, uid, _ in events}) != len(events):
        raise ValueError("duplicate meeting ids: each UID must appear once")
    events.sort()  # by DTSTART, then UID (unique, so the text is never compared)
    head = _envelope(calendar, publish=every_one_organized)
    return "".join([head, *(text for _, _, text in events), "END:VCALENDAR\r\n"]).encode()


def calendar_method(data: bytes) -> str | None:
    """The METHOD of rendered calendar bytes (e.g. ``"PUBLISH"``), None when it has none.

    For the ``method`` parameter of a ``text/calendar`` MIME part, which must match it.
    """
    found = _METHOD.search(data)
    return None if found is None else found.group(1).decode("ascii")


def _envelope(calendar: FeedCalendar, *, publish: bool) -> str:
    """The calendar's opening lines up to its first component, folded, each ending in CRLF.

    ``publish``: write ``METHOD:PUBLISH`` (only when every event has an ORGANIZER).
    """
    ics_calendar = Calendar(creator=PRODID)
    ics_calendar.scale = "GREGORIAN"
    if publish:
        ics_calendar.method = "PUBLISH"
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
    serialized: str = ics_calendar.serialize()
    lines = _unfold(serialized)
    if lines[0] != "BEGIN:VCALENDAR" or lines[-1] != "END:VCALENDAR":
        raise ValueError("not a single VCALENDAR")
    properties = lines[1:-1]
    if any(line.startswith("BEGIN:") for line in properties):
        raise ValueError("unexpected component in the calendar envelope")
    properties.sort(key=_calendar_rank)
    return "".join(_fold(line) + "\r\n" for line in ["BEGIN:VCALENDAR", *properties])


VEVENTS_KEPT = 16_384
"""Rendered events a process keeps: a feed server renders the same meetings for every
subscriber, and most calendar clients fetch without a conditional request."""


@lru_cache(maxsize=VEVENTS_KEPT)
def _published_vevent(meeting: FeedMeeting, include_restricted: bool) -> tuple[str, bool]:
    """:func:`_vevent` with DTSTAMP its LAST-MODIFIED: a function of its arguments only.

    Kept per meeting as the feed shows it (every field of ``meeting``), so a change to the
    meeting, or to what the feed shows of it, renders it afresh.
    """
    uid = f"{meeting.meeting_id}@consultations"
    return _vevent(meeting, uid, _utc(meeting.start_utc), include_restricted, None)


def _vevent(
    meeting: FeedMeeting, uid: str, start: str, include_restricted: bool, stamp: str | None
) -> tuple[str, bool]:
    """One VEVENT, folded, each line ending in CRLF, and whether it has an ORGANIZER.

    ``start`` is its DTSTART value; ``stamp`` its DTSTAMP (None: its LAST-MODIFIED).
    """
    if meeting.status not in _STATUSES:
        raise ValueError(f"unknown meeting status {meeting.status!r}")
    if meeting.classification not in _CLASSES:
        raise ValueError(f"unknown classification {meeting.classification!r}")
    if _aware(meeting.end_utc) < meeting.start_utc:
        raise ValueError("a meeting must not end before it starts")
    cancelled = meeting.status == "cancelled"
    modified = _utc(meeting.last_modified)
    lines = [
        "BEGIN:VEVENT",
        _fold(f"UID:{uid}"),
        f"DTSTAMP:{stamp or modified}",
        f"CREATED:{_utc(meeting.created_at)}",
        f"LAST-MODIFIED:{modified}",
        _fold(f"SEQUENCE:{meeting.sequence}"),
        "STATUS:CANCELLED" if cancelled else "STATUS:CONFIRMED",
        f"DTSTART:{start}",
        f"DTEND:{_utc(meeting.end_utc)}",
    ]
    organizer = None
    if not shows_details(meeting.classification, cleared=include_restricted):
        lines.append(f"SUMMARY:{BUSY}")
    else:
        # Empty values are left out, as ics leaves them out.
        title = _text(meeting.title)
        if title:
            lines.append(_fold("SUMMARY:" + escape_string(title)))
        venue = _text(meeting.venue) if meeting.venue else ""
        if venue:
            lines.append(_fold("LOCATION:" + escape_string(venue)))
        lines.append(_fold("DESCRIPTION:" + escape_string(_description(meeting))))
        if meeting.areas:
            areas = sorted({_text(area) for area in meeting.areas})
            lines.append(_fold("CATEGORIES:" + ",".join([escape_string(a) for a in areas])))
        organizer = organizer_line(meeting)
        if organizer is not None:
            lines.append(_fold(organizer))
    lines.append(f"CLASS:{_CLASSES[meeting.classification]}")
    lines.append("TRANSP:TRANSPARENT" if cancelled else "TRANSP:OPAQUE")
    lines.append("END:VEVENT\r\n")
    return "\r\n".join(lines), organizer is not None


def organizer_line(meeting: FeedMeeting) -> str | None:
    """The unfolded ORGANIZER content line of the meeting's host (None: no address known).

    The value is a ``mailto:`` URI (RFC 6068); ``CN`` is the host party's name (its id when
    the name is unknown), quoted when it holds ``;``, ``:`` or ``,``, with line breaks and
    other control characters and ``"`` (which no parameter value may hold) replaced.
    """
    if not meeting.host_email:
        return None
    address = "mailto:" + quote(meeting.host_email, safe=_MAILTO_SAFE)
    name = _parameter(meeting.host_name or meeting.host or "")
    return f"ORGANIZER;CN={name}:{address}" if name else f"ORGANIZER:{address}"


def _parameter(value: str) -> str:
    """A parameter value (RFC 5545 §3.1): no controls, no DQUOTE, quoted when it must be."""
    text = " ".join(_CONTROLS.sub("", _LINE_BREAKS.sub(" ", value)).replace('"', "'").split())
    return f'"{text}"' if _PARAM_SPECIAL.search(text) else text


def _description(meeting: FeedMeeting) -> str:
    start = datetime.fromisoformat(meeting.start_local)
    end = datetime.fromisoformat(meeting.end_local)
    until = _hm(end) if end.date() == start.date() else f"{_ymd(end)} {_hm(end)}"
    lines = [f"Local time: {_ymd(start)} {_hm(start)}–{until} ({meeting.tz})"]
    if meeting.venue:
        lines.append(f"Venue: {meeting.venue}")
    if meeting.host:
        lines.append(f"Host: {meeting.host}")
    if meeting.track_title:
        lines.append(f"Track: {meeting.track_title}")
    if meeting.agenda:
        lines.append("Agenda:")
        lines.extend([f"{number}. {item}" for number, item in enumerate(meeting.agenda, 1)])
    return _text("\n".join(lines))


# %-formatting: several times faster than strftime, and years below 1000 keep four digits.
def _ymd(moment: datetime) -> str:
    return "%04d-%02d-%02d" % (moment.year, moment.month, moment.day)  # noqa: UP031


def _hm(moment: datetime) -> str:
    return "%02d:%02d" % (moment.hour, moment.minute)  # noqa: UP031


def _text(value: str) -> str:
    """Plain text as RFC 5545 TEXT allows it: newline line breaks, no other control characters."""
    if _UNCLEAN.search(value) is None:
        return value  # the usual case: one scan, no copies
    return _CONTROLS.sub("", _LINE_BREAKS.sub("\n", value))


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}; feed times must be aware")
    return moment


def _utc(moment: datetime) -> str:
    """A UTC DATE-TIME value such as ``20260514T060000Z`` (seconds; finer parts dropped)."""
    if moment.tzinfo is not UTC:
        moment = _aware(moment).astimezone(UTC)
    return "%04d%02d%02dT%02d%02d%02dZ" % (  # noqa: UP031 (see _ymd)
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
    )  # fmt: skip


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


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for line in re.split(r"\r\n|\n", text):
        if line[:1] in {" ", "\t"} and lines:
            lines[-1] += line[1:]
        elif line:
            lines.append(line)
    return lines


def _calendar_rank(line: str) -> int:
    name = _NAME.split(line, maxsplit=1)[0].upper()
    return _CALENDAR_ORDER.index(name) if name in _CALENDAR_ORDER else len(_CALENDAR_ORDER)


def _fold(line: str) -> str:
    """The line split into physical lines of at most 75 octets, never inside a UTF-8 character.

    The physical lines are joined by CRLF and a space; no CRLF is added at the end.
    """
    if len(line) <= _MAX_OCTETS and (line.isascii() or len(line.encode()) <= _MAX_OCTETS):
        return line  # nearly every line: nothing to do
    if line.isascii():  # one octet per character: slice the text itself
        chunks = [line[:_MAX_OCTETS]]
        chunks += [line[i : i + _MAX_OCTETS - 1] for i in range(_MAX_OCTETS, len(line), 74)]
        return "\r\n ".join(chunks)
    data = line.encode()
    pieces: list[str] = []
    start, limit = 0, _MAX_OCTETS
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a continuation octet: back to the character's start
            cut -= 1
        pieces.append(data[start:cut].decode())
        start, limit = cut, _MAX_OCTETS - 1  # continuation lines start with " "
    pieces.append(data[start:].decode())
    return "\r\n ".join(pieces)
