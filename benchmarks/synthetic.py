"""A synthetic but realistic event log of any size, appended in large batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from consultations.adapters.eventlog import Append, SqlEventLog
from consultations.domain.events import (
    AreaRegistered,
    DomainEvent,
    MeetingCancelled,
    MeetingHeld,
    MeetingPlanned,
    MeetingRescheduled,
    PartyRegistered,
    TrackAdded,
)
from consultations.domain.wall_time import WallTime

TRACKS = 40
CADENCES = ("half-year", "quarter", "month", "year", "max-gap:P6M")
TIMEZONES = ("Asia/Baku", "Asia/Ashgabat")
OFFSETS = {"Asia/Baku": 4, "Asia/Ashgabat": 5}
META = {"actor": "bench", "source": "synthetic"}


def _setup() -> Iterator[tuple[str, DomainEvent]]:
    yield "party-TM-MFA", PartyRegistered("TM-MFA", "MFA of Turkmenistan", "Asia/Ashgabat", ())
    yield "party-AZ-MFA", PartyRegistered("AZ-MFA", "MFA of Azerbaijan", "Asia/Baku", ())
    for area in ("energy", "security", "culture", "trade"):
        yield f"area-{area}", AreaRegistered(area, area.title())
    for number in range(TRACKS):
        yield (
            f"track-t{number}",
            TrackAdded(
                track_id=f"t{number}",
                title=f"Track {number}",
                kind="consultation",
                cadence=CADENCES[number % len(CADENCES)],
                required=1,
                start=date(2000, 1, 1),
                tz=TIMEZONES[number % 2],
                parties=("TM-MFA", "AZ-MFA"),
                areas=("energy",),
                priority="high",
                default_duration="PT2H",
                reminders=("P1D",),
                host_rotation=("TM-MFA", "AZ-MFA"),
            ),
        )


def _meeting(number: int, first: date, every: timedelta, held: bool) -> list[DomainEvent]:
    """Planned, a third moved, one in ten cancelled, the rest held when ``held``."""
    track = number % TRACKS
    tz = TIMEZONES[track % 2]
    start = datetime.combine(first, datetime.min.time()).replace(hour=10) + every * (
        number // TRACKS
    )
    utc = (start - timedelta(hours=OFFSETS[tz])).replace(tzinfo=UTC)
    meeting_id = f"m{number}"
    events: list[DomainEvent] = [
        MeetingPlanned(
            meeting_id=meeting_id,
            track_id=f"t{track}",
            title=f"Session {number}",
            kind="consultation",
            start=WallTime(start, None, utc),
            end=WallTime(start + timedelta(hours=2), None, utc + timedelta(hours=2)),
            tz=tz,
            venue="Ashgabat" if number % 2 else "Baku",
            host="TM-MFA" if number % 2 else "AZ-MFA",
            participants=("TM-MFA", "AZ-MFA"),
            agenda=("Review",),
            classification="internal",
        )
    ]
    if number % 3 == 0:
        later, later_utc = start + timedelta(days=1), utc + timedelta(days=1)
        events.append(
            MeetingRescheduled(
                meeting_id,
                WallTime(later, None, later_utc),
                WallTime(later + timedelta(hours=2), None, later_utc + timedelta(hours=2)),
                tz,
                "agenda clash",
            )
        )
        start, utc = later, later_utc
    if number % 10 == 9:
        events.append(MeetingCancelled(meeting_id, "postponed"))
    elif held:
        events.append(
            MeetingHeld(
                meeting_id,
                WallTime(start, None, utc),
                None,
                ("TM-MFA", "AZ-MFA"),
                ("Agreed next steps",),
                (),
            )
        )
    return events


def streams(
    total_events: int,
    *,
    first: date = date(2000, 1, 3),
    every: timedelta = timedelta(days=7),
    held: bool = True,
    meetings: int | None = None,
    first_number: int = 0,
    setup: bool = True,
) -> Iterator[tuple[str, list[DomainEvent]]]:
    """The streams ``fill`` appends, in order: (stream id, its events), about ``total_events``.

    ``first_number`` and ``setup=False`` add meetings to a log that already has the setup
    (meeting numbers must not repeat: stream ids are ``meeting-m<number>``).
    """
    count = 0
    if setup:
        for stream_id, event in _setup():
            count += 1
            yield stream_id, [event]
    number = first_number
    while count < total_events and (meetings is None or number - first_number < meetings):
        events = _meeting(number, first, every, held)
        count += len(events)
        yield f"meeting-m{number}", events
        number += 1


def fill(
    store: SqlEventLog,
    total_events: int,
    *,
    first: date = date(2000, 1, 3),
    every: timedelta = timedelta(days=7),
    held: bool = True,
    meetings: int | None = None,
    batch: int = 10_000,
    first_number: int = 0,
    setup: bool = True,
) -> int:
    """Append about ``total_events`` events (setup first); return how many were appended.

    Each track has a meeting every ``every`` from ``first``; ``meetings`` caps their number.
    """
    appends: list[Append] = []
    pending = appended = 0

    def flush() -> None:
        nonlocal appends, pending, appended
        if appends:
            appended += len(store.append_many(appends, metadata=META))
        appends, pending = [], 0

    for stream_id, events in streams(
        total_events, first=first, every=every, held=held, meetings=meetings,
        first_number=first_number, setup=setup,
    ):  # fmt: skip
        appends.append(Append(stream_id, 0, events))
        pending += len(events)
        if pending >= batch:
            flush()
    flush()
    return appended
