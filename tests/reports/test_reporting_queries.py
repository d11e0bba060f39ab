"""docs/reporting.md: every SQL example runs on SQLite and PostgreSQL, and answers truly.

The examples are run against the imported example plan and checked against the
compliance and action reports computed in Python (DESIGN §2), evaluated on the
database's own CURRENT_DATE, the day the views use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.read_models import ReadModels
from consultations.domain.commands import AddTrack, PlanMeeting, RecordMeetingHeld
from consultations.service_layer.reports import action_report, compliance_report
from tests.projections.support import ANALYST, import_example, wire

DOC = Path(__file__).resolve().parents[2] / "docs" / "reporting.md"
BLOCK = re.compile(r'^```sql(?: title="(?P<title>[^"]+)")?\n(?P<body>.*?)^```', re.M | re.S)
RUN_ON = {None: {"sqlite", "postgresql"}, "SQLite": {"sqlite"}, "PostgreSQL": {"postgresql"}}
ADMIN = "PostgreSQL admin"  # run on PostgreSQL inside a transaction that is rolled back
# Empty or not depending on the day the suite runs; their content is checked below.
MAY_BE_EMPTY = {"windows missed in 2026 by area", "windows needing attention"}


def blocks() -> list[tuple[str | None, str]]:
    return [(m["title"], m["body"]) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def name_of(body: str) -> str:
    first = body.strip().splitlines()[0]
    assert first.startswith("-- "), f"each example starts with a '-- name' comment: {first!r}"
    return first.removeprefix("-- ").strip()


def queries_for(dialect: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for title, body in blocks():
        if title in RUN_ON and dialect in RUN_ON[title]:
            name = name_of(body)
            assert name not in found, f"two examples for {dialect} named {name!r}"
            found[name] = body
    return found


def test_the_document_has_the_promised_examples() -> None:
    found = blocks()
    assert {title for title, _ in found} <= {*RUN_ON, ADMIN}, "unknown block titles"
    for dialect in ("sqlite", "postgresql"):
        names = set(queries_for(dialect))
        assert len(names) >= 5
        assert {
            "windows missed in 2026 by area",
            "share of windows satisfied by priority",
            "overdue action items by owner",
            "meetings per host per year",
            "sessions held per track in the last 12 months",
        } <= names
    # Dialect-specific examples come in pairs, so each backend has the same questions.
    assert set(queries_for("sqlite")) == set(queries_for("postgresql"))


def test_every_view_column_is_documented(migrated_engine: Engine) -> None:
    text = DOC.read_text(encoding="utf-8")
    with migrated_engine.connect() as connection:
        for view in (
            "v_schedule",
            "v_compliance_windows",
            "v_action_items",
            "v_compliance_by_area",
        ):
            columns = connection.execute(sa.text(f"SELECT * FROM {view}")).keys()
            section = text.split(f"### `{view}`", 1)[1].split("\n### ", 1)[0]
            for column in columns:
                assert f"`{column}`" in section, f"{view}.{column} is not documented"


# --- running the examples ------------------------------------------------------------------


@pytest.fixture
def example(migrated_engine: Engine) -> Engine:
    import_example(wire(migrated_engine))
    return migrated_engine


def run(engine: Engine, sql: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(sa.text(sql)).mappings()]


def today(engine: Engine) -> date:
    with engine.connect() as connection:
        value = connection.execute(sa.text("SELECT CURRENT_DATE")).scalar_one()
    return value if isinstance(value, date) else date.fromisoformat(value)


def on_one_day(engine: Engine, check: Callable[[date], None]) -> None:
    """``check(day)`` on the database's day; again if midnight passed while it ran.

    The views read CURRENT_DATE when queried, the Python reports get ``day``: a check that
    straddles midnight (UTC) compares two different days and may fail by chance.
    """
    for _ in range(2):
        day = today(engine)
        try:
            check(day)
        except AssertionError:
            if today(engine) == day:
                raise
            continue
        return
    raise AssertionError("the day changed twice while checking")  # pragma: no cover


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def report_on(example: Engine, day: date) -> list[dict[str, Any]]:
    """The compliance report on the views' day, restricted to the windows the views list."""
    rows = compliance_report(ReadModels(example), as_of=day, until=date(day.year + 4, 12, 31))
    listed = {
        (r["track_id"], r["window"])
        for r in run(example, 'SELECT track_id, "window" FROM v_compliance_windows')
    }
    assert listed, "the views list windows"
    assert listed <= {(r["track"], r["window"]) for r in rows}
    return [row for row in rows if (row["track"], row["window"]) in listed]


def test_every_example_runs(example: Engine, backend: str) -> None:
    queries = queries_for(backend)
    for name, sql in queries.items():
        rows = run(example, sql)
        if name not in MAY_BE_EMPTY:
            assert rows, f"{name!r} returns rows on the example plan"
        assert all(rows[0].keys() == row.keys() for row in rows)
    if backend == "postgresql":
        (admin,) = [body for title, body in blocks() if title == ADMIN]
        with example.connect() as connection:
            transaction = connection.begin()
            for statement in filter(str.strip, admin.split(";")):
                connection.execute(sa.text(statement))
            transaction.rollback()


def test_windows_missed_by_area(example: Engine, backend: str) -> None:
    on_one_day(example, lambda day: check_windows_missed_by_area(example, backend, day))


def check_windows_missed_by_area(example: Engine, backend: str, day: date) -> None:
    report = report_on(example, day)
    sql = queries_for(backend)["windows missed in 2026 by area"]
    names = {r["area_id"]: r["name"] for r in run(example, "SELECT area_id, name FROM areas")}

    def expected(year: int) -> list[tuple[str, str, int]]:
        counts = Counter(
            area
            for row in report
            if row["status"] == "missed" and row["window_end"].year == year
            for area in row["areas"]
        )
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return [(area, names[area], count) for area, count in ranked]

    def got(query: str) -> list[tuple[str, str, int]]:
        return [(r["area_id"], r["area"], r["missed_windows"]) for r in run(example, query)]

    assert got(sql) == expected(2026)
    # The same question for 2025: political consultations missed 2025-Q3 (the September
    # round was cancelled and only made up in November), and nothing else was missed.
    for_2025 = sql.replace("'2026-", "'2025-")
    assert for_2025 != sql
    assert (
        got(for_2025)
        == expected(2025)
        == [
            ("culture", names["culture"], 1),
            ("economy", names["economy"], 1),
            ("energy", names["energy"], 1),
            ("security", names["security"], 1),
        ]
    )
    detail = run(example, queries_for(backend)["missed windows with their tracks"])
    assert {(r["track_id"], r["window"]) for r in detail} >= {
        ("political-consultations", "2025-Q3")
    }
    assert all(r["held"] < r["required"] for r in detail)


def test_share_satisfied_by_priority(example: Engine, backend: str) -> None:
    on_one_day(example, lambda day: check_share_satisfied_by_priority(example, backend, day))


def check_share_satisfied_by_priority(example: Engine, backend: str, day: date) -> None:
    report = report_on(example, day)
    rows = run(example, queries_for(backend)["share of windows satisfied by priority"])
    ended = [row for row in report if row["window_end"] < day]
    total = Counter(row["priority"] for row in ended)
    satisfied = Counter(row["priority"] for row in ended if row["status"] == "satisfied")
    assert [r["priority"] for r in rows] == [p for p in ("high", "medium", "low") if total[p]]
    assert {r["priority"] for r in rows} == {"high", "medium", "low"}
    for r in rows:
        priority = r["priority"]
        assert (r["ended_windows"], r["satisfied_windows"]) == (
            total[priority],
            satisfied[priority],
        )
        percent = Decimal(str(r["satisfied_percent"]))
        share = Decimal(100 * satisfied[priority]) / total[priority]
        assert abs(percent - share) <= Decimal("0.05")
    high = next(r for r in rows if r["priority"] == "high")
    assert Decimal(str(high["satisfied_percent"])) < 100  # political consultations 2025-Q3


def test_overdue_action_items_by_owner(example: Engine, backend: str) -> None:
    on_one_day(example, lambda day: check_overdue_action_items_by_owner(example, backend, day))


def check_overdue_action_items_by_owner(example: Engine, backend: str, day: date) -> None:
    rows = run(example, queries_for(backend)["overdue action items by owner"])
    items = action_report(ReadModels(example), as_of=day, status="overdue")
    counts = Counter(item["owner"] for item in items)
    assert {r["owner"]: r["overdue_items"] for r in rows} == counts
    assert set(counts) == {"AZ-MFA", "TM-MFA"}  # the example leaves one of each overdue
    for r in rows:
        oldest = min(item["due"] for item in items if item["owner"] == r["owner"])
        assert as_date(r["oldest_due"]) == oldest
    assert [r["overdue_items"] for r in rows] == sorted(
        (r["overdue_items"] for r in rows), reverse=True
    )


def test_meetings_per_host_per_year(example: Engine, backend: str) -> None:
    rows = run(example, queries_for(backend)["meetings per host per year"])
    schedule = [m for m in ReadModels(example).schedule() if m["status"] != "cancelled"]
    expected = Counter((m["start_local"][:4], m["host"] or "(none)") for m in schedule)
    held = Counter(
        (m["start_local"][:4], m["host"] or "(none)") for m in schedule if m["status"] == "held"
    )
    assert {(r["year"], r["host"]): r["meetings"] for r in rows} == expected
    assert {(r["year"], r["host"]): r["held"] for r in rows if r["held"]} == held
    assert sum(r["meetings"] for r in rows) == 38  # 39 meetings, one cancelled
    assert {("2025", "AZ-MFA"), ("2025", "TM-MFA"), ("2027", "TM-MFA")} <= set(expected)
    assert [(r["year"], r["host"]) for r in rows] == sorted((r["year"], r["host"]) for r in rows)


def test_sessions_held_in_the_last_12_months(example: Engine, backend: str) -> None:
    # Sessions relative to the day the suite runs: the example's own (fixed dates) fall out
    # of "the last 12 months" as time goes by; these never do.
    service = wire(example)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    service.execute(
        AddTrack(track_id="recent", title="Recent", kind="consultation", cadence="quarter", start=(now - timedelta(days=800)).date(),
                 tz="UTC"),
        ANALYST,
    )  # fmt: skip
    for meeting_id, days_ago in (("recent-old", 500), ("recent-new", 30)):
        start = now - timedelta(days=days_ago)
        service.execute(
            PlanMeeting(meeting_id=meeting_id, title="Session", start=start, track_id="recent"),
            ANALYST,
        )
        service.execute(RecordMeetingHeld(meeting_id=meeting_id), ANALYST)
    before = datetime.now(UTC)
    rows = run(example, queries_for(backend)["sessions held per track in the last 12 months"])
    after = datetime.now(UTC)
    held = [m for m in ReadModels(example).schedule() if m["status"] == "held"]
    # "12 months ago", as each backend computes it from its own clock during the query, is
    # 365 or 366 days (month-end and 29 February rules differ) before a moment between
    # ``before`` and ``after``: sessions inside that band may count either way.
    surely = Counter(m["track_id"] for m in held if m["held_start_utc"] >= after - timedelta(365))
    maybe = Counter(m["track_id"] for m in held if m["held_start_utc"] >= before - timedelta(366))
    counted = {r["track_id"]: r["held_sessions"] for r in rows}
    assert set(surely) <= set(counted) <= set(maybe)
    for track_id in maybe:
        assert surely[track_id] <= counted.get(track_id, 0) <= maybe[track_id], track_id
    assert counted["recent"] == 1  # 30 days ago counts, 500 days ago does not
    assert all(r["track_title"] for r in rows)


def test_one_tracks_history_and_attention_list(example: Engine, backend: str) -> None:
    on_one_day(example, lambda day: check_history_and_attention_list(example, backend, day))


def check_history_and_attention_list(example: Engine, backend: str, day: date) -> None:
    report = report_on(example, day)
    queries = queries_for(backend)
    history = run(example, queries["one track's compliance history"])
    expected = [
        (r["window"], r["status"]) for r in report if r["track"] == "political-consultations"
    ]
    assert [(r["window"], r["status"]) for r in history] == expected
    assert ("2025-Q3", "missed") in expected
    attention = run(example, queries["windows needing attention"])
    assert {(r["track_id"], r["window"]) for r in attention} == {
        (r["track"], r["window"])
        for r in report
        if r["status"] in {"at_risk", "unconfirmed", "awaiting_record"}
    }


# --- a track that falls silent ----------------------------------------------------------


@pytest.fixture
def silent_track(migrated_engine: Engine) -> Engine:
    """A quarterly track whose only session was in 2025-Q1: it then fell silent."""
    service = wire(migrated_engine)
    import_example(service)
    service.execute(
        AddTrack(
            track_id="silent",
            title="Silent track",
            kind="consultation",
            cadence="quarter",
            start=date(2025, 1, 1),
            tz="UTC",
        ),
        ANALYST,
    )
    service.execute(
        PlanMeeting(
            meeting_id="silent-1",
            title="Only one",
            start=datetime(2025, 2, 10, 10),
            track_id="silent",
        ),
        ANALYST,
    )
    service.execute(RecordMeetingHeld(meeting_id="silent-1"), ANALYST)
    return migrated_engine


def test_views_list_missed_windows_after_a_tracks_last_meeting(silent_track: Engine) -> None:
    def check(day: date) -> None:
        rows = run(
            silent_track,
            """SELECT "window", status FROM v_compliance_windows WHERE track_id = 'silent'""",
        )
        report = compliance_report(ReadModels(silent_track), as_of=day, track_id="silent")
        assert report[1]["status"] == "missed"  # 2025-Q2, in the CLI report
        assert {r["window"]: r["status"] for r in rows}.get("2025-Q2") == "missed"

    on_one_day(silent_track, check)


# --- a running window kept up only by a meeting nobody recorded ------------------------------


def test_views_say_awaiting_record_for_a_running_window_like_the_report(
    migrated_engine: Engine,
) -> None:
    service = wire(migrated_engine)

    def check(day: date) -> None:
        # A max-gap window started ten days ago, its one meeting five days ago, unrecorded.
        track = f"gap-{day.isoformat()}"
        service.execute(
            AddTrack(track_id=track, title="Gap track", kind="consultation",
                     cadence="max-gap:P6M", start=day - timedelta(days=10), tz="UTC"),
            ANALYST,
        )  # fmt: skip
        service.execute(
            PlanMeeting(meeting_id=f"{track}-m", title="Unrecorded", track_id=track,
                        start=datetime.combine(day - timedelta(days=5), datetime.min.time())),
            ANALYST,
        )  # fmt: skip
        row, *_ = run(
            migrated_engine,
            f"""SELECT "window", planned, unconfirmed, status FROM v_compliance_windows
                WHERE track_id = '{track}' ORDER BY window_start""",
        )
        window, *_ = compliance_report(ReadModels(migrated_engine), as_of=day, track_id=track)
        assert row["window"] == window["window"]
        assert (row["planned"], row["unconfirmed"]) == (0, 1)
        assert row["status"] == window["status"] == "awaiting_record"

    on_one_day(migrated_engine, check)
