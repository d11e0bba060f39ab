"""Time travel: `--known-at T` answers from only the events recorded at or before T.

The log is written through the command service with a controllable `recorded_at` clock:
a plan recorded on 2026-03-01, then changes recorded on 2026-04-01 (a reschedule, a
cancellation, a meeting recorded held, a new meeting, a completed action item, a new
track). Asked with `--known-at` before the changes, `schedule` and both reports show the
March state; without it, the current one.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from consultations.domain.commands import (
    AddTrack,
    CancelMeeting,
    CompleteActionItem,
    NewActionItem,
    PlanMeeting,
    RecordMeetingHeld,
    RegisterArea,
    RegisterParty,
    RescheduleMeeting,
)
from tests.cli.runner import run_cli
from tests.projections.support import ANALYST, snapshot, wire
from tests.reports.support import ReportDocument

MARCH = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # every change is recorded at this instant


class Clock:
    """The event store's `recorded_at` clock, moved by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def wall(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def history(migrated_engine: Engine) -> Engine:
    """A log that changed on 2026-04-01, after what was recorded on 2026-03-01."""
    clock = Clock(MARCH)
    service = wire(migrated_engine, clock=clock)
    for command in (
        RegisterParty(party_id="TM-MFA", name="MFA of Turkmenistan", tz="Asia/Ashgabat"),
        RegisterParty(party_id="AZ-MFA", name="MFA of Azerbaijan", tz="Asia/Baku"),
        RegisterArea(area_id="security", name="Security"),
        AddTrack(
            track_id="pc", title="Political consultations", kind="consultation", cadence="quarter", start=date(2026, 1, 1),
            tz="Asia/Ashgabat", parties=("TM-MFA", "AZ-MFA"), areas=("security",), priority="high",
        ),
        PlanMeeting(meeting_id="pc-feb", title="Consultations, February", start=wall("2026-02-10 10:00"), track_id="pc"),
        RecordMeetingHeld(
            meeting_id="pc-feb", action_items=(NewActionItem(text="Send the draft", owner="TM-MFA", due=date(2026, 3, 10)),)
        ),
        PlanMeeting(meeting_id="pc-mar", title="Consultations, March", start=wall("2026-03-20 10:00"), track_id="pc"),
        PlanMeeting(meeting_id="pc-may", title="Consultations, May", start=wall("2026-05-12 10:00"), track_id="pc"),
        PlanMeeting(meeting_id="pc-aug", title="Consultations, August", start=wall("2026-08-11 10:00"), track_id="pc"),
    ):  # fmt: skip
        service.execute(command, ANALYST)
    clock.now = APRIL
    for command in (
        RescheduleMeeting(meeting_id="pc-may", start=wall("2026-07-14 10:00"), reason="the minister travels"),
        CancelMeeting(meeting_id="pc-aug", reason="merged into the July round"),
        RecordMeetingHeld(
            meeting_id="pc-mar", action_items=(NewActionItem(text="Book Awaza", owner="AZ-MFA", due=date(2026, 4, 30)),)
        ),
        PlanMeeting(meeting_id="pc-nov", title="Consultations, November", start=wall("2026-11-10 10:00"), track_id="pc"),
        CompleteActionItem(meeting_id="pc-feb", item_id="pc-feb/1", on=date(2026, 3, 30)),
        AddTrack(
            track_id="cx", title="Cultural exchange", kind="cultural_event", cadence="year", start=date(2026, 1, 1),
            tz="Asia/Ashgabat", parties=("TM-MFA", "AZ-MFA"),
        ),
    ):  # fmt: skip
        service.execute(command, ANALYST)
    return migrated_engine


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], url: str) -> None:
        self.capsys, self.url = capsys, url

    def json(self, *args: str) -> Any:
        result = run_cli(self.capsys, self.url, *args, "--format", "json")
        assert (result.code, result.err) == (0, ""), result
        return json.loads(result.out)

    def schedule(self, *args: str) -> dict[str, dict[str, Any]]:
        return {row["meeting_id"]: row for row in self.json("schedule", "--all", *args)}

    def compliance(self, *args: str) -> dict[tuple[str, str], dict[str, Any]]:
        rows = self.json("report", "compliance", "--as-of", "2026-05-20", *args)
        return {(row["track"], row["window"]): row for row in rows}

    def actions(self, *args: str) -> dict[str, dict[str, Any]]:
        rows = self.json("report", "actions", "--as-of", "2026-03-15", *args)
        return {row["item_id"]: row for row in rows}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], database_url: str, history: Engine) -> Cli:
    return Cli(capsys, database_url)


BEFORE = ["2026-03-15", "2026-03-31", "2026-04-01 08:59", "2026-04-01T12:30+04:00"]
AFTER = ["2026-04-01", "2026-04-01 09:00", "2026-04-01T13:00+04:00"]


def test_schedule_known_at_shows_the_schedule_as_it_was(cli: Cli) -> None:
    then = cli.schedule("--known-at", "2026-03-15")
    assert list(then) == ["pc-feb", "pc-mar", "pc-may", "pc-aug"]
    assert {k: (r["status"], r["start_local"]) for k, r in then.items()} == {
        "pc-feb": ("held", "2026-02-10T10:00:00"),
        "pc-mar": ("planned", "2026-03-20T10:00:00"),
        "pc-may": ("planned", "2026-05-12T10:00:00"),
        "pc-aug": ("planned", "2026-08-11T10:00:00"),
    }
    assert {r["sequence"] for r in then.values()} == {0}
    now = cli.schedule()
    assert list(now) == ["pc-feb", "pc-mar", "pc-may", "pc-aug", "pc-nov"]
    assert {k: (r["status"], r["start_local"]) for k, r in now.items()} == {
        "pc-feb": ("held", "2026-02-10T10:00:00"),
        "pc-mar": ("held", "2026-03-20T10:00:00"),
        "pc-may": ("rescheduled", "2026-07-14T10:00:00"),
        "pc-aug": ("cancelled", "2026-08-11T10:00:00"),
        "pc-nov": ("planned", "2026-11-10T10:00:00"),
    }
    assert now["pc-may"]["sequence"] == then["pc-may"]["sequence"] + 1


def test_schedule_filters_apply_to_the_past_state(cli: Cli) -> None:
    then = cli.schedule("--known-at", "2026-03-15", "--from", "2026-05-01", "--to", "2026-06-30")
    assert list(then) == ["pc-may"]
    assert list(cli.schedule("--from", "2026-05-01", "--to", "2026-06-30")) == []


@pytest.mark.parametrize("moment", BEFORE)
def test_moments_before_the_changes_see_the_old_log(cli: Cli, moment: str) -> None:
    then = cli.schedule("--known-at", moment)
    assert "pc-nov" not in then
    assert then["pc-aug"]["status"] == "planned"


@pytest.mark.parametrize("moment", AFTER)
def test_moments_at_or_after_the_changes_see_them(cli: Cli, moment: str) -> None:
    """A date means the end of that day, UTC; an offset is honoured; T itself is included."""
    assert cli.schedule("--known-at", moment) == cli.schedule()


def test_a_moment_before_anything_was_recorded_sees_nothing(cli: Cli) -> None:
    assert cli.schedule("--known-at", "2026-02-28") == {}
    assert cli.compliance("--known-at", "2026-02-28") == {}
    assert cli.actions("--known-at", "2026-02-28") == {}


def test_compliance_known_at_reports_from_the_old_log(cli: Cli) -> None:
    then = cli.compliance("--known-at", "2026-03-15")
    now = cli.compliance()
    assert set(then) == {("pc", f"2026-Q{q}") for q in (1, 2, 3, 4)}  # no cx track yet
    assert set(now) == set(then) | {("cx", "2026")}

    def summary(row: dict[str, Any]) -> tuple[Any, ...]:
        return row["status"], row["held"], row["planned"], row["unconfirmed"], row["meetings"]

    # Q1: March's meeting was not yet recorded held; it had passed by 2026-05-20.
    assert summary(then["pc", "2026-Q1"]) == ("satisfied", 1, 0, 1, ["pc-feb", "pc-mar"])
    assert summary(now["pc", "2026-Q1"]) == ("satisfied", 2, 0, 0, ["pc-feb", "pc-mar"])
    # Q2: the May meeting (passed, unrecorded) kept it up, awaiting its record; moved to July,
    # Q2 is at risk.
    assert summary(then["pc", "2026-Q2"]) == ("awaiting_record", 0, 0, 1, ["pc-may"])
    assert summary(now["pc", "2026-Q2"]) == ("at_risk", 0, 0, 0, [])
    # Q3: the August meeting then; the moved May meeting now (August was cancelled).
    assert summary(then["pc", "2026-Q3"]) == ("upcoming", 0, 1, 0, ["pc-aug"])
    assert summary(now["pc", "2026-Q3"]) == ("upcoming", 0, 1, 0, ["pc-may"])
    assert summary(then["pc", "2026-Q4"]) == ("upcoming", 0, 0, 0, [])
    assert summary(now["pc", "2026-Q4"]) == ("upcoming", 0, 1, 0, ["pc-nov"])


def test_compliance_known_at_in_csv_and_html(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("report", "compliance", "--as-of", "2026-05-20", "--known-at", "2026-03-15")
    csv_then = run_cli(capsys, cli.url, *args, "--format", "csv")
    assert csv_then.code == 0
    assert (
        "pc,Political consultations,high,security,2026-Q2,2026-04-01,2026-06-30,1,0,0,1,"
        "awaiting_record" in (csv_then.out.replace('"[""security""]"', "security"))
    )
    html_then = run_cli(capsys, cli.url, *args, "--format", "html")
    html_now = run_cli(capsys, cli.url, *args[:-2], "--format", "html")
    assert html_then.code == html_now.code == 0
    then, now = ReportDocument.parse(html_then.out), ReportDocument.parse(html_now.out)
    assert ("pc", "2026-Q2", "awaiting_record") in then.windows()
    assert ("pc", "2026-Q2", "at_risk") in now.windows()
    assert now.tracks() == ["cx", "pc"]
    assert then.tracks() == ["pc"]


def test_actions_known_at_shows_the_items_as_they_were(cli: Cli) -> None:
    then = cli.actions("--known-at", "2026-03-15")
    assert list(then) == ["pc-feb/1"]
    assert (then["pc-feb/1"]["status"], then["pc-feb/1"]["overdue"]) == ("open", True)
    assert list(cli.actions("--known-at", "2026-03-15", "--status", "overdue")) == ["pc-feb/1"]
    assert cli.actions("--known-at", "2026-03-15", "--status", "done") == {}
    now = cli.actions()
    assert list(now) == ["pc-feb/1", "pc-mar/1"]
    assert (now["pc-feb/1"]["status"], now["pc-feb/1"]["closed_on"]) == ("done", "2026-03-30")
    assert (now["pc-mar/1"]["status"], now["pc-mar/1"]["overdue"]) == ("open", False)
    assert list(cli.actions("--status", "done")) == ["pc-feb/1"]
    assert cli.actions("--status", "overdue") == {}


def test_known_at_reads_without_writing(
    cli: Cli, history: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(history)
    cli.schedule("--known-at", "2026-03-15")
    cli.compliance("--known-at", "2026-03-15")
    assert snapshot(history) == before, "time travel replays elsewhere, not into the live tables"
    bad = run_cli(capsys, cli.url, "schedule", "--known-at", "yesterday")
    assert bad.code == 2
    assert "--known-at" in bad.err
    assert bad.out == ""
