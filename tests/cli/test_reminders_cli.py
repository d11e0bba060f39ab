"""`reminders list` and `daemon --once` as a user runs them.

`reminders list` shows the reminders to come before any daemon ran, with their meeting,
title, offset, send time and channels; its CSV `subject` is the subject line. `daemon
--once`, run as a real process (its logging set up as in production), prints each
notification once, says how late a late one is, nudges about a meeting nobody recorded,
and never twice.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from consultations.domain.commands import AddTrack, PlanMeeting, RegisterParty
from tests.cli.runner import Result, run_cli
from tests.daemon.processes import Processes
from tests.projections.support import ANALYST, wire


@pytest.fixture
def planned(migrated_engine: Engine) -> Engine:
    """Two meetings far in the future (one restricted), with reminders a week and a day before."""
    service = wire(migrated_engine)
    service.execute(
        RegisterParty(party_id="AZ-MFA", name="MFA of Azerbaijan", tz="Asia/Baku"), ANALYST
    )
    service.execute(
        AddTrack(track_id="pc", title="Political consultations", kind="consultation",
                 cadence="quarter", start=date(2190, 1, 1), tz="Asia/Baku", parties=("AZ-MFA",),
                 reminders=("P7D", "P1D")),
        ANALYST,
    )  # fmt: skip
    service.execute(
        PlanMeeting(meeting_id="pc-1", title="Consultations", start=datetime(2190, 3, 10, 13),
                    track_id="pc", venue="Baku"),
        ANALYST,
    )  # fmt: skip
    service.execute(
        PlanMeeting(meeting_id="pc-2", title="Quiet talks", start=datetime(2190, 4, 10, 13),
                    track_id="pc", venue="Annex", classification="restricted"),
        ANALYST,
    )  # fmt: skip
    return migrated_engine


def listed(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> Result:
    result = run_cli(capsys, url, "reminders", "list", *args)
    assert (result.code, result.err) == (0, ""), result
    return result


def test_reminders_list_shows_the_reminders_to_come(
    capsys: pytest.CaptureFixture[str], database_url: str, planned: Engine
) -> None:
    rows = json.loads(listed(capsys, database_url, "--format", "json").out)
    assert [
        (r["meeting_id"], r["title"], r["offset"], r["due_at"], r["channel"], r["status"])
        for r in rows
    ] == [
        ("pc-1", "Consultations", "P7D", "2190-03-03T09:00:00+00:00", "console", "upcoming"),
        ("pc-1", "Consultations", "P1D", "2190-03-09T09:00:00+00:00", "console", "upcoming"),
        ("pc-2", "Quiet talks", "P7D", "2190-04-03T09:00:00+00:00", "console", "upcoming"),
        ("pc-2", "Quiet talks", "P1D", "2190-04-09T09:00:00+00:00", "console", "upcoming"),
    ]
    assert {r["delivery_id"] for r in rows} == {None}  # nothing was delivered yet
    # CSV: the subject column is the line the console will print, not the payload's JSON;
    # a restricted meeting's is a busy block, as the console (not cleared) gets it.
    lines = list(csv.DictReader(io.StringIO(listed(capsys, database_url, "--format", "csv").out)))
    assert [line["subject"] for line in lines] == [
        "Reminder: Consultations on 2190-03-10 13:00 (Asia/Baku) at Baku",
        "Reminder: Consultations on 2190-03-10 13:00 (Asia/Baku) at Baku",
        "Reminder: Busy on 2190-04-10 13:00 (Asia/Baku)",
        "Reminder: Busy on 2190-04-10 13:00 (Asia/Baku)",
    ]
    table = listed(capsys, database_url).out
    assert "Reminders to come" in table
    assert all(text in table for text in ("pc-1", "Consultations", "P7D", "upcoming"))
    assert (
        json.loads(listed(capsys, database_url, "--status", "sent", "--format", "json").out) == []
    )
    upcoming = listed(capsys, database_url, "--status", "upcoming", "--format", "json").out
    assert len(json.loads(upcoming)) == 4


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_daemon_once_prints_each_notification_once_and_says_how_late(
    migrated_engine: Engine, database_url: str, processes: Processes
) -> None:
    service = wire(migrated_engine)
    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    service.execute(
        AddTrack(track_id="pc", title="Political consultations", kind="consultation",
                 cadence="quarter", start=now.date() - timedelta(days=30), tz="UTC",
                 reminders=("P3D",)),
        ANALYST,
    )  # fmt: skip
    # Its three-day reminder fell due a day ago: the daemon was not running.
    service.execute(
        PlanMeeting(meeting_id="soon", title="Soon", track_id="pc", start=now + timedelta(days=2)),
        ANALYST,
    )
    # Ended three days ago, recorded neither held nor cancelled: nudged a day after its end.
    service.execute(
        PlanMeeting(meeting_id="past", title="Past", track_id="pc", start=now - timedelta(days=3)),
        ANALYST,
    )
    env = {"CONSULTATIONS_DATABASE_URL": database_url}

    first = processes.run("first", env, "daemon", "--once", timeout=90)
    assert first.returncode == 0, first.describe()
    printed = (first.stdout() + first.stderr()).splitlines()
    assert first.stdout().splitlines()[0] == "daemon: delivering on console; one sweep"
    assert not any("sweeping every" in line for line in printed)
    (reminder,) = [line for line in printed if "[reminder.due]" in line]
    assert reminder.startswith("[reminder.due] Reminder: Soon on ")
    assert reminder.endswith(" late)")
    assert "(sent 1 day" in reminder
    (nudge,) = [line for line in printed if "[meeting.awaiting_record]" in line]
    assert nudge.startswith("[meeting.awaiting_record] Awaiting record: Past on ")

    again = processes.run("again", env, "daemon", "--once", timeout=90)
    assert again.returncode == 0, again.describe()
    assert "] " not in again.stdout() + again.stderr()  # no notification line: never twice
    assert "sweep: nothing due" in again.stdout()
