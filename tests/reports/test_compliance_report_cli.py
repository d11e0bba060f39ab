"""`report compliance`, `report actions` and `schedule` end to end, as a user runs them.

Scenarios are built with the CLI write commands on both backends; meetings recorded held
lie in the past, and `--as-of` places "today" for the report. The pure status rules are
unit-tested in tests/domain/test_compliance.py; here each edge of DESIGN §2 is checked
through projections, report and CLI, and in all four output formats (table, json, csv,
html), which must agree.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from consultations.domain.commands import CompleteActionItem, DropActionItem
from tests.projections.support import ANALYST, wire
from tests.reports.support import STATUSES, Cli, ReportDocument, span, table_rows

Key = tuple[str, str]  # (track, window)


class ReportCli(Cli):
    """The CLI session, with the compliance report read in all four formats."""

    def report(self, *args: str) -> dict[Key, dict[str, Any]]:
        """The compliance report, read in all four formats, which must agree; by window."""
        rows = self.json("report", "compliance", *args)
        expected = [(row["track"], row["window"], row["status"]) for row in rows]
        assert {status for *_, status in expected} <= STATUSES
        by_csv = list(
            csv.DictReader(io.StringIO(self.ok("report", "compliance", *args, "--format", "csv")))
        )
        assert [(r["track"], r["window"], r["status"]) for r in by_csv] == expected
        table = table_rows(self.ok("report", "compliance", *args))
        assert [(cells[0], cells[1], cells[-1]) for cells in table] == expected
        # Without the forward look the html format reaches no further than the others.
        assert self.html(*args, "--ahead", "0").windows() == expected
        return {(row["track"], row["window"]): row for row in rows}

    def statuses(self, *args: str) -> dict[Key, str]:
        return {key: row["status"] for key, row in self.report(*args).items()}


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine
) -> ReportCli:
    return ReportCli.with_parties(capsys, database_url, migrated_engine)


# --- every status, in all four formats -----------------------------------------------------

AS_OF = "2026-05-10"
SEVEN = {
    ("pc", "2025-Q3"): "satisfied",
    ("pc", "2025-Q4"): "missed",  # its only meeting was cancelled
    ("pc", "2026-Q1"): "unconfirmed",  # planned, day passed, never recorded
    ("pc", "2026-Q2"): "scheduled",
    ("pc", "2026-Q3"): "upcoming",
    ("pc", "2026-Q4"): "upcoming",
    ("ws", "2025-H1"): "satisfied",
    ("ws", "2025-H2"): "satisfied",
    ("ws", "2026-H1"): "at_risk",  # nothing planned, ends 2026-06-30, lead from 2026-05-01
    ("ws", "2026-H2"): "upcoming",
    ("cx", "2026"): "open",
    ("rv", "2026"): "awaiting_record",  # its only meeting's day passed, nothing recorded
}


@pytest.fixture
def seven(cli: ReportCli) -> ReportCli:
    """Four tracks whose windows, on 2026-05-10, show every status."""
    cli.track("pc", "quarter", "2025-07-01", "--area", "security", "--priority", "high")
    cli.meeting("pc", "pc-q3", "2025-08-10 10:00", held=True)
    cli.meeting("pc", "pc-q4", "2025-11-10 10:00")
    cli.ok("meeting", "cancel", "pc-q4", "--reason", "postponed")
    cli.meeting("pc", "pc-q1", "2026-02-10 10:00")
    cli.meeting("pc", "pc-q2", "2026-06-10 10:00")
    cli.track("ws", "half-year", "2025-01-01", "--area", "energy", "--tz", "Asia/Baku")
    cli.meeting("ws", "ws-h1", "2025-04-15 10:00", held=True)
    cli.meeting("ws", "ws-h2", "2025-10-21 10:00", held=True)
    cli.track("cx", "year", "2026-01-01", "--area", "culture", "--priority", "low")
    cli.track("rv", "year", "2026-01-01", "--area", "energy")
    cli.meeting("rv", "rv-april", "2026-04-20 10:00")
    return cli


def test_every_status_agrees_in_json_csv_table_and_html(seven: ReportCli) -> None:
    rows = seven.report("--as-of", AS_OF)
    assert {key: row["status"] for key, row in rows.items()} == SEVEN
    assert set(SEVEN.values()) == STATUSES
    assert list(rows) == sorted(SEVEN, key=lambda key: ["cx", "pc", "rv", "ws"].index(key[0]))
    q1, q2, q4 = rows["pc", "2026-Q1"], rows["pc", "2026-Q2"], rows["pc", "2025-Q4"]
    assert (q1["held"], q1["planned"], q1["unconfirmed"], q1["meetings"]) == (0, 0, 1, ["pc-q1"])
    assert (q2["held"], q2["planned"], q2["unconfirmed"], q2["meetings"]) == (0, 1, 0, ["pc-q2"])
    assert (q4["held"], q4["planned"], q4["unconfirmed"], q4["meetings"]) == (0, 0, 0, [])
    rv = rows["rv", "2026"]
    assert (rv["held"], rv["planned"], rv["unconfirmed"], rv["meetings"]) == (0, 0, 1, ["rv-april"])
    assert (q1["window_start"], q1["window_end"]) == ("2026-01-01", "2026-03-31")
    assert (q1["title"], q1["priority"], q1["areas"], q1["required"]) == (
        "Track pc", "high", ["security"], 1,
    )  # fmt: skip


def test_csv_carries_every_json_field(seven: ReportCli) -> None:
    rows = seven.json("report", "compliance", "--as-of", AS_OF)
    text = seven.ok("report", "compliance", "--as-of", AS_OF, "--format", "csv")
    by_csv = list(csv.DictReader(io.StringIO(text)))
    assert len(by_csv) == len(rows) == len(SEVEN)
    for row, line in zip(rows, by_csv, strict=True):
        assert set(line) == set(row)
        for key, value in row.items():
            assert line[key] == ("; ".join(value) if isinstance(value, list) else str(value))


def test_the_html_report_has_one_timeline_for_every_track(seven: ReportCli) -> None:
    document = seven.html("--as-of", AS_OF)
    assert document.tracks() == ["cx", "pc", "rv", "ws"]
    assert [document.lane(t).find_all("a")[0].text() for t in document.tracks()] == [
        "Track cx", "Track pc", "Track rv", "Track ws",
    ]  # fmt: skip
    quarters = ("2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
    pc = document.bars("pc")
    assert [(bar.attrs["data-window"], bar.attrs["data-status"]) for bar in pc] == [
        (quarter, SEVEN["pc", quarter]) for quarter in quarters
    ]
    spans = [span(bar) for bar in pc]
    assert all(0 <= left < right <= 100 for left, right in spans)
    for (left, right), (next_left, _) in itertools.pairwise(spans):
        assert left < right <= next_left + 0.001, "bars side by side, in time order"
    # One axis for all: windows that start on the same day start at the same place.
    starts = {
        (track, bar.attrs["data-window"]): span(bar)[0]
        for track in document.tracks()
        for bar in document.bars(track)
    }
    assert starts["cx", "2026"] == starts["pc", "2026-Q1"] == starts["ws", "2026-H1"] > 0
    assert starts["pc", "2025-Q3"] == starts["ws", "2025-H2"] > starts["ws", "2025-H1"] == 0
    assert "2026-05-10" in document.root.text()  # the as-of date is stated


def test_output_option_writes_the_file_and_nothing_to_stdout(
    seven: ReportCli, tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    assert (
        seven.ok("report", "compliance", "--as-of", AS_OF, "--format", "html", "-o", str(target))
        == ""
    )
    document = ReportDocument.parse(target.read_text(encoding="utf-8"))
    # The forward look reaches the window after the current one: cx's and rv's 2027.
    assert {(t, w): s for t, w, s in document.windows()} == SEVEN | {
        ("cx", "2027"): "upcoming", ("rv", "2027"): "upcoming",
    }  # fmt: skip
    for output_format in ("csv", "json"):
        written = tmp_path / f"report.{output_format}"
        args = ("report", "compliance", "--as-of", AS_OF, "--format", output_format)
        assert seven.ok(*args, "--output", str(written)) == ""
        assert written.read_text(encoding="utf-8") == seven.ok(*args)
    assert json.loads((tmp_path / "report.json").read_text())[0]["track"] == "cx"


def test_report_filters_by_track_area_and_window_range(seven: ReportCli) -> None:
    assert set(seven.statuses("--as-of", AS_OF, "--area", "culture")) == {("cx", "2026")}
    assert set(seven.statuses("--as-of", AS_OF, "--track", "ws")) == {
        key for key in SEVEN if key[0] == "ws"
    }
    ranged = seven.statuses(
        "--as-of", AS_OF, "--track", "pc", "--from", "2025-12-31", "--to", "2026-04-01"
    )
    assert ranged == {
        key: SEVEN[key] for key in [("pc", "2025-Q4"), ("pc", "2026-Q1"), ("pc", "2026-Q2")]
    }
    result = seven("report", "compliance", "--as-of", "2026-02-30")
    assert result.code == 2
    assert "--as-of" in result.err
    assert result.out == ""


def test_timeline_bars_of_a_max_gap_track_do_not_overlap(cli: ReportCli) -> None:
    """A closed max-gap window keeps its deadline as end; its bar must not hide the next."""
    cli.track("tf", "max-gap:P3M", "2025-01-01")
    cli.meeting("tf", "tf-jan", "2025-01-20 10:00", held=True)
    cli.meeting("tf", "tf-mar", "2025-03-05 10:00", held=True)
    args = ("report", "compliance", "--as-of", "2025-07-01", "--to", "2025-07-01")
    statuses = [row["status"] for row in cli.json(*args)]
    assert statuses == ["satisfied", "satisfied", "missed", "open"]
    bars = cli.html(*args[2:], "--ahead", "0").bars("tf")
    assert [bar.attrs["data-status"] for bar in bars] == statuses
    spans = [span(bar) for bar in bars]
    for (left, right), (next_left, _) in itertools.pairwise(spans):
        assert left < right <= next_left + 0.001


# --- the edges of DESIGN §2 ----------------------------------------------------------------


def test_the_last_day_of_a_window_still_belongs_to_it(cli: ReportCli) -> None:
    cli.track("late", "quarter", "2026-01-01", "--tz", "Asia/Baku")
    cli.meeting("late", "late-q1", "2026-03-31 23:30", held=True)  # 19:30 UTC, same day
    cli.track("none", "quarter", "2026-01-01")
    cli.track("wait", "quarter", "2026-01-01")
    cli.meeting("wait", "wait-q1", "2026-03-31 10:00")  # planned, never recorded
    on_last_day = cli.report("--as-of", "2026-03-31", "--to", "2026-04-01")
    day_after = cli.report("--as-of", "2026-04-01")
    assert on_last_day["late", "2026-Q1"]["status"] == "satisfied"
    assert on_last_day["late", "2026-Q1"]["meetings"] == ["late-q1"]
    assert on_last_day["late", "2026-Q2"]["held"] == 0
    # The window ends at the end of its last day: not yet missed on 31 March.
    assert on_last_day["none", "2026-Q1"]["status"] == "at_risk"
    assert day_after["none", "2026-Q1"]["status"] == "missed"
    # A meeting planned for the last day is still to come that day, unconfirmed the next.
    wait = on_last_day["wait", "2026-Q1"]
    assert (wait["status"], wait["planned"], wait["unconfirmed"]) == ("scheduled", 1, 0)
    wait = day_after["wait", "2026-Q1"]
    assert (wait["status"], wait["planned"], wait["unconfirmed"]) == ("unconfirmed", 0, 1)


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("2026-03-31", "upcoming"),  # the day before the window starts
        ("2026-04-01", "open"),
        ("2026-04-30", "open"),  # 61 days before the end (2026-06-30)
        ("2026-05-01", "at_risk"),  # exactly 60 days before the end
        ("2026-06-30", "at_risk"),  # the last day
        ("2026-07-01", "missed"),
    ],
)
def test_the_at_risk_lead_boundary(cli: ReportCli, as_of: str, status: str) -> None:
    cli.track("q", "quarter", "2026-04-01")
    cli.track("planned", "quarter", "2026-04-01")
    cli.meeting("planned", "planned-q2", "2026-06-29 10:00")
    statuses = cli.statuses("--as-of", as_of, "--to", "2026-06-30")
    assert statuses["q", "2026-Q2"] == status
    expected = {
        "2026-03-31": "upcoming",
        "2026-06-30": "awaiting_record",  # the day after its day: nobody recorded it
        "2026-07-01": "unconfirmed",
    }.get(as_of, "scheduled")
    assert statuses["planned", "2026-Q2"] == expected


def test_max_gap_windows_clamp_month_ends(cli: ReportCli) -> None:
    """Aug 31 + 6 months is Feb 28 (Feb 29 in a leap year), and the window ends there."""
    for track_id in ("gap", "kept", "late"):
        cli.track(track_id, "max-gap:P6M", "2025-03-01", "--tz", "Asia/Baku")
        cli.meeting(track_id, f"{track_id}-aug", "2025-08-31 10:00", held=True)
    cli.meeting("kept", "kept-feb", "2026-02-28 18:00", held=True)
    cli.meeting("late", "late-mar", "2026-03-01 10:00", held=True)
    cli.track("leap", "max-gap:P6M", "2023-03-01", "--tz", "Asia/Baku")
    cli.meeting("leap", "leap-aug", "2023-08-31 10:00", held=True)

    on_deadline = cli.report("--as-of", "2026-02-28", "--to", "2026-02-28")
    day_after = cli.report("--as-of", "2026-03-01", "--to", "2026-03-01")
    first, second = "2025-03-01..2025-09-01", "2025-09-01..2026-02-28"
    for statuses in (on_deadline, day_after):
        assert statuses["gap", first]["status"] == "satisfied"
        assert statuses["gap", first]["meetings"] == ["gap-aug"]
    assert on_deadline["gap", second]["status"] == "at_risk"
    assert day_after["gap", second]["status"] == "missed"
    assert ("gap", "2026-03-01..2026-09-01") in day_after  # the next window starts
    assert day_after["kept", second]["status"] == "satisfied"
    assert day_after["kept", second]["meetings"] == ["kept-feb"]
    # Anchored on the held day: 2026-02-28 + 6 months = 2026-08-28.
    assert day_after["kept", "2026-03-01..2026-08-28"]["status"] == "open"
    assert day_after["late", second]["status"] == "missed"  # 1 March is one day too late
    assert day_after["late", "2026-03-01..2026-09-01"]["meetings"] == ["late-mar"]
    assert ("leap", "2023-09-01..2024-02-29") in day_after
    assert day_after["leap", "2023-09-01..2024-02-29"]["window_end"] == "2024-02-29"


def test_a_track_that_starts_and_retires_mid_window(cli: ReportCli) -> None:
    cli.track("mid", "quarter", "2025-08-15")
    cli.meeting("mid", "mid-sep", "2025-09-10 10:00", held=True)
    cli.meeting("mid", "mid-jan", "2026-01-20 10:00", held=True)
    cli.ok("track", "retire", "mid", "--on", "2026-02-15")
    cli.track("gone", "quarter", "2025-08-15")
    cli.ok("track", "retire", "gone", "--on", "2026-02-15")
    rows = cli.report("--as-of", "2026-06-01", "--from", "2025-01-01", "--to", "2026-12-31")
    mid = {window: row for (track, window), row in rows.items() if track == "mid"}
    # The first window is the whole quarter containing the start; nothing before it.
    assert list(mid) == ["2025-Q3", "2025-Q4", "2026-Q1"]  # nothing after the retirement
    assert (mid["2025-Q3"]["window_start"], mid["2025-Q3"]["status"]) == ("2025-07-01", "satisfied")
    assert mid["2025-Q4"]["status"] == "missed"
    assert mid["2026-Q1"]["status"] == "satisfied"
    gone = {window: row["status"] for (track, window), row in rows.items() if track == "gone"}
    # The windows containing the start and the retirement are required in full.
    assert gone == {"2025-Q3": "missed", "2025-Q4": "missed", "2026-Q1": "missed"}
    result = cli(
        "meeting", "plan", "--track", "gone", "--title", "late", "--start", "2026-03-01 10:00"
    )
    assert result.code == 3


def test_a_meeting_planned_in_one_window_and_held_in_the_next(cli: ReportCli) -> None:
    cli.track("slip", "quarter", "2026-01-01")
    cli.meeting("slip", "slip-1", "2026-03-25 10:00", on="2026-04-02 10:00")
    rows = cli.report("--as-of", "2026-05-10", "--to", "2026-06-30")
    q1, q2 = rows["slip", "2026-Q1"], rows["slip", "2026-Q2"]
    assert (q1["status"], q1["held"], q1["unconfirmed"], q1["meetings"]) == ("missed", 0, 0, [])
    assert (q2["status"], q2["held"], q2["meetings"]) == ("satisfied", 1, ["slip-1"])
    (meeting,) = cli.json("schedule", "--all", "--track", "slip")
    assert (meeting["start_local"], meeting["status"]) == ("2026-03-25T10:00:00", "held")


def test_a_meeting_counts_on_its_local_day_in_the_tracks_zone(cli: ReportCli) -> None:
    """00:30 on 1 July in Baku is still 30 June in UTC: it belongs to the second half."""
    cli.track("baku", "half-year", "2026-01-01", "--tz", "Asia/Baku")
    cli.meeting("baku", "baku-july", "2026-07-01 00:30", held=True)
    cli.track("utc", "half-year", "2026-01-01", "--tz", "UTC")
    cli.meeting("utc", "utc-june", "2026-06-30 20:30", held=True)  # the same instant
    rows = cli.report("--as-of", "2026-08-01")
    assert rows["baku", "2026-H1"]["status"] == "missed"
    assert (rows["baku", "2026-H2"]["status"], rows["baku", "2026-H2"]["meetings"]) == (
        "satisfied", ["baku-july"],
    )  # fmt: skip
    assert rows["utc", "2026-H1"]["status"] == "satisfied"
    assert rows["utc", "2026-H2"]["status"] == "open"
    schedule = {row["meeting_id"]: row for row in cli.json("schedule", "--all")}
    assert schedule["baku-july"]["start_utc"] == schedule["utc-june"]["start_utc"]
    assert schedule["baku-july"]["start_utc"].startswith("2026-06-30T20:30:00")


# --- action items --------------------------------------------------------------------------


def test_report_actions_by_status(cli: ReportCli, migrated_engine: Engine) -> None:
    cli.track("pc", "quarter", "2026-01-01")
    cli.meeting("pc", "pc-feb", "2026-02-10 10:00")
    cli.ok(
        "meeting", "held", "pc-feb",
        "--action", "Send the draft memorandum|AZ-MFA|2026-03-01",
        "--action", "Nominate co-chairs|TM-MFA|2026-07-01",
        "--action", "Share the minutes|TM-MFA|2026-02-20",
        "--action", "Book the venue|AZ-MFA|2026-02-15",
    )  # fmt: skip
    service = wire(migrated_engine)
    service.execute(
        CompleteActionItem(meeting_id="pc-feb", item_id="pc-feb/3", on=date(2026, 2, 18)), ANALYST
    )
    service.execute(
        DropActionItem(meeting_id="pc-feb", item_id="pc-feb/4", reason="not needed"), ANALYST
    )

    def ids(*args: str) -> list[str]:
        return [
            row["item_id"] for row in cli.json("report", "actions", "--as-of", "2026-05-01", *args)
        ]

    assert ids() == ["pc-feb/4", "pc-feb/3", "pc-feb/1", "pc-feb/2"]  # by due date
    assert ids("--status", "open") == ["pc-feb/1", "pc-feb/2"]
    assert ids("--status", "overdue") == ["pc-feb/1"]
    assert ids("--status", "done") == ["pc-feb/3"]
    everything = {
        row["item_id"]: row for row in cli.json("report", "actions", "--as-of", "2026-05-01")
    }
    assert everything["pc-feb/1"]["overdue"] is True
    assert everything["pc-feb/2"]["overdue"] is False
    assert everything["pc-feb/3"]["overdue"] is False  # done, although past due
    assert (everything["pc-feb/3"]["status"], everything["pc-feb/3"]["closed_on"]) == (
        "done",
        "2026-02-18",
    )
    assert everything["pc-feb/4"]["status"] == "dropped"
    assert (everything["pc-feb/1"]["owner"], everything["pc-feb/1"]["due"]) == (
        "AZ-MFA",
        "2026-03-01",
    )
    assert everything["pc-feb/1"]["meeting_title"] == "Meeting pc-feb"
    # On the due day an item is not overdue yet.
    on_due = cli.json("report", "actions", "--as-of", "2026-03-01", "--status", "overdue")
    assert on_due == []
    table = table_rows(cli.ok("report", "actions", "--as-of", "2026-05-01", "--status", "open"))
    assert [row[0] for row in table if row[0]] == ["pc-feb/1", "pc-feb/2"]  # long cells wrap
    lines = list(
        csv.DictReader(
            io.StringIO(cli.ok("report", "actions", "--as-of", "2026-05-01", "--format", "csv"))
        )
    )
    assert [(line["item_id"], line["overdue"]) for line in lines] == [
        ("pc-feb/4", "False"), ("pc-feb/3", "False"), ("pc-feb/1", "True"), ("pc-feb/2", "False"),
    ]  # fmt: skip
    assert cli("report", "actions", "--status", "late").code == 2


# --- the schedule --------------------------------------------------------------------------


def test_schedule_filters(cli: ReportCli) -> None:
    cli.track("pc", "quarter", "2026-01-01", "--area", "security", "--tz", "Asia/Baku")
    cli.track("cx", "year", "2026-01-01", "--area", "culture")
    cli.meeting("pc", "pc-june", "2026-06-30 10:00")
    cli.meeting("pc", "pc-july", "2026-07-01 00:30")  # 30 June in UTC
    cli.meeting("cx", "cx-june", "2026-06-15 11:00")
    cli.ok(
        "meeting", "plan", "--title", "Ad hoc call", "--start", "2026-07-02 09:00",
        "--tz", "Asia/Baku", "--host", "AZ-MFA", "--id", "adhoc-az",
    )  # fmt: skip

    def ids(*args: str) -> list[str]:
        return [row["meeting_id"] for row in cli.json("schedule", "--all", *args)]

    assert ids() == ["cx-june", "pc-june", "pc-july", "adhoc-az"]  # in start order
    # --from and --to are inclusive local dates.
    assert ids("--to", "2026-06-30") == ["cx-june", "pc-june"]
    assert ids("--from", "2026-07-01") == ["pc-july", "adhoc-az"]
    assert ids("--from", "2026-06-30", "--to", "2026-07-01") == ["pc-june", "pc-july"]
    assert ids("--track", "pc") == ["pc-june", "pc-july"]
    assert ids("--area", "culture") == ["cx-june"]
    assert ids("--area", "energy") == []
    assert ids("--party", "AZ-MFA") == ["cx-june", "pc-june", "pc-july", "adhoc-az"]
    assert ids("--party", "TM-MFA") == ["cx-june", "pc-june", "pc-july"]  # not the ad hoc call
    assert ids("--track", "pc", "--from", "2026-07-01") == ["pc-july"]
    row = cli.json("schedule", "--all", "--track", "cx")[0]
    assert {"meeting_id", "start_local", "end_local", "tz", "title", "track_id", "status",
            "start_utc", "end_utc", "sequence"} <= set(row)  # fmt: skip
    table = table_rows(cli.ok("schedule", "--all", "--track", "pc"))
    # Both have passed, nobody recorded them: the table's status says so.
    assert [cells[0] for cells in table] == [
        "pc-june", "awaiting record", "pc-july", "awaiting record",
    ]  # fmt: skip
    lines = list(
        csv.DictReader(
            io.StringIO(cli.ok("schedule", "--all", "--format", "csv", "--area", "security"))
        )
    )
    assert [(line["meeting_id"], line["start_local"]) for line in lines] == [
        ("pc-june", "2026-06-30T10:00:00"), ("pc-july", "2026-07-01T00:30:00"),
    ]  # fmt: skip
    assert cli("schedule", "--from", "30/06/2026").code == 2


def test_schedule_marks_past_meetings_nobody_recorded_as_awaiting_record(cli: Cli) -> None:
    # Dates far from today either way: the CLI judges "past" by the application's clock.
    cli.track("pc", "quarter", "2020-01-01", "--tz", "Asia/Baku")
    cli.meeting("pc", "pc-held", "2020-02-10 10:00", held=True)
    cli.meeting("pc", "pc-cancelled", "2020-05-10 10:00")
    cli.ok("meeting", "cancel", "pc-cancelled", "--reason", "postponed")
    cli.meeting("pc", "pc-forgotten", "2020-08-10 10:00")
    cli.meeting("pc", "pc-moved", "2020-09-10 10:00")
    cli.ok("meeting", "reschedule", "pc-moved", "--start", "2020-11-10 10:00")
    cli.meeting("pc", "pc-future", "2199-02-10 10:00")
    rows = {row["meeting_id"]: row for row in cli.json("schedule", "--all")}
    assert {meeting: (row["status"], row["awaiting_record"]) for meeting, row in rows.items()} == {
        "pc-held": ("held", False),
        "pc-cancelled": ("cancelled", False),
        "pc-forgotten": ("planned", True),
        "pc-moved": ("rescheduled", True),
        "pc-future": ("planned", False),
    }
    lines = csv.DictReader(io.StringIO(cli.ok("schedule", "--all", "--format", "csv")))
    assert {line["meeting_id"]: line["awaiting_record"] for line in lines}["pc-forgotten"] == "True"

    def table(*args: str) -> dict[str, str]:
        """Each meeting's status in the table (the id's cell has the status under it)."""
        cells = [cells[0] for cells in table_rows(cli.ok("schedule", *args))]
        return dict(zip(cells[::2], cells[1::2], strict=True))

    assert table("--all") == {
        "pc-held": "held",
        "pc-cancelled": "cancelled",
        "pc-forgotten": "awaiting record",
        "pc-moved": "awaiting record",
        "pc-future": "planned",
    }
    # What is coming, by default: from today on, and before it what still awaits its record.
    assert table() == {
        "pc-forgotten": "awaiting record",
        "pc-moved": "awaiting record",
        "pc-future": "planned",
    }
    assert [row["meeting_id"] for row in cli.json("schedule", "--from", "2020-09-01")] == [
        "pc-moved", "pc-future",
    ]  # fmt: skip
