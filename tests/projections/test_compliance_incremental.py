"""The compliance projection updates only the windows a meeting can affect.

After every command, the rows it kept incrementally must equal a full evaluation of every
track from the schedule (what a rebuild writes). Tracks get many meetings over several
years, so changes land in the middle of long chains of windows: reschedules near and far,
holds on another day than planned (which re-anchor max-gap chains), cancellations, and new
meetings past the last one (which move the horizon).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.orm import compliance_sessions, compliance_windows
from consultations.adapters.projections import Projector
from consultations.adapters.projections.compliance import ComplianceProjection
from consultations.adapters.read_models import ReadModels
from consultations.domain.commands import (
    AddTrack,
    CancelMeeting,
    DomainCommand,
    PlanMeeting,
    RecordMeetingHeld,
    RescheduleMeeting,
)
from consultations.domain.errors import DomainError
from consultations.service_layer.services import CommandService
from tests.projections.support import ANALYST

NOW = datetime(2032, 1, 1, tzinfo=UTC)
CADENCES = ["month", "quarter", "half-year", "year", "max-gap:P1M", "max-gap:P45D", "max-gap:P6M"]
ZONES = ["Asia/Baku", "Asia/Ashgabat", "Europe/Berlin"]
TABLES = (compliance_windows, compliance_sessions)


def rows(connection: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    """The compliance tables, in primary-key order."""
    return {
        table.name: [
            dict(row)
            for row in connection.execute(
                sa.select(table).order_by(*table.primary_key.columns)
            ).mappings()
        ]
        for table in TABLES
    }


def kept_and_full(engine: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rows as kept, and as a full evaluation writes them (rolled back afterwards)."""
    with engine.connect() as connection, connection.begin() as transaction:
        kept = rows(connection)
        ComplianceProjection().replay(connection).finish()
        full = rows(connection)
        transaction.rollback()
    return kept, full


def moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour))


def test_incremental_compliance_equals_a_full_evaluation(migrated_engine: Engine) -> None:
    projector = Projector()
    projector.ensure_current(migrated_engine)
    store = SqlEventLog(migrated_engine, listeners=[projector])
    service = CommandService(store, ReadModels(migrated_engine), clock=lambda: NOW)
    examples = itertools.count(1)

    def run(command: DomainCommand) -> None:
        note(repr(command))
        try:
            service.execute(command, ANALYST)
        except DomainError as error:  # e.g. holding a cancelled meeting: nothing written
            note(f"  refused: {error}")
        kept, full = kept_and_full(migrated_engine)
        assert kept == full

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def incremental_equals_full(data: st.DataObject) -> None:
        track = f"c{next(examples)}"
        start = data.draw(st.dates(date(2024, 1, 1), date(2026, 12, 31)), label="start")
        tz = data.draw(st.sampled_from(ZONES), label="tz")
        cadence = data.draw(st.sampled_from(CADENCES), label="cadence")
        run(
            AddTrack(
                track_id=track,
                title="Track",
                kind="consultation",
                cadence=cadence,
                start=start,
                tz=tz,
            )
        )
        offsets = st.integers(-60, 4 * 365)
        meetings: list[str] = []
        for number in range(data.draw(st.integers(3, 25), label="meetings")):
            meeting_id = f"{track}-m{number}"
            day = start + timedelta(days=data.draw(offsets))
            run(
                PlanMeeting(
                    meeting_id=meeting_id, title="Session", start=moment(day), track_id=track
                )
            )
            meetings.append(meeting_id)
            if data.draw(st.booleans()):
                held_on = day + timedelta(days=data.draw(st.integers(-3, 40)))
                run(RecordMeetingHeld(meeting_id=meeting_id, on=moment(held_on)))
        for _ in range(data.draw(st.integers(1, 12), label="changes")):
            meeting_id = data.draw(st.sampled_from(meetings))
            day = start + timedelta(days=data.draw(offsets))
            action = data.draw(st.sampled_from(["move", "near", "hold", "cancel", "later", "last"]))
            if action == "move":
                run(RescheduleMeeting(meeting_id=meeting_id, start=moment(day)))
            elif action == "near":
                run(RescheduleMeeting(meeting_id=meeting_id, start=moment(day, hour=23)))
            elif action == "hold":
                run(RecordMeetingHeld(meeting_id=meeting_id, on=moment(day, hour=1)))
            elif action == "cancel":
                run(CancelMeeting(meeting_id=meeting_id, reason="postponed"))
            elif action == "last":  # the latest meeting goes: the horizon moves back
                run(CancelMeeting(meeting_id=meetings[-1], reason="postponed"))
            else:  # past every other meeting: the horizon moves
                later = f"{track}-m{len(meetings)}"
                far = start + timedelta(days=data.draw(st.integers(5 * 365, 9 * 365)))
                run(PlanMeeting(meeting_id=later, title="Later", start=moment(far), track_id=track))
                meetings.append(later)

    incremental_equals_full()
