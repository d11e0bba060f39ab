"""Output a person can read: `show` as text, tables that fit the terminal, CSV for spreadsheets.

Every command runs in-process as a user types it, at a terminal of a set width
(``$COLUMNS``). A meeting held in Baku, planned by a plan file and then changed on the
command line, by the daemon and by a peer, is the material.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from consultations.domain.cadence import parse_cadence
from consultations.domain.commands import AmendMeeting, CompleteActionItem
from consultations.domain.durations import parse_duration
from consultations.service_layer.services import Provenance
from consultations.service_layer.wording import (
    describe_cadence,
    describe_duration,
    describe_length,
    describe_offsets,
    describe_sessions,
    describe_source,
)
from tests.cli.runner import Result, run_cli
from tests.projections.support import wire

PLAN = """
[parties.TM-MFA]
name = "Ministry of Foreign Affairs of Turkmenistan"
tz = "Asia/Ashgabat"
departments = ["Department of Relations with CIS Countries", "Information Technology Centre"]

[parties.AZ-MFA]
name = "Ministry of Foreign Affairs of the Republic of Azerbaijan"
tz = "Asia/Baku"

[areas.energy]
name = "Energy"

[tracks.strategy-workshop]
title = "Bi-annual strategy workshop / Strategiki seminar / Strateji seminar"
kind = "workshop"
cadence = "half-year"
start = 2025-01-01
tz = "Asia/Baku"
parties = ["TM-MFA", "AZ-MFA"]
areas = ["energy"]
priority = "high"
duration = "PT6H"
reminders = ["P14D", "P1D"]
host_rotation = ["AZ-MFA", "TM-MFA"]

[meetings.ws-2025-h1-energy-corridors]
track = "strategy-workshop"
title = "Strategy workshop H1 2025: energy corridors and economic partnership"
start = 2025-04-15T10:00:00
end = 2025-04-15T16:00:00
venue = "Baku (Bakı), Ministry of Foreign Affairs"
status = "held"
held_start = 2025-04-15T10:00:00
held_end = 2025-04-15T16:20:00
attendance = ["TM-MFA", "AZ-MFA"]
outcomes = ["Agreed a two-year joint strategy framework", "Confirmed the task force mandate"]
actions = [
  { text = "Circulate the draft strategy framework", owner = "AZ-MFA", due = 2025-05-15 },
  { text = "Nominate Turkmen co-chairs", owner = "TM-MFA", due = 2025-05-31 },
]

[meetings.ws-2027-h1-framework-launch]
track = "strategy-workshop"
title = "Strategy workshop H1 2027: launch of the 2027–2028 framework"
start = 2027-04-13T10:00:00
end = 2027-04-13T16:00:00
venue = "Baku (Bakı), Ministry of Foreign Affairs"
"""
HELD = "ws-2025-h1-energy-corridors"
LATER = "ws-2027-h1-framework-launch"
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


class Session:
    """The CLI on one database, at a terminal ``$COLUMNS`` wide."""

    def __init__(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
    ) -> None:
        self.capsys, self.monkeypatch, self.url = capsys, monkeypatch, url
        self.columns(80)

    def columns(self, width: int) -> None:
        self.monkeypatch.setenv("COLUMNS", str(width))

    def __call__(self, *args: str) -> Result:
        return run_cli(self.capsys, self.url, *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert (result.code, result.err) == (0, ""), result
        return result.out


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    migrated_engine: Engine,
    tmp_path: Path,
) -> Session:
    """The plan imported from a file, then changes from the command line, daemon and peer."""
    session = Session(capsys, monkeypatch, database_url)
    plan = tmp_path / "tm-az.toml"
    plan.write_text(PLAN, encoding="utf-8")
    session.ok("plan", "import", str(plan), "--actor", "secretariat")
    session.ok(
        "meeting", "action", f"{HELD}/1", "--done", "--on", "2025-05-12",
        "--note", "sent by diplomatic note", "--actor", "aliyeva",
    )  # fmt: skip
    session.ok(
        "track", "amend", "strategy-workshop", "--reminders", "P7D,P1D",
        "--actor", "mammadov", "--reason", "two weeks was too early",
    )  # fmt: skip
    service = wire(migrated_engine)
    service.execute(
        AmendMeeting(meeting_id=LATER, venue="Baku, Gulustan Palace"),
        Provenance(actor="az-desk", source="peer:AZ-MFA"),
    )
    service.execute(
        CompleteActionItem(meeting_id=HELD, item_id=f"{HELD}/2", on=date(2025, 6, 2)),
        Provenance(actor="scheduler", source="daemon"),
    )
    return session


def words(text: str) -> str:
    """The text with every run of spaces and line breaks as one space (wrapping aside)."""
    return " ".join(text.split())


# --- point 7: `show` in words ------------------------------------------------------------


def test_meeting_show_is_text_in_words_with_a_history_of_who_did_what_from_where(
    cli: Session,
) -> None:
    out = cli.ok("meeting", "show", HELD)
    lines = out.splitlines()
    assert lines[0] == f"meeting {HELD}: held"
    assert not set("{[]}") & set(out), "no JSON in the text view"
    assert "planned         2025-04-15 10:00–16:00 Asia/Baku (6 h)" in lines
    assert "held            2025-04-15 10:00–16:20 Asia/Baku (6 h 20 min)" in lines
    assert "attendance      TM-MFA, AZ-MFA" in lines
    assert "reminders       7 days and 1 day before (the track's)" in lines
    assert "outcomes        - Agreed a two-year joint strategy framework" in lines
    assert "                - Confirmed the task force mandate" in lines
    text = words(out)
    assert (
        f"action items - {HELD}/1: Circulate the draft strategy framework "
        "(AZ-MFA, due 2025-05-15) — done on 2025-05-12: sent by diplomatic note"
    ) in text
    assert f"- {HELD}/2: Nominate Turkmen co-chairs (TM-MFA, due 2025-05-31) — done" in text
    history = words(out.split("\nhistory\n")[1])
    assert "secretariat planned it for 2025-04-15 10:00–16:00 Asia/Baku (6 h), from plan file tm-az.toml" in history  # fmt: skip
    assert "secretariat recorded it as held with 2 outcomes and 2 action items, from plan file tm-az.toml" in history  # fmt: skip
    assert f"aliyeva marked action item {HELD}/1 done on 2025-05-12, on the command line; note: sent by diplomatic note" in history  # fmt: skip
    assert f"scheduler marked action item {HELD}/2 done on 2025-06-02, by the daemon" in history
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC  secretariat planned", out.split("\nhistory\n")[1]
    )


def test_a_change_in_the_history_says_what_it_changed_from_and_to(cli: Session) -> None:
    cli.ok(
        "meeting", "reschedule", LATER, "--start", "2027-04-20 10:00", "--actor", "aliyeva",
        "--reason", "ministerial calendar",
    )  # fmt: skip
    history = words(cli.ok("meeting", "show", LATER).split("\nhistory\n")[1])
    assert (
        "az-desk changed it, from peer AZ-MFA venue: Baku (Bakı), Ministry of Foreign Affairs "
        "→ Baku, Gulustan Palace"
    ) in history
    assert (
        "aliyeva rescheduled it, on the command line; reason: ministerial calendar "
        "planned: 2027-04-13 10:00–16:00 Asia/Baku (6 h) → 2027-04-20 10:00–16:00 Asia/Baku (6 h)"
    ) in history


def test_track_show_is_text_in_words(cli: Session) -> None:
    out = cli.ok("track", "show", "strategy-workshop")
    lines = out.splitlines()
    assert lines[:2] == [
        "track strategy-workshop",
        "Bi-annual strategy workshop / Strategiki seminar / Strateji seminar",
    ]
    assert not set("{[]}") & set(out), "no JSON in the text view"
    for line in (
        "cadence         half-year, 1 session per half",
        "meeting length  6 h",
        "reminders       7 days and 1 day before",
        "parties         TM-MFA, AZ-MFA",
        "host rotation   AZ-MFA, TM-MFA",
    ):
        assert line in lines
    history = words(out.split("\nhistory\n")[1])
    assert "secretariat added the track, from plan file tm-az.toml" in history
    assert (
        "mammadov changed it, on the command line; reason: two weeks was too early "
        "reminders: 14 days and 1 day before → 7 days and 1 day before"
    ) in history


def test_show_as_json_keeps_its_shape(cli: Session) -> None:
    shown = json.loads(cli.ok("meeting", "show", HELD, "--format", "json"))
    assert set(shown) == {"meeting", "history", "minutes"}
    assert shown["minutes"] == []  # no other party's own minutes of it here
    assert shown["meeting"]["end"] == "2025-04-15T16:00:00"
    assert shown["meeting"]["held"]["end"] == "2025-04-15T16:20:00"
    assert {
        "version", "position", "recorded_at", "occurred_at", "event_type", "actor", "reason",
        "source", "changes",
    } == set(shown["history"][0])  # fmt: skip
    assert [entry["source"] for entry in shown["history"]] == [
        "plan:tm-az.toml", "plan:tm-az.toml", "cli", "daemon",
    ]  # fmt: skip
    track = json.loads(cli.ok("track", "show", "strategy-workshop", "--format", "json"))
    assert track["track"]["cadence"] == {"kind": "half-year", "max_gap": None}


@pytest.mark.parametrize(
    ("value", "words_for_it"),
    [
        (describe_duration(parse_duration("PT6H20M")), "6 h 20 min"),
        (describe_duration(parse_duration("P1DT2H")), "1 day 2 h"),
        (describe_duration(parse_duration("P6M")), "6 months"),
        (describe_length(timedelta(hours=6, minutes=20)), "6 h 20 min"),
        (describe_length(timedelta(days=1, seconds=30)), "1 day 30 s"),
        (describe_offsets([parse_duration("P7D"), parse_duration("P1D")]), "7 days and 1 day before"),
        (describe_offsets([parse_duration(o) for o in ("P14D", "P1D", "PT2H")]), "14 days, 1 day and 2 h before"),
        (describe_offsets([]), "none"),
        (describe_cadence(parse_cadence("half-year"), 1), "half-year, 1 session per half"),
        (describe_cadence(parse_cadence("year"), 2), "year, 2 sessions per year"),
        (describe_cadence(parse_cadence("max-gap:P6M"), 1), "max-gap, at most 6 months between held sessions"),
        (describe_sessions(1, 1), "1 of 1 held"),
        (describe_sessions(0, 2, planned=1, unconfirmed=1), "0 of 2 held, 1 planned, 1 unconfirmed"),
        (describe_source("cli"), "on the command line"),
        (describe_source("plan:tm-az.toml"), "from plan file tm-az.toml"),
        (describe_source("daemon"), "by the daemon"),
        (describe_source("peer:AZ-MFA"), "from peer AZ-MFA"),
        (describe_source("import-script"), "via import-script"),
        (describe_source(None), ""),
    ],
)  # fmt: skip
def test_domain_values_in_words(value: str, words_for_it: str) -> None:
    assert value == words_for_it


# --- point 8: tables that fit the terminal ------------------------------------------------

ITEMS = (f"{HELD}/1", f"{HELD}/2")
# Each read, and the ids it shows.
READS = [
    (("schedule", "--all"), (HELD, LATER, "AZ-MFA")),
    (("track", "list"), ("strategy-workshop",)),
    (("report", "compliance", "--as-of", "2026-12-01"), ("strategy-workshop",)),
    (("report", "actions", "--as-of", "2026-12-01"), (*ITEMS, "AZ-MFA", "TM-MFA")),
    (("party", "list"), ("AZ-MFA", "TM-MFA")),
    (("events", "log"), (f"meeting-{HELD}", f"meeting-{LATER}", "track-strategy-workshop")),
    (("meeting", "show", HELD), (HELD, *ITEMS, "strategy-workshop", "AZ-MFA", "TM-MFA")),
    (("track", "show", "strategy-workshop"), ("strategy-workshop", "AZ-MFA", "TM-MFA")),
]


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize(("args", "ids"), READS, ids=[" ".join(args) for args, _ in READS])
def test_every_read_fits_the_terminal_and_never_breaks_an_id(
    cli: Session, args: tuple[str, ...], ids: tuple[str, ...], width: int
) -> None:
    cli.columns(width)
    out = cli.ok(*args)
    too_wide = [line for line in out.splitlines() if len(line) > width]
    assert too_wide == [], f"{width} columns"
    for shown in ids:
        assert re.search(rf"(?<![\w/-]){re.escape(shown)}(?![\w/-])", out), shown
    if args[:2] != ("events", "log"):  # whose payload column is JSON, as stored
        assert not ISO_TIME.search(out), "times as typed: 2025-04-15 10:00"
        assert '["' not in out, "lists as plain text"


def test_a_wide_terminal_gets_a_table_even_for_a_streamed_read(cli: Session) -> None:
    """`events log` streams its rows; at 200 columns they fit as a table."""
    cli.columns(200)
    out = cli.ok("events", "log")
    assert out.splitlines()[1].startswith("┏"), out[:400]
    assert max(map(len, out.splitlines())) <= 200


def test_the_schedule_table_shows_times_as_typed_and_each_meeting_once(cli: Session) -> None:
    table = cli.ok("schedule", "--all")
    assert table.count("2025-04-15 10:00") == 1
    assert table.count("2027-04-13 10:00") == 1
    assert "Asia/Baku" in table
    assert [line.split("│")[1].strip() for line in table.splitlines() if HELD in line] == [HELD]


def test_party_list_shows_its_lists_as_plain_text(cli: Session) -> None:
    cli.columns(200)
    out = cli.ok("party", "list")
    assert "Department of Relations with CIS Countries, Information Technology Centre" in out


def test_schedule_shows_what_is_coming_from_today_unless_asked_for_more(cli: Session) -> None:
    today = date.today()
    for meeting_id, day in (
        ("past", today - timedelta(days=2)),
        ("soon", today + timedelta(days=2)),
    ):
        cli.ok(
            "meeting", "plan", "--title", f"Call {meeting_id}", "--start", f"{day} 10:00",
            "--tz", "Asia/Baku", "--host", "AZ-MFA", "--id", meeting_id,
        )  # fmt: skip
    cli.ok("meeting", "held", "past")  # unrecorded, it would still show: awaiting record

    def ids(*args: str) -> list[str]:
        return [row["meeting_id"] for row in json.loads(cli.ok("schedule", *args, "--format", "json"))]  # fmt: skip

    coming = ["soon"] + ([LATER] if date(2027, 4, 13) >= today else [])
    assert ids() == coming
    assert ids("--all") == [HELD, "past", "soon", LATER]
    assert ids("--from", "2025-01-01", "--to", "2025-12-31") == [HELD]
    assert ids("--to", str(today)) == [HELD, "past"]  # up to a date: from the first meeting
    assert ids("--from", str(today - timedelta(days=3))) == ["past", "soon", LATER]
    table = cli.ok("schedule")
    assert "soon" in table
    assert "past" not in table


# --- point 8: CSV for spreadsheets ------------------------------------------------------


def test_csv_writes_lists_as_text_and_bom_adds_the_byte_order_mark(
    cli: Session, tmp_path: Path
) -> None:
    plain = cli.ok("party", "list", "--format", "csv")
    rows = {row["party_id"]: row for row in csv.DictReader(io.StringIO(plain))}
    assert rows["TM-MFA"]["departments"] == (
        "Department of Relations with CIS Countries; Information Technology Centre"
    )
    assert not plain.startswith("\ufeff")
    marked = cli.ok("party", "list", "--format", "csv", "--bom")
    assert marked == "\ufeff" + plain
    # A command writing two CSV tables marks the start of the output only.
    shown = cli.ok("meeting", "show", HELD, "--bom", "--format", "csv")
    assert shown.startswith("\ufeff")
    assert shown.count("\ufeff") == 1
    assert "; ".join(("TM-MFA", "AZ-MFA")) in shown
    target = tmp_path / "compliance.csv"
    cli.ok("report", "compliance", "--as-of", "2026-12-01", "--format", "csv", "--bom", "-o", str(target))  # fmt: skip
    assert target.read_bytes().startswith(b"\xef\xbb\xbftrack,title")


@pytest.mark.parametrize(
    "args",
    [
        ("party", "list", "--bom"),
        ("schedule", "--bom", "--format", "json"),
        ("report", "compliance", "--format", "html", "--bom"),
        ("meeting", "show", HELD, "--format", "table", "--bom"),
    ],
)
def test_bom_without_csv_is_refused(cli: Session, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code == 2, result
    assert result.out == ""
    assert result.err == "error: Invalid value for '--bom': only with --format csv\n"
