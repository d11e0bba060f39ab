"""The compliance report read from the stored windows equals ``evaluate`` over the sessions.

``compliance_report`` reads the compliance projection's tables; ``evaluated_report`` below
is the computation it replaced: every session of every track from ``schedule``, and every
window evaluated again with ``domain.compliance.evaluate``. Random tracks (every cadence
kind, starts mid-window, retirements) and random meetings (planned, rescheduled,
cancelled, held on another day than planned, several on one day, in another zone than the
track's) are written through the command service on the backend under test; then both
reports must be equal for random ``as_of``, ``now``, ``since`` and ``until`` (often past
the windows the projection stores, which stop two years after a track's last session).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from consultations.adapters.orm import compliance_sessions, schedule
from consultations.adapters.projections.compliance import rules_of, session_of
from consultations.adapters.read_models import ReadModels
from consultations.domain.commands import (
    AddTrack,
    CancelMeeting,
    DomainCommand,
    PlanMeeting,
    RecordMeetingHeld,
    RegisterArea,
    RescheduleMeeting,
    RetireTrack,
)
from consultations.domain.compliance import evaluate
from consultations.domain.errors import DomainError
from consultations.service_layer.reports import compliance_report, today_in
from tests.projections.support import ANALYST, wire

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)  # business time: every meeting can be held
CADENCES = [
    "year",
    "half-year",
    "quarter",
    "month",
    "max-gap:P6M",
    "max-gap:P1M",
    "max-gap:P45D",
    "max-gap:P2W",
]
ZONES = ["Asia/Baku", "Asia/Ashgabat", "Europe/Berlin", "Pacific/Kiritimati", "America/Adak"]
DAYS = st.dates(date(2023, 11, 1), date(2026, 3, 31))
# Few times, so that meetings often share a day, or even a moment; near midnight, the
# meeting's zone and the track's may disagree on the day.
TIMES = st.sampled_from([time(0, 30), time(10, 0), time(10, 0), time(23, 30)])
REPORT_DAYS = st.dates(date(2023, 1, 1), date(2031, 12, 31))


def evaluated_report(
    read_models: ReadModels,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
    since: date | None = None,
    until: date | None = None,
    track_id: str | None = None,
    area_id: str | None = None,
) -> list[dict[str, Any]]:
    """The report as computed before it read the stored windows (the reference)."""
    tracks = read_models.tracks(track_id=track_id, area_id=area_id)
    sessions: dict[str, list[Any]] = {}
    query = sa.select(
        schedule.c.meeting_id,
        schedule.c.track_id,
        schedule.c.status,
        schedule.c.start_utc,
        schedule.c.held_start_utc,
    ).where(schedule.c.track_id.in_([t["track_id"] for t in tracks]))
    with read_models.engine.connect() as connection:
        for row in connection.execute(query).mappings():
            if row["status"] != "cancelled":
                sessions.setdefault(row["track_id"], []).append(session_of(row))
    rows: list[dict[str, Any]] = []
    for track in tracks:
        day = as_of or today_in(track["tz"], now)
        windows = evaluate(
            rules_of(track),
            sessions.get(track["track_id"], []),
            day,
            since=since,
            until=until or date(day.year, 12, 31),
        )
        rows += [
            {
                "track": track["track_id"],
                "title": track["title"],
                "priority": track["priority"],
                "areas": track["areas"],
                "window": window.label,
                "window_start": window.start,
                "window_end": window.end,
                "required": window.required,
                "held": window.held,
                "planned": window.planned,
                "unconfirmed": window.unconfirmed,
                "status": window.status.value,
                "meetings": list(window.meetings),
            }
            for window in windows
        ]
    return rows


def track_commands(data: st.DataObject, prefix: str, area: str) -> list[DomainCommand]:
    commands: list[DomainCommand] = []
    for number in range(data.draw(st.integers(1, 3), label="tracks")):
        start = data.draw(st.dates(date(2023, 12, 1), date(2025, 12, 31)), label="start")
        commands.append(
            AddTrack(
                track_id=f"{prefix}-t{number}",
                title=f"Track {number}",
                kind="consultation",
                cadence=data.draw(st.sampled_from(CADENCES), label="cadence"),
                start=start,
                tz=data.draw(st.sampled_from(ZONES), label="zone"),
                areas=(area,),
                required=data.draw(st.sampled_from([1, 1, 2, 3]), label="required"),
            )
        )
    return commands


def meeting_commands(
    data: st.DataObject, prefix: str, tracks: dict[str, date], days: list[date]
) -> list[DomainCommand]:
    """Plans, reschedules, cancellations and holds, on a few days (so they often coincide)."""
    moments = st.builds(
        lambda day, shift, at: datetime.combine(day + timedelta(days=shift), at),
        st.sampled_from(days),
        st.sampled_from([0, 0, 0, 1, -1]),
        TIMES,
    )
    # Mixed case: the order by meeting id must be Python's, not a database collation's.
    ids = (f"{prefix}-{letter}{n}" for n, letter in itertools.product(range(9), "mMn"))
    planned: list[str] = []  # neither held nor cancelled
    commands: list[DomainCommand] = []
    for _ in range(data.draw(st.integers(3, 40), label="meeting commands")):
        kind = data.draw(st.sampled_from(["plan", "plan", "move", "cancel", "held", "held"]))
        if kind == "plan" or not planned:
            planned.append(next(ids))
            commands.append(
                PlanMeeting(
                    meeting_id=planned[-1],
                    title="Session",
                    start=data.draw(moments),
                    track_id=data.draw(st.sampled_from(sorted(tracks))),
                    tz=data.draw(st.one_of(st.none(), st.sampled_from(ZONES))),
                )
            )
            continue
        meeting_id = data.draw(st.sampled_from(planned))
        if kind == "move":
            commands.append(RescheduleMeeting(meeting_id=meeting_id, start=data.draw(moments)))
            continue
        planned.remove(meeting_id)
        if kind == "cancel":
            commands.append(CancelMeeting(meeting_id=meeting_id, reason="postponed"))
        else:
            on = data.draw(st.one_of(st.none(), moments), label="held on")
            commands.append(RecordMeetingHeld(meeting_id=meeting_id, on=on))
    for track_id, start in tracks.items():
        if data.draw(st.integers(0, 3), label="retire") == 0:
            on = data.draw(st.dates(start, date(2026, 6, 30)), label="retired on")
            commands.append(RetireTrack(track_id=track_id, on=on))
    return commands


def reverse_stored_sessions(engine: Engine, track_ids: list[str]) -> None:
    """Store the tracks' session rows again in reverse: the report must not rely on the
    order the rows were written in (sessions of one day are ordered by their moment)."""
    sessions = compliance_sessions
    with engine.begin() as connection:
        where = sessions.c.track_id.in_(track_ids)
        rows = [
            dict(row) for row in connection.execute(sa.select(sessions).where(where)).mappings()
        ]
        connection.execute(sa.delete(sessions).where(where))
        if rows:
            connection.execute(sa.insert(sessions), rows[::-1])


def test_the_report_from_stored_windows_equals_evaluate(migrated_engine: Engine) -> None:
    service = wire(migrated_engine)
    service.clock = lambda: NOW
    read_models = ReadModels(migrated_engine)
    examples = itertools.count(1)

    @PROPERTY
    @given(data=st.data())
    def equal_reports(data: st.DataObject) -> None:
        prefix = f"x{next(examples)}"
        area = f"{prefix}-area"
        service.execute(RegisterArea(area_id=area, name="Area"), ANALYST)
        tracks = track_commands(data, prefix, area)
        starts = {c.track_id: c.start for c in tracks if isinstance(c, AddTrack)}
        days = data.draw(st.lists(DAYS, min_size=1, max_size=5), label="days")
        for command in [*tracks, *meeting_commands(data, prefix, starts, days)]:
            try:
                service.execute(command, ANALYST)
                note(f"accepted {command!r}")
            except DomainError as error:
                note(f"rejected {command!r}: {error}")
        if data.draw(st.booleans(), label="reversed rows"):
            reverse_stored_sessions(migrated_engine, sorted(starts))
        # Often on or next to a meeting's day, where the boundaries are.
        report_days = st.one_of(
            REPORT_DAYS,
            st.builds(
                lambda day, shift: day + timedelta(days=shift),
                st.sampled_from(days),
                st.integers(-1, 2),
            ),
        )
        for _ in range(4):
            query: dict[str, Any] = {
                "as_of": data.draw(st.one_of(st.none(), report_days), label="as_of"),
                "now": datetime.combine(
                    data.draw(report_days, label="now"), time(23, 0), tzinfo=UTC
                ),
                "since": data.draw(st.one_of(st.none(), report_days), label="since"),
                "until": data.draw(st.one_of(st.none(), report_days), label="until"),
            }
            if data.draw(st.booleans(), label="one track"):
                query["track_id"] = data.draw(st.sampled_from(sorted(starts)))
            else:
                query["area_id"] = area
            expected = evaluated_report(read_models, **query)
            assert compliance_report(read_models, **query) == expected, query

    equal_reports()


def test_a_report_past_the_stored_windows_continues_them(migrated_engine: Engine) -> None:
    """Windows after the stored ones (two years after the last session) are generated."""
    service = wire(migrated_engine)
    service.clock = lambda: NOW
    read_models = ReadModels(migrated_engine)
    for command in (
        RegisterArea(area_id="energy", name="Energy"),
        AddTrack(
            track_id="gap",
            title="Gap",
            kind="consultation",
            cadence="max-gap:P6M",
            start=date(2024, 2, 29),
            tz="UTC",
        ),
        AddTrack(
            track_id="quarterly",
            title="Q",
            kind="consultation",
            cadence="quarter",
            start=date(2024, 2, 15),
            tz="UTC",
        ),
        PlanMeeting(meeting_id="g1", title="G", start=datetime(2024, 8, 31, 10), track_id="gap"),
        RecordMeetingHeld(meeting_id="g1", on=datetime(2024, 8, 30, 10)),
        PlanMeeting(
            meeting_id="q1", title="Q", start=datetime(2024, 5, 2, 10), track_id="quarterly"
        ),
    ):
        service.execute(command, ANALYST)
    for track_id in ("gap", "quarterly"):
        for since in (None, date(2024, 8, 30), date(2024, 8, 31), date(2029, 1, 1)):
            query: dict[str, Any] = {"track_id": track_id, "as_of": date(2025, 1, 1)}
            query |= {"since": since, "until": date(2030, 6, 30)}
            report = compliance_report(read_models, **query)
            assert report == evaluated_report(read_models, **query)
            assert report[-1]["window_start"] > date(2027, 1, 1)
            assert [r["window"] for r in report].count(report[-1]["window"]) == 1
    # The window closed by g1 counts sessions up to 2024-08-30 only, although it ends later.
    windows = {
        since: [
            r["window"]
            for r in compliance_report(
                read_models, track_id="gap", as_of=date(2025, 1, 1), since=since
            )
        ][:2]
        for since in (date(2024, 8, 30), date(2024, 8, 31))
    }
    assert windows == {
        date(2024, 8, 30): ["2024-08-30..2025-02-28", "2024-08-31..2025-02-28"],
        date(2024, 8, 31): ["2024-08-31..2025-02-28", "2025-03-01..2025-09-01"],
    }
