"""Three independent iCalendar parsers behind one fixture: Python icalendar, strict ical, ical.js.

ical.js runs under node from ``tests/feeds/.node`` (installed from the npm registry on first
use). Without node or npm the ical.js cases are skipped, except under CI=true, where they fail.

libical, the fourth parser, is the ``libical`` fixture of ``tests/support/libical.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

HERE = Path(__file__).parent
NODE_PREFIX = HERE / ".node"
ICALJS_SCRIPT = HERE / "icaljs_parse.mjs"


@dataclass(frozen=True)
class ParsedEvent:
    """What a parser understood of one VEVENT, in common terms."""

    uid: str
    sequence: int
    status: str
    start: datetime
    end: datetime
    last_modified: datetime | None
    summary: str
    description: str | None
    location: str | None
    categories: list[str]
    classification: str | None
    alarms: int
    organizer: str | None = None  # the CAL-ADDRESS, e.g. "mailto:protocol@mfa.example"
    organizer_cn: str | None = None


@dataclass(frozen=True)
class ParsedCalendar:
    """Calendar properties (lower-case names, values as strings) and events in file order."""

    properties: dict[str, str]
    events: list[ParsedEvent]

    def event(self, uid: str) -> ParsedEvent:
        """The event with this UID."""
        (found,) = [event for event in self.events if event.uid == uid]
        return found


Parse = Callable[[bytes], ParsedCalendar]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"ical.js is required when CI=true: {reason}", pytrace=False)
    pytest.skip(f"ical.js is not available: {reason}")


@pytest.fixture(scope="session")
def icaljs_prefix() -> Path:
    """An npm prefix holding ical.js; installed from the registry on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node or npm is not on PATH")
    if not (NODE_PREFIX / "node_modules" / "ical.js" / "package.json").exists():
        NODE_PREFIX.mkdir(exist_ok=True)
        command = [str(npm), "install", "--no-audit", "--no-fund", "--prefix", str(NODE_PREFIX)]
        try:
            subprocess.run([*command, "ical.js"], check=True, capture_output=True, timeout=300)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            _unavailable(f"npm install ical.js failed: {exc}")
    return NODE_PREFIX


def _utc(value: datetime | date) -> datetime:
    assert isinstance(value, datetime), f"expected a date-time, got {value!r}"
    assert value.tzinfo is not None, f"expected a UTC time, got floating {value!r}"
    return value.astimezone(UTC)


def parse_icalendar(data: bytes) -> ParsedCalendar:
    """Parse with the Python ``icalendar`` package."""
    calendar = icalendar.Calendar.from_ical(data)
    properties = {name.lower(): str(value) for name, value in calendar.items()}
    events = []
    for event in calendar.walk("VEVENT"):
        categories = event.get("CATEGORIES")
        events.append(
            ParsedEvent(
                uid=str(event["UID"]),
                sequence=int(event["SEQUENCE"]),
                status=str(event["STATUS"]),
                start=_utc(event["DTSTART"].dt),
                end=_utc(event["DTEND"].dt),
                last_modified=_utc(event["LAST-MODIFIED"].dt) if "LAST-MODIFIED" in event else None,
                summary=str(event["SUMMARY"]),
                description=str(event["DESCRIPTION"]) if "DESCRIPTION" in event else None,
                location=str(event["LOCATION"]) if "LOCATION" in event else None,
                categories=[str(c) for c in categories.cats] if categories else [],
                classification=str(event["CLASS"]) if "CLASS" in event else None,
                alarms=len(event.walk("VALARM")),
                organizer=str(event["ORGANIZER"]) if "ORGANIZER" in event else None,
                organizer_cn=event["ORGANIZER"].params.get("CN") if "ORGANIZER" in event else None,
            )
        )
    return ParsedCalendar(properties, events)


def parse_ical(data: bytes) -> ParsedCalendar:
    """Parse with the strict ``ical`` package (pydantic models of RFC 5545)."""
    calendar = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    properties = {
        "prodid": calendar.prodid or "",
        "version": calendar.version or "",
        "name": ",".join(calendar.name),
        "refresh-interval": str(calendar.refresh_interval),
    }
    if calendar.method:
        properties["method"] = calendar.method
    events = [
        ParsedEvent(
            uid=str(event.uid),
            sequence=int(event.sequence or 0),
            status=event.status.value if event.status else "",
            start=_utc(event.dtstart),
            end=_utc(event.dtend),
            last_modified=_utc(event.last_modified) if event.last_modified else None,
            summary=event.summary or "",
            description=event.description,
            location=event.location,
            categories=list(event.categories),
            classification=event.classification.value if event.classification else None,
            alarms=len(event.alarm),
            organizer=event.organizer.uri if event.organizer else None,
            organizer_cn=event.organizer.common_name if event.organizer else None,
        )
        for event in calendar.events
    ]
    return ParsedCalendar(properties, events)


def parse_icaljs(prefix: Path, tmp_path: Path, data: bytes) -> ParsedCalendar:
    """Parse with Mozilla's ical.js under node."""
    path = tmp_path / "feed.ics"
    path.write_bytes(data)
    result = subprocess.run(
        ["node", str(ICALJS_SCRIPT), str(prefix), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)

    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    events = [
        ParsedEvent(
            uid=raw["uid"],
            sequence=raw["sequence"],
            status=raw["status"],
            start=_utc(datetime.fromisoformat(raw["dtstart"])),
            end=_utc(datetime.fromisoformat(raw["dtend"])),
            last_modified=moment(raw["last_modified"]),
            summary=raw["summary"],
            description=raw["description"],
            location=raw["location"],
            categories=raw["categories"],
            classification=raw["class"],
            alarms=raw["alarms"],
            organizer=raw["organizer"],
            organizer_cn=raw["organizer_cn"],
        )
        for raw in parsed["events"]
    ]
    return ParsedCalendar(parsed["properties"], events)


@pytest.fixture(params=["icalendar", "ical", "ical.js"])
def parse(request: pytest.FixtureRequest, tmp_path: Path) -> Parse:
    """Each test using this runs once per parser."""
    if request.param == "icalendar":
        return parse_icalendar
    if request.param == "ical":
        return parse_ical
    prefix: Path = request.getfixturevalue("icaljs_prefix")
    return lambda data: parse_icaljs(prefix, tmp_path, data)
