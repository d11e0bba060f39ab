"""The write commands as a user types them; every rejection is one line and appends nothing."""

from __future__ import annotations

import getpass
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.cli.runner import Result, run_cli


class Session:
    """A CLI session on one database."""

    def __init__(self, capsys: pytest.CaptureFixture[str], url: str, engine: Engine) -> None:
        self.capsys, self.url, self.engine = capsys, url, engine

    def __call__(self, *args: str) -> Result:
        return run_cli(self.capsys, self.url, *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert (result.code, result.err) == (0, ""), result
        return result.out.strip()

    def events(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())

    def rejected(self, code: int, message: str, *args: str) -> None:
        before = self.events()
        result = self(*args)
        assert result.code == code, result
        assert result.out == ""
        assert result.err.count("\n") == 1, result.err
        assert result.err.startswith("error: ")
        assert message in result.err, result.err
        assert "Traceback" not in result.err
        assert self.events() == before, "a rejected command must append nothing"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine) -> Session:
    session = Session(capsys, database_url, migrated_engine)
    session.ok("party", "add", "TM-MFA", "--name", "MFA of Turkmenistan", "--tz", "Asia/Ashgabat")
    session.ok("party", "add", "AZ-MFA", "--name", "MFA of Azerbaijan", "--tz", "Asia/Baku")
    session.ok("area", "add", "energy", "--name", "Energy")
    session.ok(
        "track", "add", "ws", "--title", "Bi-annual strategy workshop", "--kind", "workshop",
        "--cadence", "half-year", "--start", "2025-01-01", "--party", "AZ-MFA", "--party", "TM-MFA",
        "--area", "energy", "--priority", "high", "--duration", "PT6H", "--reminders", "P14D,P1D",
        "--host-rotation", "AZ-MFA,TM-MFA", "--actor", "az-secretariat",
    )  # fmt: skip
    return session


def test_a_meeting_lifecycle_with_host_rotation_and_history(cli: Session) -> None:
    first = cli.ok(
        "meeting",
        "plan",
        "--track",
        "ws",
        "--title",
        "Strategy workshop",
        "--start",
        "2026-04-15 10:00",
    )
    assert first == "ws-2026-04-15"
    second = cli.ok(
        "meeting", "plan", "--track", "ws", "--title", "Strateji seminar", "--start", "2027-10-14 10:00",
        "--venue", "Aşgabat", "--actor", "tm-secretariat",
    )  # fmt: skip
    assert second == "ws-2027-10-14"
    shown = json.loads(cli.ok("meeting", "show", first, "--format", "json"))
    assert shown["meeting"]["host"] == "AZ-MFA"  # first in the rotation
    assert shown["meeting"]["tz"] == "Asia/Baku"  # the track's zone: its first party's
    assert shown["meeting"]["end"] == "2026-04-15T16:00:00"  # the track's default PT6H
    assert (
        json.loads(cli.ok("meeting", "show", second, "--format", "json"))["meeting"]["host"]
        == "TM-MFA"
    )

    cli.ok(
        "meeting",
        "reschedule",
        first,
        "--start",
        "2026-04-16 09:00",
        "--reason",
        "Novruz holidays",
        "--actor",
        "az",
    )
    cli.ok("meeting", "held", first, "--on", "2026-04-16 09:30", "--outcome", "Roadmap agreed",
           "--action", "Draft the energy annex|TM-MFA|2027-06-01")  # fmt: skip
    shown = json.loads(cli.ok("meeting", "show", first, "--format", "json"))
    assert shown["meeting"]["status"] == "held"
    assert [item["text"] for item in shown["meeting"]["action_items"]] == ["Draft the energy annex"]
    history = [(h["event_type"], h["actor"], h["reason"]) for h in shown["history"]]
    assert history == [
        ("MeetingPlanned", getpass.getuser(), None),
        ("MeetingRescheduled", "az", "Novruz holidays"),
        ("MeetingHeld", getpass.getuser(), None),
    ]
    assert shown["history"][1]["changes"]["start"] == "2026-04-16T09:00:00"

    cli.ok("meeting", "cancel", second, "--reason", "Replaced by a ministerial visit")
    cli.rejected(3, "cancelled", "meeting", "reschedule", second, "--start", "2027-10-20 10:00")
    cli.rejected(3, "", "meeting", "held", first)


def test_idempotency_key_repeats_return_the_first_result(cli: Session) -> None:
    args = (
        "meeting",
        "plan",
        "--track",
        "ws",
        "--title",
        "W",
        "--start",
        "2027-04-15 10:00",
        "--idempotency-key",
        "req-1",
    )
    assert cli.ok(*args) == "ws-2027-04-15"
    before = cli.events()
    assert cli.ok(*args) == "ws-2027-04-15"
    assert cli.events() == before


def test_an_idempotency_key_reused_for_a_different_command_is_refused(cli: Session) -> None:
    plan = ("meeting", "plan", "--track", "ws", "--title", "W", "--start", "2027-04-15 10:00")
    assert cli.ok(*plan, "--idempotency-key", "k1") == "ws-2027-04-15"

    refused = "idempotency key 'k1' was used for a different command"
    cli.rejected(3, refused, "meeting", "plan", "--track", "ws", "--title", "Other",
                 "--start", "2027-10-14 10:00", "--idempotency-key", "k1")  # fmt: skip
    cli.rejected(3, refused, "area", "add", "trade", "--name", "Trade", "--idempotency-key", "k1")
    # The same command again, even said by someone else, still gives the first result.
    assert cli.ok(*plan, "--idempotency-key", "k1", "--actor", "az") == "ws-2027-04-15"
    planned = json.loads(cli.ok("schedule", "--format", "json"))
    assert [row["meeting_id"] for row in planned] == ["ws-2027-04-15"]


def test_a_repeated_feed_create_prints_no_url_that_would_not_work(cli: Session) -> None:
    create = ("feed", "create", "--scope", "all", "--idempotency-key", "f1")
    first = cli.ok(*create).splitlines()
    assert "/feeds/" in first[1]
    again = cli.ok(*create).splitlines()
    assert again[0] == first[0]  # the same feed
    assert "/feeds/" not in "\n".join(again)  # this run's token was never stored
    assert "already created with this idempotency key" in again[1]


@pytest.mark.parametrize(
    ("code", "message", "args"),
    [
        (2, "tz: unknown time zone 'Asia/Atlantis'", ["party", "add", "XX", "--name", "X", "--tz", "Asia/Atlantis"]),
        (3, "id: party 'TM-MFA' already exists", ["party", "add", "TM-MFA", "--name", "again"]),
        (2, "email: 'secretariat' is not an e-mail address", ["party", "add", "XX", "--name", "X", "--email", "secretariat"]),
        (2, "email: must not be empty", ["party", "add", "XX", "--name", "X", "--email", " "]),
        (2, "title: must not be empty", ["meeting", "plan", "--track", "ws", "--title", "  ", "--start", "2027-01-10 10:00"]),
        (2, "end", ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2027-01-10 10:00", "--end", "2027-01-10 09:00"]),
        (2, "14 days", ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2027-01-10 10:00", "--duration", "P15D"]),
        (2, "outside 1900-01-01..2200-12-31", ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "1850-01-10 10:00"]),
        (2, "Invalid value for '--start'", ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "next tuesday"]),
        (2, "does not exist", ["meeting", "plan", "--title", "T", "--tz", "Europe/Berlin", "--start", "2026-03-29 02:30"]),
        (2, "--fold", ["meeting", "plan", "--title", "T", "--tz", "Europe/Berlin", "--start", "2026-10-25 02:30"]),
        (4, "track: no track 'nope'", ["meeting", "plan", "--track", "nope", "--title", "T", "--start", "2027-01-10 10:00"]),
        (4, "host: no party 'UZ-MFA'", ["meeting", "plan", "--track", "ws", "--title", "T", "--start", "2027-01-10 10:00", "--host", "UZ-MFA"]),
        (4, "meeting", ["meeting", "cancel", "nope", "--reason", "r"]),
        (4, "no meeting 'nope'", ["meeting", "show", "nope"]),
        (4, "areas: no area 'mining'", ["track", "add", "t2", "--title", "T", "--kind", "review", "--cadence", "year", "--start", "2025-01-01", "--area", "mining"]),
        (2, "cadence", ["track", "add", "t2", "--title", "T", "--kind", "review", "--cadence", "fortnightly", "--start", "2025-01-01"]),
        (2, "Invalid value for '--kind'", ["track", "add", "t2", "--title", "T", "--kind", "party", "--cadence", "year", "--start", "2025-01-01"]),
        (2, "Invalid value for '--action'", ["meeting", "held", "x", "--action", "no owner"]),
    ],
)  # fmt: skip
def test_rejected_commands(cli: Session, code: int, message: str, args: list[str]) -> None:
    cli.rejected(code, message, *args)


def test_dst_fold_is_accepted_when_the_user_says_which(cli: Session) -> None:
    meeting_id = cli.ok("meeting", "plan", "--title", "Late call", "--tz", "Europe/Berlin",
                        "--start", "2026-10-25 02:30", "--fold", "1", "--duration", "PT20M")  # fmt: skip
    assert meeting_id == "late-call-2026-10-25"
    shown = json.loads(cli.ok("meeting", "show", meeting_id, "--format", "json"))
    assert shown["meeting"]["start_utc"] == "2026-10-25T01:30:00+00:00"  # the second 02:30 (CET)


def test_holding_more_than_a_day_ahead_is_refused(cli: Session) -> None:
    meeting_id = cli.ok(
        "meeting", "plan", "--track", "ws", "--title", "W", "--start", "2099-01-10 10:00"
    )
    cli.rejected(2, "on:", "meeting", "held", meeting_id)


def test_track_amend_retire_and_show(cli: Session) -> None:
    assert (
        cli.ok("track", "amend", "ws", "--priority", "medium", "--reason", "re-prioritised")
        == "ws: amended"
    )
    assert cli.ok("track", "amend", "ws", "--priority", "medium") == "ws: nothing changed"
    assert cli.ok("track", "retire", "ws", "--on", "2027-12-31") == "ws: retired on 2027-12-31"
    cli.rejected(3, "retired", "track", "retire", "ws", "--on", "2028-01-31")
    shown = json.loads(cli.ok("track", "show", "ws", "--format", "json"))
    assert shown["track"]["priority"] == "medium"
    assert shown["track"]["retired_on"] == "2027-12-31"
    assert [h["event_type"] for h in shown["history"]] == [
        "TrackAdded",
        "TrackAmended",
        "TrackRetired",
    ]
    assert shown["history"][0]["actor"] == "az-secretariat"
    assert shown["history"][1]["reason"] == "re-prioritised"


def test_meeting_amend_action_items_and_own_reminders(cli: Session) -> None:
    meeting_id = cli.ok(
        "meeting", "plan", "--track", "ws", "--title", "W", "--start", "2026-04-15 10:00",
        "--reminders", "P2D,PT2H",
    )  # fmt: skip
    shown = json.loads(cli.ok("meeting", "show", meeting_id, "--format", "json"))
    assert shown["meeting"]["reminders"] == ["P2D", "PT2H"]
    assert cli.ok("meeting", "amend", meeting_id, "--venue", "Bakı", "--reminders", "") == (
        f"{meeting_id}: amended"
    )
    assert (
        cli.ok("meeting", "amend", meeting_id, "--venue", "Bakı")
        == f"{meeting_id}: nothing changed"
    )
    cli.rejected(2, "reminders", "meeting", "amend", meeting_id, "--reminders", "soon")
    cli.ok("meeting", "held", meeting_id, "--action", "Send minutes|AZ-MFA|2026-05-01",
           "--action", "Draft annex|TM-MFA|2026-06-01")  # fmt: skip
    assert cli.ok("meeting", "action", f"{meeting_id}/1", "--done", "--note", "sent") == (
        f"{meeting_id}/1: done"
    )
    assert cli.ok("meeting", "action", f"{meeting_id}/2", "--drop") == f"{meeting_id}/2: dropped"
    shown = json.loads(cli.ok("meeting", "show", meeting_id, "--format", "json"))
    assert shown["meeting"]["venue"] == "Bakı"
    assert shown["meeting"]["reminders"] == []
    assert [i["status"] for i in shown["meeting"]["action_items"]] == ["done", "dropped"]
    cli.rejected(3, "", "meeting", "action", f"{meeting_id}/1", "--drop")
    cli.rejected(2, "--done or --drop", "meeting", "action", f"{meeting_id}/1")


def test_reminders_retry_names_unknown_and_undeliverable_ids(cli: Session) -> None:
    cli.rejected(4, "no delivery 'nope'", "reminders", "retry", "nope")
    assert cli.ok("reminders", "list", "--format", "json") == "[\n]"


def test_a_party_with_an_email(cli: Session) -> None:
    assert cli.ok("party", "add", "UZ-MFA", "--name", "MFA of Uzbekistan", "--tz",
                  "Asia/Tashkent", "--email", "protocol@mfa.example") == "UZ-MFA"  # fmt: skip
    listed = {
        row["party_id"]: row for row in json.loads(cli.ok("party", "list", "--format", "json"))
    }
    assert listed["UZ-MFA"]["email"] == "protocol@mfa.example"
    assert listed["TM-MFA"]["email"] is None
