"""Read models: updated with every append, equal to a rebuild, atomic to rebuild, never stale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.projections import Projector, runner
from consultations.adapters.projections.compliance import ComplianceProjection
from consultations.adapters.projections.schedule import ScheduleProjection
from consultations.domain.aggregates import MINUTES
from consultations.domain.commands import CancelMeeting, RescheduleMeeting
from consultations.domain.events import MinutesRecorded
from consultations.service_layer.reports import compliance_report
from tests.projections.support import ANALYST, import_example, snapshot, wire


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_the_example_plan_projects_into_every_read_table(migrated_engine: Engine) -> None:
    service = wire(migrated_engine)
    import_example(service)
    tables = snapshot(migrated_engine)
    assert len(tables["parties"]) == 2
    assert len(tables["areas"]) == 6
    assert len(tables["tracks"]) == 6
    assert len(tables["schedule"]) == 39
    by_id = {row["meeting_id"]: row for row in tables["schedule"]}
    assert by_id["pc-2025-q3"]["status"] == "cancelled"
    assert by_id["pc-2025-q3"]["sequence"] == 1  # cancellation is a significant change
    assert by_id["rv-2026-11"]["status"] == "planned"
    held = [row for row in tables["schedule"] if row["status"] == "held"]
    assert len(held) == 30
    assert all(row["held_start_utc"] for row in held)
    assert tables["action_items"], "held meetings in the example have action items"
    assert {row["track_id"] for row in tables["compliance_windows"]} == {
        row["track_id"] for row in tables["tracks"]
    }
    statuses = Projector().status(migrated_engine)
    head = statuses[0].head
    assert head > 0
    assert all(s.position == head and s.current for s in statuses)


def test_incremental_equals_rebuilt_after_changes(migrated_engine: Engine) -> None:
    service = wire(migrated_engine)
    import_example(service)
    service.execute(CancelMeeting(meeting_id="pc-2026-q4", reason="postponed to January"), ANALYST)
    moved = RescheduleMeeting(
        meeting_id="ws-2027-h1", start=_moved_start(migrated_engine, "ws-2027-h1")
    )
    service.execute(moved, ANALYST)
    incremental = snapshot(migrated_engine)
    assert Projector().rebuild(migrated_engine) == Projector().status(migrated_engine)[0].head
    assert snapshot(migrated_engine) == incremental
    row = next(r for r in incremental["schedule"] if r["meeting_id"] == "ws-2027-h1")
    assert (row["status"], row["sequence"]) == ("rescheduled", 1)


def test_minutes_are_projected_and_equal_after_a_rebuild(migrated_engine: Engine) -> None:
    service = wire(migrated_engine)
    import_example(service)
    recorded = [
        ("rv-2026-11", "AZ-MFA", ("AZ-MFA", "TM-MFA"), ("Report agreed in substance",)),
        ("rv-2026-11", "KZ-MFA", (), ("Observer: noted",)),
        ("pc-2026-q2", "AZ-MFA", ("AZ-MFA",), ()),
    ]
    for meeting_id, party, attendance, outcomes in recorded:
        event = MinutesRecorded(meeting_id, party, attendance, outcomes)
        service.store.append(MINUTES.stream_id(event.minutes_id), 0, [event])
    incremental = snapshot(migrated_engine)
    assert [
        (row["meeting_id"], row["party_id"], tuple(row["attendance"]), tuple(row["outcomes"]))
        for row in incremental["minutes"]
    ] == sorted(recorded)
    assert all(row["recorded_at"] is not None for row in incremental["minutes"])
    Projector().rebuild(migrated_engine)
    assert snapshot(migrated_engine) == incremental
    # Minutes are each party's own record: the convener's schedule row does not move.
    schedule = {row["meeting_id"]: row["status"] for row in incremental["schedule"]}
    assert schedule["rv-2026-11"] == "planned"


def _moved_start(engine: Engine, meeting_id: str) -> datetime:
    with engine.connect() as connection:
        local = connection.execute(
            sa.text("SELECT start_local FROM schedule WHERE meeting_id = :m"), {"m": meeting_id}
        ).scalar_one()
    return datetime.fromisoformat(local) + timedelta(days=7)


def test_readers_never_see_half_a_rebuild(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_example(wire(migrated_engine))
    before = snapshot(migrated_engine)
    monkeypatch.setattr(runner, "REBUILD_BATCH", 7)
    seen: list[tuple[int, int]] = []

    def look_from_another_connection(done: int, total: int) -> None:
        seen.append((done, count(migrated_engine, "schedule")))
        with migrated_engine.connect() as connection:  # the analysts' view works meanwhile
            connection.execute(sa.text("SELECT count(*) FROM v_compliance_windows")).scalar_one()

    Projector().rebuild(migrated_engine, look_from_another_connection)
    assert len(seen) > 5, "the rebuild ran in several batches"
    assert {schedule_rows for _, schedule_rows in seen} == {len(before["schedule"])}
    assert snapshot(migrated_engine) == before


def test_a_projection_whose_version_changed_is_rebuilt_not_served_stale(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_example(wire(migrated_engine))
    with migrated_engine.begin() as connection:  # a stale row that only a rebuild removes
        connection.execute(
            sa.text("UPDATE schedule SET title = 'stale' WHERE meeting_id = 'rv-2026-11'")
        )
    stored = ScheduleProjection.version
    monkeypatch.setattr(ScheduleProjection, "version", stored + 1)
    projector = Projector()
    stale = {s.name: s for s in projector.status(migrated_engine)}["schedule"]
    assert (stale.stored_version, stale.code_version, stale.current) == (stored, stored + 1, False)
    assert projector.ensure_current(migrated_engine) is True
    assert all(s.current for s in projector.status(migrated_engine))
    assert projector.ensure_current(migrated_engine) is False
    with migrated_engine.connect() as connection:
        title = connection.execute(
            sa.text("SELECT title FROM schedule WHERE meeting_id = 'rv-2026-11'")
        ).scalar_one()
    assert title != "stale"


def _rebuilt_when_stale(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, stale: type[Any]
) -> tuple[Projector, list[str]]:
    """Make ``stale`` a new version; return which projections ``ensure_current`` replays."""
    monkeypatch.setattr(stale, "version", stale.version + 1)
    projector = Projector()
    replayed: list[str] = []

    def recording(name: str, replay: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            replayed.append(name)
            return replay(*args, **kwargs)

        return wrapped

    for projection in projector.projections:
        monkeypatch.setattr(projection, "replay", recording(projection.name, projection.replay))
    assert projector.ensure_current(engine) is True
    assert all(s.current for s in projector.status(engine))
    return projector, replayed


def test_only_the_stale_projection_and_those_that_read_it_are_rebuilt(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_example(wire(migrated_engine))
    complete = snapshot(migrated_engine)
    with migrated_engine.begin() as connection:
        # Marks that tell which tables were rebuilt: a current projection's row survives.
        connection.execute(
            sa.text("UPDATE schedule SET title = 'kept' WHERE meeting_id = 'rv-2026-11'")
        )
        connection.execute(sa.text("DELETE FROM reminders"))
        connection.execute(sa.text("DELETE FROM compliance_sessions"))
    _, replayed = _rebuilt_when_stale(migrated_engine, monkeypatch, ComplianceProjection)
    assert set(replayed) == {"compliance"}  # nothing reads the compliance tables
    rebuilt = snapshot(migrated_engine)
    for table in ("compliance_sessions", "compliance_windows", "feeds"):
        assert rebuilt[table] == complete[table], table
    assert rebuilt["reminders"] == [], "reminders were current: not rebuilt"
    titles = {row["meeting_id"]: row["title"] for row in rebuilt["schedule"]}
    assert titles["rv-2026-11"] == "kept"  # schedule was current: not rebuilt


def test_a_stale_schedule_rebuilds_every_projection_that_reads_it(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_example(wire(migrated_engine))
    complete = snapshot(migrated_engine)
    with migrated_engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM reminders"))
        connection.execute(sa.text("UPDATE areas SET name = 'kept' WHERE area_id = 'energy'"))
    _, replayed = _rebuilt_when_stale(migrated_engine, monkeypatch, ScheduleProjection)
    assert set(replayed) == {"schedule", "compliance", "feeds", "reminders"}
    rebuilt = snapshot(migrated_engine)
    assert rebuilt["reminders"] == complete["reminders"]
    names = {row["area_id"]: row["name"] for row in rebuilt["areas"]}
    assert names["energy"] == "kept"  # the directory was current: not rebuilt


def test_projections_run_after_those_they_read() -> None:
    schedule, compliance = ScheduleProjection(Projector().mapper), ComplianceProjection()
    with pytest.raises(ValueError, match="compliance must run after"):
        Projector([compliance, schedule])
    assert Projector([schedule, compliance]).projections == [schedule, compliance]


def _database_day(engine: Engine) -> date:
    with engine.connect() as connection:
        today = connection.execute(sa.text("SELECT CURRENT_DATE")).scalar_one()
    return today if isinstance(today, date) else date.fromisoformat(today)


def test_views_agree_with_the_report(migrated_engine: Engine) -> None:
    service = wire(migrated_engine)
    import_example(service)
    while True:  # the view and the report on the same day, even if midnight passes meanwhile
        as_of = _database_day(migrated_engine)
        with migrated_engine.connect() as connection:
            view = {
                (row.track_id, row.window): row.status
                for row in connection.execute(
                    sa.text('SELECT track_id, "window", status FROM v_compliance_windows')
                )
            }
        if _database_day(migrated_engine) == as_of:
            break
    report = {
        (row["track"], row["window"]): row["status"]
        for row in compliance_report(
            service.directory, as_of=as_of, until=date(as_of.year + 4, 12, 31)
        )  # type: ignore[arg-type]
    }
    assert view, "the view has rows"
    assert {key: report[key] for key in view} == view
    assert "missed" in view.values()  # political consultations 2025-Q3 (cancelled, not replaced)
