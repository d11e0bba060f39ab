"""Inverted ranges, unknown ids (with the closest existing one) and meetings that never count."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.cli.test_write_cli import Session


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine) -> Session:
    session = Session(capsys, database_url, migrated_engine)
    session.ok("party", "add", "TM-MFA", "--name", "MFA of Turkmenistan", "--tz", "Asia/Ashgabat")
    session.ok("party", "add", "AZ-MFA", "--name", "MFA of Azerbaijan", "--tz", "Asia/Baku")
    session.ok("area", "add", "energy", "--name", "Energy")
    session.ok(
        "track", "add", "strategy-workshop", "--title", "Strategy workshop", "--kind", "workshop",
        "--cadence", "half-year", "--start", "2026-03-15", "--party", "AZ-MFA",
        "--party", "TM-MFA", "--area", "energy",
    )  # fmt: skip
    session.ok(
        "track", "add", "joint-review", "--title", "Joint review", "--kind", "review",
        "--cadence", "max-gap:P6M", "--start", "2026-03-15", "--party", "AZ-MFA",
    )  # fmt: skip
    session.ok(
        "meeting", "plan", "--track", "strategy-workshop", "--title", "Workshop",
        "--start", "2026-04-15 10:00",
    )  # fmt: skip
    return session


@pytest.mark.parametrize(
    "args",
    [
        ["schedule", "--from", "2027-01-01", "--to", "2026-01-01"],
        ["report", "compliance", "--from", "2027-01-01", "--to", "2026-01-01"],
        ["report", "compliance", "--format", "html", "--from", "2026-07-02", "--to", "2026-07-01"],
    ],
)
def test_an_inverted_range_is_invalid_input_naming_the_option(
    cli: Session, args: list[str]
) -> None:
    cli.rejected(2, "Invalid value for '--to': 2026-", *args)


def test_a_range_of_one_day_is_fine(cli: Session) -> None:
    assert cli.ok("schedule", "--from", "2026-04-15", "--to", "2026-04-15", "--format", "csv")
    assert cli.ok("report", "compliance", "--from", "2026-04-15", "--to", "2026-04-15")


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("track: no track 'no-such'", ["report", "compliance", "--track", "no-such"]),
        ("area: no area 'nowhere'", ["report", "compliance", "--area", "nowhere"]),
        ("track: no track 'strategy-workshp'; did you mean 'strategy-workshop'?",
         ["report", "compliance", "--track", "strategy-workshp"]),
        ("track: no track 'joint-reviw'; did you mean 'joint-review'?",
         ["schedule", "--track", "joint-reviw"]),
        ("area: no area 'energi'; did you mean 'energy'?", ["schedule", "--area", "energi"]),
        ("party: no party 'TM-MF'; did you mean 'TM-MFA'?", ["schedule", "--party", "TM-MF"]),
        ("area: no area 'energi'; did you mean 'energy'?", ["track", "list", "--area", "energi"]),
        ("scope: no party 'AZ-MF'; did you mean 'AZ-MFA'?",
         ["feed", "export", "--scope", "party:AZ-MF", "-o", "feed.ics"]),
        ("scope: no track 'strategy-workshp'; did you mean 'strategy-workshop'? "
         "If not, register it with `track add`",
         ["feed", "create", "--scope", "track:strategy-workshp"]),
        ("track: no track 'strategy-workshp'; did you mean 'strategy-workshop'?",
         ["track", "show", "strategy-workshp"]),
        ("meeting: no meeting 'strategy-workshop-2026-04-1'; "
         "did you mean 'strategy-workshop-2026-04-15'?",
         ["meeting", "show", "strategy-workshop-2026-04-1"]),
        ("id: no meeting 'strategy-workshop-2026-04-16'; "
         "did you mean 'strategy-workshop-2026-04-15'?",
         ["meeting", "cancel", "strategy-workshop-2026-04-16", "--reason", "r"]),
        ("track: no track 'strategy-workshp'; did you mean 'strategy-workshop'?",
         ["meeting", "plan", "--track", "strategy-workshp", "--title", "T",
          "--start", "2026-05-10 10:00"]),
        ("host: no party 'TM-MF'; did you mean 'TM-MFA'? If not, register it with `party add`",
         ["meeting", "plan", "--track", "strategy-workshop", "--title", "T",
          "--start", "2026-05-10 10:00", "--host", "TM-MF"]),
        ("host: no party 'UN'; register it with `party add`",
         ["meeting", "plan", "--track", "strategy-workshop", "--title", "T",
          "--start", "2026-05-10 10:00", "--host", "UN"]),
    ],
)  # fmt: skip
def test_an_unknown_id_is_not_found_with_the_closest_existing_one(
    cli: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    cli.rejected(4, f"error: {message}\n", *args)
    assert not (tmp_path / "feed.ics").exists()


def test_known_ids_in_filters_still_answer(cli: Session) -> None:
    rows = cli.ok(
        "schedule", "--all", "--track", "strategy-workshop", "--party", "TM-MFA", "--format", "csv"
    )
    assert rows.splitlines()[1].startswith("strategy-workshop-2026-04-15,")
    assert cli.ok("report", "compliance", "--track", "joint-review", "--area", "energy") != ""


NEVER = "it will never count for compliance"


def test_planning_a_meeting_that_never_counts_warns_and_plans_it(cli: Session) -> None:
    before = cli.events()

    result = cli(
        "meeting", "plan", "--track", "strategy-workshop", "--title", "Early",
        "--start", "2025-12-20 10:00",
    )  # fmt: skip

    assert (result.code, result.out) == (0, "strategy-workshop-2025-12-20\n")
    assert result.err == (
        "warning: meeting 'strategy-workshop-2025-12-20' of track 'strategy-workshop': "
        "2025-12-20 is before the track's first window, which starts on 2026-01-01; "
        f"{NEVER}\n"
    )
    assert cli.events() == before + 1


def test_a_meeting_before_the_start_but_in_the_first_window_counts_and_does_not_warn(
    cli: Session,
) -> None:
    cli.ok(
        "meeting", "plan", "--track", "strategy-workshop", "--title", "Kick-off",
        "--start", "2026-02-10 10:00",
    )  # fmt: skip
    result = cli(
        "meeting", "plan", "--track", "joint-review", "--title", "Early", "--start",
        "2026-03-14 10:00",
    )  # fmt: skip
    assert result.code == 0
    assert "before the track's first window, which starts on 2026-03-15" in result.err


def test_rescheduling_past_the_last_window_of_a_retired_track_warns(cli: Session) -> None:
    cli.ok("track", "retire", "strategy-workshop", "--on", "2026-05-01")
    meeting = "strategy-workshop-2026-04-15"

    assert cli.ok("meeting", "reschedule", meeting, "--start", "2026-06-30 10:00")  # same window
    result = cli("meeting", "reschedule", meeting, "--start", "2026-07-01 10:00")

    assert (result.code, result.out) == (0, f"{meeting}: rescheduled\n")
    assert result.err == (
        f"warning: meeting '{meeting}' of track 'strategy-workshop': 2026-07-01 is after the "
        "track's last window, which ends by 2026-06-30 (the track retired on 2026-05-01); "
        f"{NEVER}\n"
    )


def test_importing_a_meeting_that_never_counts_warns_also_in_a_dry_run(
    cli: Session, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[meetings.early-review]\ntrack = "joint-review"\ntitle = "Early review"\n'
        "start = 2026-01-20T10:00:00\n",
        encoding="utf-8",
    )
    warning = (
        "warning: meeting 'early-review' of track 'joint-review': 2026-01-20 is before the "
        f"track's first window, which starts on 2026-03-15; {NEVER}\n"
    )
    before = cli.events()

    dry = cli("plan", "import", str(plan), "--dry-run")
    assert (dry.code, dry.err, cli.events()) == (0, warning, before)
    done = cli("plan", "import", str(plan))
    assert (done.code, done.err, cli.events()) == (0, warning, before + 1)
    again = cli("plan", "import", str(plan))  # nothing decided, nothing to warn about
    assert (again.code, again.err, cli.events()) == (0, "", before + 1)
