"""SQL injection through every text field is stored as text; as an id it is refused.

Each payload goes, verbatim, into every free-text field the CLI and `plan import` accept
(names, titles, venue, agenda, outcomes, action text, notes, reasons, feed name, actor) and
is read back unchanged from `meeting show`, `schedule`, `events log`, the list commands,
the read tables and the reporting views; every table and view still exists and `events
verify` passes. As an id it is refused with exit 2, one line naming the field, nothing written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import tomli_w
from sqlalchemy.engine import Engine

from consultations.adapters import orm
from tests.cli.runner import Result, run_cli

PAYLOADS = [
    "'; DROP TABLE events; --",
    '" OR 1=1 --',
    "Robert'); DROP TABLE schedule;--",
    "x' OR '1'='1'; DELETE FROM event_log_head WHERE 'a'='a",
    "\\'; DROP TABLE parties; -- \\\\ \\x00 \\n \\",  # backslashes (literally)
    "100% of _all_ %s %(name)s %% ? :name $1 {0} *",  # LIKE wildcards and paramstyles
    '"}]}, {"x": "y"}] \\u0000 </script><!--',  # JSON- and HTML-breaking
    "1; SELECT pg_sleep(30); --",
    "$$; DROP TABLE tracks; $$ E'\\\\' '' ``",  # PostgreSQL dollar quoting, escape strings
    "' UNION SELECT token_sha256, 1 FROM feeds --",
    "Şəki\u202e\u200b\ufeff\u00adx /* */ #",  # format characters (Cf) are not control characters
]
IDS = [payload.encode("unicode_escape").decode()[:24] for payload in PAYLOADS]
SECOND = "second: "


class Session:
    """The CLI on one database, with the checks every command shares."""

    def __init__(self, capsys: pytest.CaptureFixture[str], url: str, engine: Engine) -> None:
        self.capsys, self.url, self.engine = capsys, url, engine

    def __call__(self, *args: str) -> Result:
        return run_cli(self.capsys, self.url, *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert (result.code, result.err) == (0, ""), (args, result)
        return result.out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json"))

    def events(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())

    def rejected(self, *args: str) -> Result:
        before = self.events()
        result = self(*args)
        assert result.code == 2, (args, result)
        assert result.out == ""
        assert result.err.startswith("error: "), result.err
        assert "Traceback" not in result.err
        assert self.events() == before, "a rejected command must append nothing"
        return result


def catalogue(engine: Engine) -> tuple[set[str], set[str]]:
    inspector = sa.inspect(engine)
    return set(inspector.get_table_names()), set(inspector.get_view_names())


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine
) -> Iterator[Session]:
    tables, views = catalogue(migrated_engine)
    assert {"events", "event_log_head", "schedule", "parties", "feeds"} <= tables
    assert len(views) == 4
    session = Session(capsys, database_url, migrated_engine)
    yield session
    assert catalogue(migrated_engine) == (tables, views), "a table or view disappeared"
    verify = session("events", "verify")
    assert (verify.code, verify.err) == (0, ""), verify
    with migrated_engine.connect() as connection:
        head = connection.execute(sa.text("SELECT position FROM event_log_head")).scalar_one()
    assert head == session.events()


def rows(engine: Engine, table: sa.Table, *columns: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        query = sa.select(*(table.c[name] for name in columns)).order_by(*table.primary_key)
        return [tuple(row) for row in connection.execute(query)]


def view(engine: Engine, name: str, *columns: str) -> set[tuple[Any, ...]]:
    quoted = ", ".join(f'"{column}"' for column in columns)
    with engine.connect() as connection:
        return {tuple(row) for row in connection.execute(sa.text(f"SELECT {quoted} FROM {name}"))}


# --- through the CLI -------------------------------------------------------------------------


def write_everything(cli: Session, p: str) -> str:
    """Put ``p`` in every free-text field the write commands take; the revoked feed's id."""
    who = ("--actor", p)
    cli.ok("party", "add", "P1", "--name", p, "--department", p, "--tz", "Asia/Baku",
           "--reason", p, *who)  # fmt: skip
    cli.ok("party", "add", "P2", "--name", SECOND + p, "--tz", "Asia/Ashgabat", *who)
    cli.ok("area", "add", "a1", "--name", p, "--reason", p, *who)
    cli.ok("track", "add", "t1", "--title", p, "--kind", "review", "--cadence", "half-year",
           "--start", "2025-01-01", "--party", "P1", "--party", "P2", "--area", "a1",
           "--reason", p, *who)  # fmt: skip
    cli.ok("track", "amend", "t1", "--priority", "high", "--reason", p, *who)
    cli.ok("meeting", "plan", "--track", "t1", "--title", p, "--start", "2025-03-10 10:00",
           "--venue", p, "--agenda", p, "--agenda", SECOND + p, "--id", "m1", "--reason", p,
           *who)  # fmt: skip
    cli.ok("meeting", "reschedule", "m1", "--start", "2025-03-11 10:00", "--reason", p, *who)
    cli.ok("meeting", "held", "m1", "--outcome", p, "--outcome", SECOND + p,
           "--action", f"{p}|P1|2025-04-01", "--action", f"{SECOND}{p}|P2|2025-05-01",
           *who)  # fmt: skip
    cli.ok("meeting", "action", "m1/1", "--done", "--on", "2025-03-20", "--note", p, *who)
    cli.ok("meeting", "action", "m1/2", "--drop", "--on", "2025-03-21", "--note", p, *who)
    cli.ok("meeting", "plan", "--track", "t1", "--title", SECOND + p, "--start",
           "2025-09-10 10:00", "--venue", SECOND + p, "--id", "m2", *who)  # fmt: skip
    cli.ok("meeting", "cancel", "m2", "--reason", p, *who)
    cli.ok("meeting", "plan", "--title", "ad hoc", "--start", "2027-01-10 10:00", "--tz", "UTC",
           "--id", "m3", *who)  # fmt: skip
    cli.ok("meeting", "amend", "m3", "--title", p, "--venue", p, "--agenda", p, "--reason", p, *who)
    cli.ok("feed", "create", "--scope", "all", "--name", p, "--reason", p, *who)
    created = cli.ok("feed", "create", "--scope", "track:t1", "--name", SECOND + p, *who)
    feed_id = created.split()[1]
    cli.ok("feed", "revoke", feed_id, "--reason", p, *who)
    return feed_id


def check_shown(cli: Session, p: str) -> None:
    """`meeting show` and `track show`: state and history."""
    m1 = cli.json("meeting", "show", "m1")
    meeting = m1["meeting"]
    assert (meeting["title"], meeting["venue"]) == (p, p)
    assert meeting["agenda"] == [p, SECOND + p]
    assert meeting["held"]["outcomes"] == [p, SECOND + p]
    items = [(i["text"], i["status"], i["note"]) for i in meeting["action_items"]]
    assert items == [(p, "done", p), (SECOND + p, "dropped", p)]
    assert {h["actor"] for h in m1["history"]} == {p}
    assert [h["reason"] for h in m1["history"]][:2] == [p, p]  # planned, rescheduled
    assert m1["history"][1]["changes"]["reason"] == p
    m2 = cli.json("meeting", "show", "m2")
    assert m2["meeting"]["cancel_reason"] == p
    assert m2["history"][-1]["changes"]["reason"] == p
    m3 = cli.json("meeting", "show", "m3")["meeting"]
    assert (m3["title"], m3["venue"], m3["agenda"]) == (p, p, [p])
    track = cli.json("track", "show", "t1")
    assert track["track"]["title"] == p
    assert [h["reason"] for h in track["history"]] == [p, p]


def check_listed(cli: Session, p: str) -> None:
    """The schedule (now and as known at a moment) and the lists."""
    schedule = {row["meeting_id"]: row for row in cli.json("schedule", "--all")}
    assert [(schedule[m]["title"], schedule[m]["venue"]) for m in ("m1", "m2", "m3")] == [
        (p, p), (SECOND + p, SECOND + p), (p, p)
    ]  # fmt: skip
    assert cli.json("schedule", "--all", "--known-at", "2099-01-01") == list(schedule.values())
    parties = [(r["party_id"], r["name"], r["departments"]) for r in cli.json("party", "list")]
    assert parties == [("P1", p, [p]), ("P2", SECOND + p, [])]
    assert [(r["area_id"], r["name"]) for r in cli.json("area", "list")] == [("a1", p)]
    assert [r["title"] for r in cli.json("track", "list")] == [p]
    assert sorted(r["name"] for r in cli.json("feed", "list")) == sorted([p, SECOND + p])
    actions = cli.json("report", "actions", "--as-of", "2026-01-01")
    assert sorted(r["text"] for r in actions) == sorted([p, SECOND + p])


def check_logged(cli: Session, p: str, revoked: str) -> None:
    """`events log`: every payload and the metadata."""
    log = cli.json("events", "log")
    assert {event["actor"] for event in log} == {p}
    assert {event["metadata"]["actor"] for event in log} == {p}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in log:
        by_type.setdefault(event["event_type"], []).append(event["payload"])
    assert [e["name"] for e in by_type["PartyRegistered"]] == [p, SECOND + p]
    assert by_type["PartyRegistered"][0]["departments"] == [p]
    assert [e["name"] for e in by_type["AreaRegistered"]] == [p]
    assert [e["title"] for e in by_type["TrackAdded"]] == [p]
    assert [e["title"] for e in by_type["MeetingPlanned"]] == [p, SECOND + p, "ad hoc"]
    assert by_type["MeetingPlanned"][0]["agenda"] == [p, SECOND + p]
    assert [e["reason"] for e in by_type["MeetingRescheduled"]] == [p]
    assert [e["reason"] for e in by_type["MeetingCancelled"]] == [p]
    assert by_type["MeetingHeld"][0]["outcomes"] == [p, SECOND + p]
    assert [i["text"] for i in by_type["MeetingHeld"][0]["action_items"]] == [p, SECOND + p]
    assert [e["note"] for e in by_type["ActionItemCompleted"]] == [p]
    assert [e["reason"] for e in by_type["ActionItemDropped"]] == [p]
    assert [(e["title"], e["venue"]) for e in by_type["MeetingAmended"]] == [(p, p)]
    assert [e["name"] for e in by_type["FeedCreated"]] == [p, SECOND + p]
    assert [(e["feed_id"], e["reason"]) for e in by_type["FeedRevoked"]] == [(revoked, p)]
    reasons = [e["metadata"].get("reason") for e in log if e["metadata"].get("reason")]
    assert set(reasons) == {p}
    assert len(reasons) >= 10
    assert cli.json("events", "log", "--stream", "meeting-m1")[0]["payload"]["title"] == p


def check_tables(engine: Engine, p: str) -> None:
    """The read tables and the reporting views, queried directly."""
    assert rows(engine, orm.parties, "name", "departments") == [(p, [p]), (SECOND + p, [])]
    assert rows(engine, orm.areas, "name") == [(p,)]
    assert rows(engine, orm.tracks, "title") == [(p,)]
    assert rows(engine, orm.schedule, "meeting_id", "title", "venue", "agenda", "outcomes",
                "cancel_reason") == [
        ("m1", p, p, [p, SECOND + p], [p, SECOND + p], None),
        ("m2", SECOND + p, SECOND + p, [], [], p),
        ("m3", p, p, [p], [], None),
    ]  # fmt: skip
    assert rows(engine, orm.action_items, "item_id", "text", "note") == [
        ("m1/1", p, p), ("m1/2", SECOND + p, p)
    ]  # fmt: skip
    feeds = rows(engine, orm.feeds, "feed_id", "name")
    assert sorted(name for _, name in feeds) == sorted([p, SECOND + p])
    assert view(engine, "v_schedule", "meeting_id", "title", "venue", "track_title",
                "cancel_reason") == {
        ("m1", p, p, p, None), ("m2", SECOND + p, SECOND + p, p, p), ("m3", p, p, None, None)
    }  # fmt: skip
    assert view(engine, "v_action_items", "text", "note", "meeting_title") == {
        (p, p, p), (SECOND + p, p, p)
    }  # fmt: skip
    assert {title for (title,) in view(engine, "v_compliance_windows", "title")} == {p}
    assert {area for (area,) in view(engine, "v_compliance_by_area", "area")} == {p}


@pytest.mark.parametrize("p", PAYLOADS, ids=IDS)
def test_injection_strings_in_every_cli_text_field_are_stored_verbatim(
    cli: Session, p: str
) -> None:
    revoked = write_everything(cli, p)
    check_shown(cli, p)
    check_listed(cli, p)
    check_logged(cli, p, revoked)
    check_tables(cli.engine, p)
    # rebuilt from the log, the read tables say the same
    engine = cli.engine
    before = rows(engine, orm.schedule, "meeting_id", "title", "venue", "agenda", "cancel_reason")
    assert cli("projections", "rebuild").code == 0  # (a progress bar on stderr)
    after = rows(engine, orm.schedule, "meeting_id", "title", "venue", "agenda", "cancel_reason")
    assert after == before


@pytest.mark.parametrize("p", PAYLOADS[:4], ids=IDS[:4])
def test_injection_strings_as_read_filters_are_refused_as_ids(cli: Session, p: str) -> None:
    write_everything(cli, "plain")
    assert cli.json("events", "log", "--stream", p) == []
    for args in (
        ("schedule", "--party", p),
        ("schedule", "--area", p),
        ("schedule", "--track", p),
        ("track", "list", "--area", p),
        ("report", "compliance", "--track", p),
    ):
        result = cli.rejected(*args, "--format", "json")
        assert "invalid id" in result.err, result.err
        assert result.err.count("\n") == 1, result.err


# --- control characters ----------------------------------------------------------------------

CONTROL = ["\t", "\x1b[31m", "\x07", "\x7f", "\x85", "\x08", "\r", "\n", "\x0b", "\x0c"]


@pytest.mark.parametrize("char", CONTROL, ids=[repr(c) for c in CONTROL])
def test_control_characters_in_text_are_refused_naming_the_field(cli: Session, char: str) -> None:
    cli.ok("party", "add", "P1", "--name", "Party")
    cli.ok("meeting", "plan", "--title", "T", "--start", "2025-01-10 10:00", "--tz", "UTC",
           "--id", "m1")  # fmt: skip
    text = f"a{char}'; DROP TABLE events; --"
    for field, args in (
        ("name", ("party", "add", "P2", "--name", text)),
        ("name", ("area", "add", "a1", "--name", text)),
        ("title", ("meeting", "plan", "--title", text, "--start", "2027-01-10 10:00",
                   "--tz", "UTC")),
        ("venue", ("meeting", "plan", "--title", "T", "--start", "2027-01-10 10:00",
                   "--tz", "UTC", "--venue", text)),
        ("agenda", ("meeting", "amend", "m1", "--agenda", text)),
        ("outcome", ("meeting", "held", "m1", "--outcome", text)),
        ("reason", ("meeting", "cancel", "m1", "--reason", text)),
        ("name", ("feed", "create", "--scope", "all", "--name", text)),
    ):  # fmt: skip
        result = cli.rejected(*args)
        assert field in result.err.split(":")[1], (field, result.err)
        assert result.err.count("\n") == 1, result.err


# --- ids ---------------------------------------------------------------------------------------

ID_PAYLOADS = [*PAYLOADS[:4], "../../etc/passwd", "a b", "a%_b", ".hidden", "x" * 65]
ID_CASES: dict[str, tuple[str, ...]] = {
    "party": ("party", "add", "{}", "--name", "N"),
    "area": ("area", "add", "{}", "--name", "N"),
    "track": ("track", "add", "{}", "--title", "T", "--kind", "review", "--cadence", "year",
              "--start", "2025-01-01"),
    "track-area": ("track", "add", "t2", "--title", "T", "--kind", "review", "--cadence", "year",
                   "--start", "2025-01-01", "--area", "{}"),
    "track-party": ("track", "add", "t2", "--title", "T", "--kind", "review", "--cadence",
                    "year", "--start", "2025-01-01", "--party", "{}"),
    "track-rotation": ("track", "amend", "t1", "--host-rotation", "{}"),
    "track-amend": ("track", "amend", "{}", "--priority", "low"),
    "track-retire": ("track", "retire", "{}", "--on", "2027-01-01"),
    "meeting-id": ("meeting", "plan", "--track", "t1", "--title", "T", "--start",
                   "2027-01-10 10:00", "--id", "{}"),
    "meeting-track": ("meeting", "plan", "--track", "{}", "--title", "T", "--start",
                      "2027-01-10 10:00"),
    "meeting-host": ("meeting", "plan", "--track", "t1", "--title", "T", "--start",
                     "2027-01-10 10:00", "--host", "{}"),
    "meeting-participants": ("meeting", "plan", "--track", "t1", "--title", "T", "--start",
                             "2027-01-10 10:00", "--participants", "{}"),
    "reschedule": ("meeting", "reschedule", "{}", "--start", "2027-01-10 10:00"),
    "amend": ("meeting", "amend", "{}", "--title", "T"),
    "cancel": ("meeting", "cancel", "{}", "--reason", "r"),
    "held": ("meeting", "held", "{}"),
    "held-owner": ("meeting", "held", "m2", "--action", "Do it|{}|2025-04-01"),
    "action-meeting": ("meeting", "action", "{}/1", "--done"),
    "feed-scope": ("feed", "create", "--scope", "track:{}"),
    "feed-revoke": ("feed", "revoke", "{}"),
}  # fmt: skip


@pytest.fixture
def small(cli: Session) -> Session:
    cli.ok("party", "add", "P1", "--name", "Party")
    cli.ok("area", "add", "a1", "--name", "Area")
    cli.ok("track", "add", "t1", "--title", "T", "--kind", "review", "--cadence", "year",
           "--start", "2025-01-01", "--party", "P1", "--area", "a1")  # fmt: skip
    cli.ok("meeting", "plan", "--track", "t1", "--title", "M", "--start", "2025-03-10 10:00",
           "--id", "m1")  # fmt: skip
    cli.ok("meeting", "held", "m1", "--action", "Do it|P1|2025-04-01")
    cli.ok("meeting", "plan", "--track", "t1", "--title", "M", "--start", "2025-06-10 10:00",
           "--id", "m2")  # fmt: skip
    return cli


@pytest.mark.parametrize("case", ID_CASES)
def test_injection_strings_as_ids_are_refused_with_exit_2(small: Session, case: str) -> None:
    for payload in ID_PAYLOADS:
        if case == "held-owner" and "|" in payload:
            continue
        args = tuple(arg.replace("{}", payload) for arg in ID_CASES[case])
        result = small.rejected(*args)
        assert result.err.count("\n") == 1, result.err
        assert "id" in result.err or "scope" in result.err, result.err


def test_an_injection_string_as_an_action_item_number_is_invalid_input(small: Session) -> None:
    for payload in ID_PAYLOADS[:4]:
        small.rejected("meeting", "action", f"m1/{payload}", "--done")


def test_an_injection_string_as_an_attendee_is_refused(small: Session) -> None:
    small.rejected("meeting", "held", "m2", "--attendance", "P1,'; DROP TABLE events; --")


def test_a_malformed_action_item_id_writes_nothing(small: Session) -> None:
    before = small.events()
    for payload in ID_PAYLOADS:
        result = small("meeting", "action", f"m1/{payload}", "--done")
        assert result.code in (2, 4), result
        assert result.err.startswith(("error: action: ", "error: meeting: ")), result.err
        assert result.err.count("\n") == 1
    assert small.events() == before


@pytest.mark.parametrize("payload", ID_PAYLOADS[:4], ids=IDS[:4])
def test_injection_strings_as_ids_in_reads_are_refused(small: Session, payload: str) -> None:
    for args in (("meeting", "show", payload), ("track", "show", payload)):
        result = small(*args, "--format", "json")
        assert result.code == 2, result
        assert result.out == ""
        assert result.err.count("\n") == 1
        assert "Traceback" not in result.err


# --- through plan import -----------------------------------------------------------------------


def plan_document(p: str) -> dict[str, Any]:
    return {
        "parties": {
            "P1": {"name": p, "tz": "Asia/Baku", "departments": [p, SECOND + p]},
            "P2": {"name": SECOND + p, "tz": "Asia/Ashgabat"},
        },
        "areas": {"a1": {"name": p}},
        "tracks": {
            "t1": {
                "title": p,
                "kind": "review",
                "cadence": "half-year",
                "start": date(2025, 1, 1),
                "tz": "Asia/Baku",
                "parties": ["P1", "P2"],
                "areas": ["a1"],
                "host_rotation": ["P1", "P2"],
            },
        },
        "meetings": {
            "m1": {
                "track": "t1",
                "title": p,
                "start": datetime(2025, 3, 10, 10),
                "venue": p,
                "agenda": [p, SECOND + p],
                "status": "held",
                "outcomes": [p, SECOND + p],
                "actions": [
                    {"text": p, "owner": "P1", "due": date(2025, 4, 1)},
                    {"text": SECOND + p, "owner": "P2", "due": date(2025, 5, 1)},
                ],
            },
            "m2": {
                "track": "t1",
                "title": SECOND + p,
                "start": datetime(2025, 9, 10, 10),
                "venue": SECOND + p,
                "status": "cancelled",
                "reason": p,
            },
            "m3": {
                "track": "t1",
                "title": p,
                "start": datetime(2027, 3, 10, 10),
                "venue": p,
                "agenda": [p],
            },
        },
    }


def toml_bytes(document: dict[str, Any]) -> bytes:
    return tomli_w.dumps(document).encode()


@pytest.mark.parametrize("p", PAYLOADS, ids=IDS)
def test_injection_strings_through_plan_import_are_stored_verbatim(
    cli: Session, tmp_path: Path, p: str
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_bytes(toml_bytes(plan_document(p)))
    imported = cli.json("plan", "import", str(plan), "--actor", p, "--reason", p)
    assert sum(row["count"] for row in imported) == cli.events()
    again = cli.ok("plan", "import", str(plan), "--actor", p)
    assert again.strip() == "nothing to import: the log already matches the plan"

    m1 = cli.json("meeting", "show", "m1")
    meeting = m1["meeting"]
    assert (meeting["title"], meeting["venue"], meeting["agenda"]) == (p, p, [p, SECOND + p])
    assert meeting["held"]["outcomes"] == [p, SECOND + p]
    assert [i["text"] for i in meeting["action_items"]] == [p, SECOND + p]
    assert {(h["actor"], h["reason"]) for h in m1["history"]} == {(p, p)}
    assert cli.json("meeting", "show", "m2")["meeting"]["cancel_reason"] == p
    schedule = [(r["meeting_id"], r["title"], r["venue"]) for r in cli.json("schedule", "--all")]
    assert schedule == [("m1", p, p), ("m2", SECOND + p, SECOND + p), ("m3", p, p)]
    log = cli.json("events", "log")
    assert {(e["actor"], e["metadata"]["reason"]) for e in log} == {(p, p)}
    assert rows(cli.engine, orm.parties, "name", "departments") == [
        (p, [p, SECOND + p]), (SECOND + p, [])
    ]  # fmt: skip
    assert rows(cli.engine, orm.areas, "name") == [(p,)]
    assert rows(cli.engine, orm.tracks, "title") == [(p,)]
    assert rows(cli.engine, orm.action_items, "text") == [(p,), (SECOND + p,)]
    assert view(cli.engine, "v_schedule", "meeting_id", "title", "cancel_reason") == {
        ("m1", p, None), ("m2", SECOND + p, p), ("m3", p, None)
    }  # fmt: skip
    assert view(cli.engine, "v_action_items", "text", "meeting_title") == {
        (p, p), (SECOND + p, p)
    }  # fmt: skip


@pytest.mark.parametrize("p", ID_PAYLOADS[:4], ids=IDS[:4])
def test_injection_strings_as_ids_in_a_plan_are_refused(
    cli: Session, tmp_path: Path, p: str
) -> None:
    plan = tmp_path / "plan.toml"
    cases = []
    for section, key in (("parties", "P1"), ("areas", "a1"), ("tracks", "t1"), ("meetings", "m1")):
        document = plan_document("plain")
        document[section][p] = document[section].pop(key)
        cases.append((document, section))
    for reference in ("track", "host"):
        document = plan_document("plain")
        document["meetings"]["m3"][reference] = p
        cases.append((document, f"meetings.m3.{reference}"))
    document = plan_document("plain")
    document["meetings"]["m1"]["actions"][0]["owner"] = p
    cases.append((document, "meetings.m1.actions"))
    document = plan_document("plain")
    document["tracks"]["t1"]["areas"] = ["a1", p]
    cases.append((document, "tracks.t1.areas"))
    for document, where in cases:
        plan.write_bytes(toml_bytes(document))
        result = cli.rejected("plan", "import", str(plan))
        *problems, summary = result.err.splitlines()
        assert re.fullmatch(r"error: plan: \d+ problem\(s\); nothing was imported", summary)
        named = [line for line in problems if line.startswith(f"error: {where}")]
        assert named, (where, result.err)
        assert "invalid id" in named[0], result.err


def _set(path: str, value: Any) -> Any:
    def mutate(document: dict[str, Any]) -> None:
        *keys, last = path.split(".")
        node = document
        for key in keys:
            node = node[key]
        node[last] = value

    return mutate


HOSTILE_PLANS = {
    "nul": ("tracks.t1.title", _set("tracks.t1.title", "a\x00'; DROP TABLE events; --")),
    "escape": ("meetings.m1.venue", _set("meetings.m1.venue", "x\x1b[2J'; --")),
    "newline": ("areas.a1.name", _set("areas.a1.name", "a\n' OR 1=1 --")),
    "huge": ("meetings.m3.agenda", _set("meetings.m3.agenda", ["ok", "ş" * 300_000])),
    "type": ("parties.P1.name", _set("parties.P1.name", 12)),
    "type-list": ("meetings.m1.outcomes", _set("meetings.m1.outcomes", "'; DROP TABLE x; --")),
    "empty-reason": ("meetings.m2.reason", _set("meetings.m2.reason", "   ")),
}


@pytest.mark.parametrize("case", HOSTILE_PLANS)
def test_hostile_plan_fields_are_refused_naming_the_field(
    cli: Session, tmp_path: Path, case: str
) -> None:
    where, mutate = HOSTILE_PLANS[case]
    document = plan_document("'; DROP TABLE events; --")
    mutate(document)
    plan = tmp_path / "plan.toml"
    plan.write_bytes(toml_bytes(document))
    result = cli.rejected("plan", "import", str(plan))
    *problems, summary = result.err.splitlines()
    assert summary.endswith("problem(s); nothing was imported"), result.err
    assert any(line.startswith(f"error: {where}") for line in problems), (where, result.err)
    assert all(line.startswith("error: ") for line in problems)


def test_a_plan_that_is_not_utf8_is_refused(cli: Session, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    content = toml_bytes(plan_document("'; DROP TABLE events; --"))
    plan.write_bytes(content.replace(b"DROP", b"DR\xffOP", 1))
    result = cli.rejected("plan", "import", str(plan))
    assert "file: not UTF-8 text" in result.err, result.err
