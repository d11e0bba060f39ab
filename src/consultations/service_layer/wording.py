"""Domain values in words for people: durations, reminder offsets, cadences, times, sources.

The one place that spells them for the terminal (and any other view meant for people).
JSON and CSV keep the canonical forms (``PT6H``, ``half-year``, ISO 8601).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from consultations.domain.cadence import Cadence, CadenceKind
from consultations.domain.durations import Duration
from consultations.domain.wall_time import format_wall_time

# Duration components in order: (field, one, many). Calendar units are spelled out, clock
# units abbreviated, as people write them: "14 days", "6 h 20 min".
_UNITS = (
    ("years", "year", "years"),
    ("months", "month", "months"),
    ("weeks", "week", "weeks"),
    ("days", "day", "days"),
    ("hours", "h", "h"),
    ("minutes", "min", "min"),
    ("seconds", "s", "s"),
)
_WINDOW = {
    CadenceKind.HALF_YEAR: "half",
    CadenceKind.QUARTER: "quarter",
    CadenceKind.MONTH: "month",
    CadenceKind.YEAR: "year",
}
_SOURCES = {
    "cli": "on the command line",
    "run": "when `consultations run` set up the example",
    "daemon": "by the daemon",
}
_SOURCE_PREFIXES = {"plan": "from plan file", "peer": "from peer", "sync": "from peer"}


def join_words(items: Sequence[str]) -> str:
    """``a``; ``a and b``; ``a, b and c``."""
    if len(items) < 3:
        return " and ".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 session``, ``2 sessions``."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def describe_duration(duration: Duration) -> str:
    """``PT6H20M`` is "6 h 20 min", ``P14D`` "14 days", ``P1D`` "1 day", ``P6M`` "6 months"."""
    parts = [
        plural(amount, one, many)
        for name, one, many in _UNITS
        if (amount := getattr(duration, name))
    ]
    return " ".join(parts) or "0 min"


def describe_length(length: timedelta) -> str:
    """An exact length of time in words ("6 h 20 min"; "1 day 2 h" past a day)."""
    seconds = int(length.total_seconds())
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return describe_duration(Duration(days=days, hours=hour, minutes=minute, seconds=second))


def describe_offsets(offsets: Sequence[Duration]) -> str:
    """Reminder offsets: "7 days and 1 day before"; "none" without any."""
    if not offsets:
        return "none"
    return f"{join_words([describe_duration(offset) for offset in offsets])} before"


def describe_cadence(cadence: Cadence, required: int) -> str:
    """In words: "half-year, 1 session per half", "max-gap, at most 6 months between …"."""
    if cadence.max_gap is not None:
        return f"{cadence.kind}, at most {describe_duration(cadence.max_gap)} between held sessions"
    return f"{cadence.kind}, {plural(required, 'session')} per {_WINDOW[cadence.kind]}"


def describe_sessions(held: int, required: int, planned: int = 0, unconfirmed: int = 0) -> str:
    """A window's sessions: "1 of 1 held", "0 of 1 held, 1 planned, 1 unconfirmed"."""
    extra = [
        f"{count} {what}" for count, what in ((planned, "planned"), (unconfirmed, "unconfirmed"))
    ]
    return ", ".join([f"{held} of {required} held", *(e for e in extra if not e.startswith("0 "))])


def describe_time(moment: datetime) -> str:
    """A wall time as it is typed ("2026-05-14 10:00"); an instant in UTC ("… 07:43 UTC")."""
    if moment.tzinfo is None:
        return format_wall_time(moment)
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def describe_source(source: str | None) -> str:
    """Where a change came from (an event's ``source``), to end a sentence.

    "on the command line", "from plan file tm-az.toml", "by the daemon", "from peer AZ-MFA";
    an unknown source is named as it is stored ("via <source>"), a missing one is "".
    """
    if not source:
        return ""
    if source in _SOURCES:
        return _SOURCES[source]
    prefix, separator, name = source.partition(":")
    if separator and prefix in _SOURCE_PREFIXES:
        return f"{_SOURCE_PREFIXES[prefix]} {name}"
    return f"via {source}"
