"""`plan import`: the reference plan, re-import, edits, problems and dry runs, on both backends."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import tomli_w
from sqlalchemy.engine import Engine

from consultations.adapters.eventlog import IdempotencyKeyReused
from consultations.adapters.eventlog.mapper import encode
from consultations.bootstrap import bootstrap
from consultations.domain.commands import (
    AmendMeeting,
    AmendTrack,
    CompleteActionItem,
    PlanMeeting,
    RescheduleMeeting,
)
from consultations.entrypoints.demo import ensure_demo
from consultations.service_layer.plan_import import (
    MAX_FILE_BYTES,
    Change,
    ImportReport,
    PlanConflicts,
    PlanProblems,
    import_plan,
)
from consultations.service_layer.services import CommandService, Provenance
from consultations.settings import Settings
from tests.cli.runner import Result, run_cli
from tests.support.reference_session import before_follow_up

EXAMPLE = Path(__file__).parents[2] / "examples" / "tm-az-cooperation.toml"
# The example was written on this day: everything before it happened, everything after is planned.
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PROVENANCE = Provenance(actor="tm-secretariat", source="plan:test")
EXAMPLE_EVENTS = Counter(
    PartyRegistered=2,
    AreaRegistered=6,
    TrackAdded=6,
    MeetingPlanned=39,
    MeetingHeld=30,
    MeetingCancelled=1,
    ActionItemCompleted=16,
    ActionItemDropped=1,
)
EXAMPLE_TOTAL = EXAMPLE_EVENTS.total()  # 101

Plan = dict[str, Any]


def example() -> Plan:
    """The reference plan as a mutable document."""
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def dump(plan: Plan) -> bytes:
    return tomli_w.dumps(plan).encode()


class Log:
    """The import service (with a fixed clock) and the `events` table of one database."""

    def __init__(self, engine: Engine, service: CommandService) -> None:
        self.engine, self.service = engine, service

    def load(
        self, content: bytes | Plan, provenance: Provenance = PROVENANCE, **options: Any
    ) -> ImportReport:
        data = content if isinstance(content, bytes) else dump(content)
        return import_plan(self.service, data, provenance, **options)

    def problems(self, content: bytes | Plan) -> list[str]:
        before = self.count()
        with pytest.raises(PlanProblems) as raised:
            self.load(content)
        assert self.count() == before, "a plan with problems must write nothing"
        return raised.value.problems

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())

    def types(self, after: int = 0) -> Counter[str]:
        query = sa.text("SELECT event_type FROM events WHERE position > :after")
        with self.engine.connect() as connection:
            return Counter(row[0] for row in connection.execute(query, {"after": after}))

    def payloads(self, stream_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [encode(event.event) for event in self.service.store.read_stream(stream_id)]


@pytest.fixture
def log(database_url: str, migrated_engine: Engine) -> Iterator[Log]:
    app = bootstrap(Settings(database_url))
    yield Log(migrated_engine, CommandService(app.store, app.commands.directory, clock=lambda: NOW))
    app.close()


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    migrated_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Result]:
    monkeypatch.setenv("COLUMNS", "80")  # the output is wrapped to the terminal's width

    def run(*args: str) -> Result:
        return run_cli(capsys, database_url, *args)

    return run


def write(tmp_path: Path, content: bytes | Plan, name: str = "plan.toml") -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else dump(content))
    return str(path)


# --- the reference plan --------------------------------------------------------------------


def test_importing_the_example_appends_each_entry_once(
    log: Log, cli: Callable[..., Result]
) -> None:
    report = log.load(EXAMPLE.read_bytes())

    assert report.events == EXAMPLE_EVENTS
    assert report.positions == list(range(1, EXAMPLE_TOTAL + 1))
    assert log.types() == EXAMPLE_EVENTS
    verified = cli("events", "verify")
    assert (verified.code, verified.err) == (0, "")
    assert verified.out.startswith(f"ok: {EXAMPLE_TOTAL} events")


def test_importing_the_example_again_appends_nothing(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())
    before = log.count()

    again = log.load(EXAMPLE.read_bytes())

    assert (again.total, again.positions) == (0, [])
    assert log.count() == before == EXAMPLE_TOTAL


def test_the_example_records_history_as_written(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())

    held = dict(log.payloads("meeting-tf-2025-11"))["MeetingHeld"]
    assert (held["start"], held["end"]) == ("2025-11-19T09:30:00", "2025-11-19T12:45:00")
    assert [item["item_id"] for item in held["action_items"]] == ["tf-2025-11/1"]
    cancelled = log.payloads("meeting-pc-2025-q3")
    assert [event_type for event_type, _ in cancelled] == ["MeetingPlanned", "MeetingCancelled"]
    assert cancelled[1][1]["reason"].startswith("Both delegation heads")
    assert [event_type for event_type, _ in log.payloads("meeting-rv-2026-11")] == [
        "MeetingPlanned"
    ]


def test_a_utf8_byte_order_mark_is_accepted(log: Log) -> None:
    assert log.load(b"\xef\xbb\xbf" + EXAMPLE.read_bytes()).events == EXAMPLE_EVENTS


# --- an edited plan ------------------------------------------------------------------------


def edited() -> Plan:
    """The example after a planning round: one of each kind of change."""
    plan = example()
    moved = plan["meetings"]["ws-2027-h1"]
    moved["start"], moved["end"] = datetime(2027, 4, 20, 10), datetime(2027, 4, 20, 16)
    moved["venue"] = "Ganja (Gəncə)"
    moved["reason"] = "Clash with the Caspian summit"
    plan["meetings"]["rv-2027-05"] |= {"status": "cancelled", "reason": "Merged into ws-2027-h1"}
    plan["meetings"]["pc-2027-q1"] = {
        "track": "political-consultations",
        "title": "Political consultations, Q1 2027",
        "start": datetime(2027, 2, 16, 10),
        "venue": "Baku (Bakı), Ministry of Foreign Affairs",
    }
    plan["tracks"]["cultural-exchange"]["retired"] = date(2027, 12, 31)
    plan["tracks"]["joint-review"]["priority"] = "high"
    return plan


def test_an_edited_plan_appends_only_the_differences(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())

    report = log.load(edited())

    changes = Counter(
        MeetingRescheduled=1,
        MeetingAmended=1,
        MeetingCancelled=1,
        MeetingPlanned=1,
        TrackRetired=1,
        TrackAmended=1,
    )
    assert report.events == changes
    assert log.types(after=EXAMPLE_TOTAL) == changes
    moved = log.payloads("meeting-ws-2027-h1")[1:]
    assert moved[0][0] == "MeetingRescheduled"
    assert (moved[0][1]["start"], moved[0][1]["end"]) == (
        "2027-04-20T10:00:00",
        "2027-04-20T16:00:00",
    )
    assert moved[0][1]["reason"] == "Clash with the Caspian summit"
    assert moved[1] == (
        "MeetingAmended",
        {
            "meeting_id": "ws-2027-h1",
            "title": None,
            "venue": "Ganja (Gəncə)",
            "host": None,
            "participants": None,
            "agenda": None,
            "classification": None,
            "reminders": None,
        },
    )
    assert log.payloads("meeting-rv-2027-05")[-1][1]["reason"] == "Merged into ws-2027-h1"
    new = dict(log.payloads("meeting-pc-2027-q1"))["MeetingPlanned"]
    assert (new["tz"], new["end"]) == ("Asia/Ashgabat", "2027-02-16T14:00:00")  # the track's
    amended = log.payloads("track-joint-review")[-1]
    assert amended[0] == "TrackAmended"
    assert {key for key, value in amended[1].items() if value is not None} == {
        "track_id",
        "priority",
    }
    assert log.payloads("track-cultural-exchange")[-1] == (
        "TrackRetired",
        {"track_id": "cultural-exchange", "on": "2027-12-31"},
    )


def test_an_edited_plan_imported_again_appends_nothing(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())
    log.load(edited())
    before = log.count()

    assert log.load(edited()).total == 0
    assert log.count() == before


def test_the_edited_plan_on_an_empty_log_gives_the_same_state(log: Log) -> None:
    report = log.load(edited())

    assert report.events == EXAMPLE_EVENTS + Counter(
        MeetingPlanned=1, MeetingCancelled=1, TrackRetired=1
    )
    assert log.load(edited()).total == 0


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda p: p["parties"]["TM-MFA"].update(name="MFA of Turkmenistan"),
            "parties.TM-MFA.name: differs from the recorded 'Ministry of Foreign Affairs of Turkmenistan",
        ),
        (
            lambda p: p["parties"]["AZ-MFA"].update(tz="Europe/Istanbul"),
            "parties.AZ-MFA.tz: differs from the recorded 'Asia/Baku'; a party cannot be changed by import",
        ),
        (
            lambda p: p["areas"]["energy"].update(name="Power"),
            "areas.energy.name: differs from the recorded 'Energy / Energetika / Energetika'; an area",
        ),
        (
            lambda p: p["meetings"]["ws-2025-h1"].update(status="cancelled", reason="No"),
            "meetings.ws-2025-h1.status: is held in the log; that cannot be changed",
        ),
        (
            lambda p: p["meetings"]["pc-2025-q3"].update(status="held"),
            "meetings.pc-2025-q3.status: is cancelled in the log; that cannot be changed",
        ),
    ],
)
def test_what_import_cannot_change_is_reported(
    log: Log, edit: Callable[[Plan], None], expected: str
) -> None:
    log.load(EXAMPLE.read_bytes())
    plan = example()
    edit(plan)
    meetings = plan["meetings"]  # keep the edited entries valid in themselves
    if meetings["ws-2025-h1"]["status"] != "held":
        for key in ("held_start", "held_end", "attendance", "outcomes", "actions"):
            meetings["ws-2025-h1"].pop(key, None)
    if meetings["pc-2025-q3"]["status"] != "cancelled":
        del meetings["pc-2025-q3"]["reason"]

    problems = log.problems(plan)

    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_a_party_email_is_imported_once_and_then_cannot_change(log: Log) -> None:
    plan = base_plan()
    plan["parties"]["AZ-MFA"]["email"] = "protocol@mfa.example"
    log.load(plan)
    assert log.payloads("party-AZ-MFA")[0][1]["email"] == "protocol@mfa.example"
    assert "email" not in log.payloads("party-TM-MFA")[0][1]  # stored as before the field
    del plan["parties"]["AZ-MFA"]["email"]  # left out: the recorded one stays
    assert log.load(plan).total == 0
    plan["parties"]["AZ-MFA"]["email"] = "desk@mfa.example"
    plan["parties"]["TM-MFA"]["email"] = "desk@mfa.example"
    assert sorted(log.problems(plan)) == [
        "parties.AZ-MFA.email: differs from the recorded 'protocol@mfa.example'; a party "
        "cannot be changed by import",
        "parties.TM-MFA.email: differs from the recorded None; a party cannot be changed by import",
    ]


def test_a_plan_that_lags_behind_the_log_appends_nothing(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())
    plan = example()
    # Written before these meetings took place or were called off (e.g. recorded by the CLI).
    for meeting_id in ("ws-2025-h1", "pc-2025-q3"):
        for key in ("status", "reason", "held_start", "held_end", "attendance", "outcomes"):
            plan["meetings"][meeting_id].pop(key, None)
        plan["meetings"][meeting_id].pop("actions", None)
    plan["meetings"]["ws-2025-h1"]["title"] = "Edited after it was held: ignored"

    assert log.load(plan).total == 0
    assert log.count() == EXAMPLE_TOTAL


def test_a_retired_track_can_be_imported_again_but_not_changed(log: Log) -> None:
    plan = example()
    plan["tracks"]["cultural-exchange"]["retired"] = date(2027, 12, 31)
    log.load(plan)
    assert log.load(plan).total == 0

    plan["tracks"]["cultural-exchange"]["priority"] = "high"
    assert log.problems(plan) == [
        "tracks.cultural-exchange.priority: the track was retired on 2027-12-31; "
        "it cannot be amended"
    ]
    plan["tracks"]["cultural-exchange"] |= {"priority": "low", "retired": date(2027, 6, 30)}
    assert log.problems(plan) == [
        "tracks.cultural-exchange.retired: differs from the recorded 2027-12-31; "
        "a retirement date cannot be changed by import"
    ]
    del plan["tracks"]["cultural-exchange"]["retired"]
    assert log.problems(plan) == [
        "tracks.cultural-exchange.retired: is 2027-12-31 in the log; retiring cannot be undone"
    ]


# --- host rotation -------------------------------------------------------------------------


def rotation_plan(*meetings: tuple[str, datetime]) -> Plan:
    plan = {key: example()[key] for key in ("parties", "areas")}
    plan["tracks"] = {"ws": example()["tracks"]["strategy-workshop"]}  # AZ-MFA, TM-MFA
    plan["meetings"] = {
        meeting_id: {"track": "ws", "title": f"Workshop {start:%B %Y}", "start": start}
        for meeting_id, start in meetings
    }
    return plan


def test_host_rotation_follows_the_calendar_when_hosts_are_omitted(log: Log) -> None:
    # Listed out of date order on purpose: the rotation follows the dates.
    meetings = [
        ("ws-c", datetime(2027, 10, 12, 10)),
        ("ws-a", datetime(2027, 1, 12, 10)),
        ("ws-b", datetime(2027, 4, 13, 10)),
    ]
    log.load(rotation_plan(*meetings))

    def host(meeting_id: str) -> str:
        return str(log.payloads(f"meeting-{meeting_id}")[0][1]["host"])

    assert [host(m) for m in ("ws-a", "ws-b", "ws-c")] == ["AZ-MFA", "TM-MFA", "AZ-MFA"]
    assert log.load(rotation_plan(*meetings)).total == 0  # omitted host: left as planned

    log.load(rotation_plan(*meetings, ("ws-d", datetime(2028, 4, 11, 10))))
    assert host("ws-d") == "TM-MFA"
    assert [host(m) for m in ("ws-a", "ws-b", "ws-c")] == ["AZ-MFA", "TM-MFA", "AZ-MFA"]


# --- problems ------------------------------------------------------------------------------

MANY_PROBLEMS = """
[parties.TM-MFA]
name = "MFA of Turkmenistan"
tz = "Asia/Ashgabat"

[parties.AZ-MFA]
name = "MFA of Azerbaijan"
tz = "Asia/Baku"

[parties.XX-MFA]
name = "MFA of Atlantis"
tz = "Asia/Atlantis"

[areas.energy]
name = "Energy"
colour = "green"

[tracks.ws]
title = "Workshop"
kind = "workshop"
cadence = "half-year"
start = 2025-01-01
tz = "Asia/Baku"
parties = ["TM-MFA", "AZ-MFA"]

[tracks.x]
title = "Wrong type"
kind = "review"
cadence = "year"
start = "2025-01-01"
tz = "UTC"

[tracks.y]
title = "Unknown party"
kind = "review"
cadence = "year"
start = 2025-01-01
tz = "UTC"
parties = ["TM-MFA", "UZ-MFA"]

[tracks.z]
title = "Duplicate party"
kind = "review"
cadence = "year"
start = 2025-01-01
tz = "UTC"
parties = ["TM-MFA", "TM-MFA"]

[meetings.ws-2099]
track = "ws"
title = "Held in the future"
start = 2099-04-15T10:00:00
status = "held"

[meetings.ws-2026]
track = "ws"
title = "Held, on a day in the future"
start = 2026-04-15T10:00:00
status = "held"
held_start = 2099-04-16T10:00:00

[meetings.ws-off]
track = "ws"
title = "Cancelled without a reason"
start = 2027-04-15T10:00:00
status = "cancelled"
"""

EXPECTED_PROBLEMS = [
    "areas.energy.colour: unknown key",
    "tracks.x.start: expected a date such as 2026-05-14, got str '2025-01-01'",
    "meetings.ws-off.reason: is required when status is cancelled",
    "parties.XX-MFA.tz: unknown time zone 'Asia/Atlantis'",
    "tracks.y.parties: no party 'UZ-MFA'; did you mean 'AZ-MFA'? If not, register it with `party add`",
    "tracks.z.parties: 'TM-MFA' is listed twice",
    "meetings.ws-2026.held_start: 2099-04-16 10:00:00 (Asia/Baku) is more than a day in the future; "
    "record a meeting as held once it took place",
    "meetings.ws-2099.status: 2099-04-15 10:00:00 (Asia/Baku) is more than a day in the future; "
    "record a meeting as held once it took place",
]


def test_every_problem_is_listed_with_its_location(log: Log) -> None:
    assert log.problems(MANY_PROBLEMS.encode()) == EXPECTED_PROBLEMS
    assert log.count() == 0


def test_every_problem_is_one_stderr_line_with_exit_code_2(
    cli: Callable[..., Result], log: Log, tmp_path: Path
) -> None:
    result = cli("plan", "import", write(tmp_path, MANY_PROBLEMS.encode()))

    assert (result.code, result.out) == (2, "")
    assert "Traceback" not in result.err
    assert result.err.splitlines() == [
        *(f"error: {problem}" for problem in EXPECTED_PROBLEMS),
        "error: plan: 8 problem(s); nothing was imported",
    ]
    assert log.count() == 0


def test_a_plan_with_one_problem_writes_nothing_at_all(
    cli: Callable[..., Result], log: Log, tmp_path: Path
) -> None:
    plan = edited()
    plan["meetings"]["pc-2027-q1"]["host"] = "UZ-MFA"  # the last entry decided

    result = cli("plan", "import", write(tmp_path, plan))

    assert result.code == 2
    assert (
        result.err.splitlines()[0]
        == "error: meetings.pc-2027-q1.host: no party 'UZ-MFA'; did you mean 'AZ-MFA'? "
        "If not, register it with `party add`"
    )
    assert log.count() == 0


def base_plan() -> Plan:
    """A small valid plan: two parties, an area, a track, a held and a planned meeting."""
    plan = {key: example()[key] for key in ("parties",)}
    plan["areas"] = {"energy": {"name": "Energy"}}
    plan["tracks"] = {
        "ws": {
            "title": "Workshop", "kind": "workshop", "cadence": "half-year",
            "start": date(2025, 1, 1), "tz": "Asia/Baku", "parties": ["TM-MFA", "AZ-MFA"],
            "areas": ["energy"], "host_rotation": ["AZ-MFA", "TM-MFA"],
        },
    }  # fmt: skip
    plan["meetings"] = {
        "held": {"track": "ws", "title": "Held", "start": datetime(2026, 4, 14, 10),
                 "status": "held", "outcomes": ["Agreed"]},
        "next": {"track": "ws", "title": "Next", "start": datetime(2027, 4, 13, 10)},
    }  # fmt: skip
    return plan


def edit(plan: Plan, path: str, value: Any) -> Plan:
    """Set ``value`` at a dotted ``path`` (``...`` deletes the key); drop the entries that
    depend on the edited section, so that its problem is the only one."""
    *parents, last = path.split(".")
    table = plan
    for key in parents:
        table = table.setdefault(key, {})
    if value is ...:
        del table[last]
    else:
        table[last] = value
    dependants = {
        "parties": ("tracks", "meetings"),
        "areas": ("tracks", "meetings"),
        "tracks": ("meetings",),
    }
    for section in dependants.get(parents[0] if parents else "", ()):
        del plan[section]
    return plan


DO = {"text": "Do", "owner": "TM-MFA", "due": date(2026, 6, 1)}
LOCATED = [
    ("colour", "green", "colour: unknown section; expected parties, areas, tracks, meetings"),
    ("meetings", [1, 2], "meetings: expected a table of entries keyed by id"),
    ("meetings.next", "soon", "meetings.next: expected a table"),
    ("meetings.bad id", {"title": "T", "start": datetime(2027, 1, 1, 10), "tz": "UTC"},
     "meetings.\"bad id\": invalid id 'bad id'"),
    ("areas.energy.col our\u2028", 1, 'areas.energy."col our\\u2028": unknown key'),
    ("parties.TM-MFA.name", ..., "parties.TM-MFA.name: is required"),
    ("parties.TM-MFA.departments", ["A", 1], "parties.TM-MFA.departments: expected a list of text"),
    ("parties.TM-MFA.departments", ["A", "A"], "parties.TM-MFA.departments: a department is listed twice"),
    ("parties.TM-MFA.email", "desk@", "parties.TM-MFA.email: 'desk@' is not an e-mail address"),
    ("parties.TM-MFA.email", ["desk@mfa.example"], "parties.TM-MFA.email: expected text, got list"),
    ("tracks.ws.required", True, "tracks.ws.required: expected a whole number, got bool True"),
    ("tracks.ws.required", 0, "tracks.ws.required: sessions per window must be at least 1"),
    ("tracks.ws.start", datetime(2025, 1, 1, 10), "tracks.ws.start: expected a date such as 2026-05-14, got datetime"),
    ("tracks.ws.cadence", "fortnightly", "tracks.ws.cadence: unknown cadence 'fortnightly'"),
    ("tracks.ws.duration", "P1M", "tracks.ws.duration: 'P1M' must not use years or months"),
    ("tracks.ws.reminders", ["P1D", "PT24H"], "tracks.ws.reminders: the same reminder offset is listed twice"),
    ("tracks.ws.areas", ["mining"], "tracks.ws.areas: no area 'mining'"),
    ("tracks.ws.areas", ["energy", "energy"], "tracks.ws.areas: 'energy' is listed twice"),
    ("tracks.ws.host_rotation", ["AZ-MFA", "XX-MFA"], "tracks.ws.host_rotation: no party 'XX-MFA'"),
    ("tracks.ws.parties", ["AZ-MFA"], "tracks.ws.host_rotation: host 'TM-MFA' is not a party of the track"),
    ("tracks.ws.host_rotation", ["bad id"], "tracks.ws.host_rotation: invalid id 'bad id'"),
    ("tracks.ws.retired", date(2024, 12, 31), "tracks.ws.retired: 2024-12-31 is before the track's start 2025-01-01"),
    ("tracks.ws.parties", ["TM-MFA\x00", "AZ-MFA"], "tracks.ws.parties: invalid id 'TM-MFA\\x00'"),
    ("meetings.next.start", datetime(2027, 4, 13, 10, tzinfo=UTC),
     "meetings.next.start: must be a local date-time without an offset; the zone is `tz`"),
    ("meetings.next.start", date(2027, 4, 13), "meetings.next.start: expected a local date-time such as 2026-05-14T10:00:00, got date"),
    ("meetings.next.end", datetime(2027, 4, 13, 9), "meetings.next.end: 2027-04-13 09:00:00 is not after the start 2027-04-13 10:00:00"),
    ("meetings.next.tz", "Mars/Olympus", "meetings.next.tz: unknown time zone 'Mars/Olympus'"),
    ("meetings.next.tz", "Europe/Berlin", None),
    ("meetings.next.start", datetime(2027, 3, 28, 2, 30), "meetings.next.start: 2027-03-28 02:30 does not exist in Europe/Berlin (DST gap)"),
    ("meetings.next.track", "nope", "meetings.next.track: no track 'nope'"),
    ("meetings.next.host", "UZ-MFA", "meetings.next.host: no party 'UZ-MFA'"),
    ("meetings.next.classification", "secret", "meetings.next.classification: unknown classification 'secret'"),
    ("meetings.next.status", "postponed", "meetings.next.status: expected one of planned, held, cancelled, got str 'postponed'"),
    ("meetings.next.outcomes", ["Agreed"], 'meetings.next.outcomes: is only for a meeting with status = "held"'),
    ("meetings.held.reason", "Why", "meetings.held.reason: is only for a cancelled or rescheduled meeting"),
    ("meetings.held.held_end", datetime(2026, 4, 14, 9), "meetings.held.held_end: 2026-04-14 09:00:00 is not after the start 2026-04-14 10:00:00"),
    ("meetings.held.outcomes", ["line\nbreak"], "meetings.held.outcomes: must be a single line without control characters"),
    ("meetings.held.attendance", ["TM-MFA", "TM-MFA"], "meetings.held.attendance: 'TM-MFA' is listed twice"),
    ("meetings.held.actions", [{"text": "Do", "owner": "UZ-MFA", "due": date(2026, 6, 1)}],
     "meetings.held.actions: no party 'UZ-MFA'"),
    ("meetings.held.actions", [{"text": "Do", "owner": "TM-MFA"}], "meetings.held.actions[1].due: is required"),
    ("meetings.held.actions", [{"text": "Do", "owner": "TM-MFA", "due": date(2026, 6, 1), "by": 1}],
     "meetings.held.actions[1].by: unknown key"),
    ("meetings.held.actions", ["Do it"], "meetings.held.actions[1]: expected a table {text, owner, due}"),
    ("meetings.held.actions", [DO | {"done": date(2026, 5, 1), "dropped": date(2026, 5, 2)}],
     "meetings.held.actions[1].dropped: give done or dropped, not both"),
    ("meetings.held.actions", [DO | {"note": "Why"}],
     "meetings.held.actions[1].note: is only for an action item that is done or dropped"),
    ("meetings.held.actions", [DO | {"done": "yes"}],
     "meetings.held.actions[1].done: expected a date such as 2026-05-14, got str 'yes'"),
    ("meetings.held.actions", [DO, DO | {"dropped": date(2026, 12, 1)}],
     "meetings.held.actions[2].dropped: 2026-12-01 is in the future"),
    ("meetings.held.fold", 2, "meetings.held.fold: must be 0 or 1, got 2"),
]  # fmt: skip


def test_each_problem_names_the_key_in_the_file(log: Log) -> None:
    plan = base_plan()
    for path, value, expected in LOCATED:
        if expected is None:  # a valid edit that the next case builds on
            plan = edit(plan, path, value)
            continue
        problems = log.problems(edit(copy.deepcopy(plan), path, value))
        assert len(problems) == 1, (expected, problems)
        assert problems[0].startswith(expected), (expected, problems)
    assert log.load(base_plan()).total == 7  # and the base plan itself is fine


# --- file-level problems through the CLI -----------------------------------------------------

FILE_PROBLEMS = [
    pytest.param(b'[parties.A]\nname = "Caf\xe9"\n', "file: not UTF-8 text (line 2, byte 23); save it as UTF-8", id="not-utf8"),
    pytest.param(b"", "file: empty; expected tables parties, areas, tracks, meetings", id="empty"),
    pytest.param(b"# only a comment\n\n", "file: empty; expected tables parties, areas, tracks, meetings", id="comments-only"),
    pytest.param(b"[parties\nname = 1\n", "file: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 9)", id="malformed"),
    pytest.param(b"a = " + b"[" * 10_000 + b"]" * 10_000, "file: not valid TOML: arrays or tables nested too deeply", id="deep"),
    pytest.param(b"#" * (MAX_FILE_BYTES + 1024 * 1024), "file: larger than 16 MiB", id="17MiB"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "problem"), FILE_PROBLEMS)
def test_a_file_that_is_not_a_plan_gives_one_clear_problem(
    cli: Callable[..., Result], log: Log, tmp_path: Path, content: bytes, problem: str
) -> None:
    result = cli("plan", "import", write(tmp_path, content))

    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines() == [
        f"error: {problem}",
        "error: plan: 1 problem(s); nothing was imported",
    ]
    assert log.count() == 0


def test_a_missing_file_is_invalid_input(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("plan", "import", str(tmp_path / "nope.toml"))

    assert result.code == 2
    assert result.err.startswith("error: ")
    assert "does not exist" in result.err
    assert result.err.count("\n") == 1


# --- the CLI: output, dry run, formats ---------------------------------------------------------


def test_import_and_reimport_through_the_cli(
    cli: Callable[..., Result], log: Log, tmp_path: Path
) -> None:
    path = write(tmp_path, EXAMPLE.read_bytes())

    first = cli("plan", "import", path)
    assert (first.code, first.err) == (0, "")
    assert first.out.splitlines() == [
        "appended 101 events: 16 ActionItemCompleted, 1 ActionItemDropped,",
        "  6 AreaRegistered, 1 MeetingCancelled, 30 MeetingHeld, 39 MeetingPlanned,",
        "  2 PartyRegistered, 6 TrackAdded",
    ]
    again = cli("plan", "import", path)
    assert (again.code, again.out) == (0, "nothing to import: the log already matches the plan\n")
    assert log.count() == EXAMPLE_TOTAL


def test_events_carry_who_imported_and_from_which_file(
    cli: Callable[..., Result], log: Log, tmp_path: Path
) -> None:
    path = write(tmp_path, EXAMPLE.read_bytes(), "tm-az.toml")
    assert (
        cli("plan", "import", path, "--actor", "az-secretariat", "--reason", "2027 plan").code == 0
    )

    metadata = {
        event.metadata["correlation_id"]: event.metadata
        for batch in log.service.store.read()
        for event in batch
    }
    assert len(metadata) == 1  # one batch, one correlation id
    (only,) = metadata.values()
    assert (only["actor"], only["source"], only["reason"]) == (
        "az-secretariat",
        "plan:tm-az.toml",
        "2027 plan",
    )


def test_dry_run_reports_what_would_be_appended_and_writes_nothing(
    cli: Callable[..., Result], log: Log, tmp_path: Path
) -> None:
    path = write(tmp_path, EXAMPLE.read_bytes())

    dry = cli("plan", "import", path, "--dry-run")
    assert (dry.code, dry.err) == (0, "")
    assert dry.out.startswith("would append 101 events: 16 ActionItemCompleted, 1 ActionItemDr")
    assert log.count() == 0

    assert cli("plan", "import", path).code == 0
    changed = cli("plan", "import", write(tmp_path, edited(), "edited.toml"), "--dry-run")
    assert changed.out.splitlines() == [
        "tracks.joint-review",
        "  priority: medium -> high",
        "tracks.cultural-exchange",
        "  retired: (none) -> 2027-12-31",
        "meetings.ws-2027-h1",
        "  start: 2027-04-13 10:00 -> 2027-04-20 10:00",
        "  end: 2027-04-13 16:00 -> 2027-04-20 16:00",
        "  venue: Baku (Bakı), Ministry of Foreign Affairs -> Ganja (Gəncə)",
        "meetings.rv-2027-05",
        "  status: planned -> cancelled",
        "would append 6 events: 1 MeetingAmended, 1 MeetingCancelled, 1 MeetingPlanned,",
        "  1 MeetingRescheduled, 1 TrackAmended, 1 TrackRetired",
    ]
    assert log.count() == EXAMPLE_TOTAL
    assert cli("plan", "import", path, "--dry-run").out.startswith("nothing to import")


def test_dry_run_reports_problems_like_a_real_import(
    cli: Callable[..., Result], log: Log, tmp_path: Path
) -> None:
    result = cli("plan", "import", write(tmp_path, MANY_PROBLEMS.encode()), "--dry-run")

    assert result.code == 2
    assert len(result.err.splitlines()) == len(EXPECTED_PROBLEMS) + 1
    assert log.count() == 0


def test_dry_run_through_the_service(log: Log) -> None:
    report = log.load(EXAMPLE.read_bytes(), dry_run=True)

    assert (report.dry_run, report.events, report.positions) == (True, EXAMPLE_EVENTS, [])
    assert log.count() == 0


@pytest.mark.parametrize("dry_run", [False, True])
def test_json_output_lists_event_types_and_counts(
    cli: Callable[..., Result], log: Log, tmp_path: Path, dry_run: bool
) -> None:
    args = ["plan", "import", write(tmp_path, EXAMPLE.read_bytes()), "--format", "json"]
    result = cli(*args, *(["--dry-run"] if dry_run else []))

    assert (result.code, result.err) == (0, "")
    rows = json.loads(result.out)
    assert rows == [
        {"event_type": name, "count": count} for name, count in sorted(EXAMPLE_EVENTS.items())
    ]
    assert log.count() == (0 if dry_run else EXAMPLE_TOTAL)
    again = cli(*args)
    assert json.loads(again.out) == ([] if not dry_run else rows)


def test_csv_output(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("plan", "import", write(tmp_path, EXAMPLE.read_bytes()), "--format", "csv")

    assert result.out.splitlines()[:2] == ["event_type,count", "ActionItemCompleted,16"]


def test_the_example_stays_valid_after_a_round_trip(log: Log) -> None:
    # The tests edit the example through tomllib/tomli_w; the round trip itself changes nothing.
    assert copy.deepcopy(example()) == tomllib.loads(dump(example()).decode())
    log.load(EXAMPLE.read_bytes())
    assert log.load(dump(example())).total == 0


def test_values_with_surrounding_spaces_import_again_as_unchanged(log: Log) -> None:
    plan = base_plan()
    plan["parties"]["TM-MFA"] |= {"name": "  MFA of Turkmenistan ", "departments": [" Energy "]}
    plan["areas"]["energy"]["name"] = " Energy\t"
    plan["tracks"]["ws"]["title"] = " Workshop "
    plan["meetings"]["next"] |= {"venue": " Baku ", "agenda": [" Item "]}
    log.load(plan)
    before = log.count()

    assert log.load(plan).total == 0
    assert log.count() == before


def test_the_example_in_the_documentation_imports(log: Log) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "plan-format.md").read_text(encoding="utf-8")
    block = docs.split("```toml\n", 1)[1].split("```", 1)[0]

    report = log.load(block.encode())

    assert report.events == Counter(
        PartyRegistered=2,
        AreaRegistered=1,
        TrackAdded=1,
        MeetingPlanned=2,
        MeetingHeld=1,
        ActionItemCompleted=1,
    )
    hosts = [log.payloads(f"meeting-{m}")[0][1]["host"] for m in ("ws-2026-h1", "ws-2027-h1")]
    assert hosts == ["AZ-MFA", "TM-MFA"]
    assert log.load(block.encode()).total == 0


# --- importing again after changes made elsewhere ------------------------------------------

ALICE = Provenance(actor="alice", source="cli")
PDB_VENUE = "Ashgabat (Aşgabat), Ministry of Foreign Affairs"  # pdb-2026-q4's in the example


def shown(changes: list[Change]) -> list[tuple[str, str, str, str, str | None]]:
    """Each change as (entry, field, old, new, who made the change it undoes)."""
    return [
        (c.entry, c.field, c.old, c.new, c.undoes and f"{c.undoes.actor} ({c.undoes.source})")
        for c in changes
    ]


def test_an_import_lists_each_field_it_changes_old_and_new(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())

    dry = log.load(edited(), dry_run=True)
    report = log.load(edited())

    assert shown(report.changes) == shown(dry.changes) == [
        ("tracks.joint-review", "priority", "medium", "high", None),
        ("tracks.cultural-exchange", "retired", "(none)", "2027-12-31", None),
        ("meetings.ws-2027-h1", "start", "2027-04-13 10:00", "2027-04-20 10:00", None),
        ("meetings.ws-2027-h1", "end", "2027-04-13 16:00", "2027-04-20 16:00", None),
        ("meetings.ws-2027-h1", "venue", "Baku (Bakı), Ministry of Foreign Affairs",
         "Ganja (Gəncə)", None),
        ("meetings.rv-2027-05", "status", "planned", "cancelled", None),
    ]  # fmt: skip
    assert log.load(edited()).changes == []


def test_importing_again_refuses_to_undo_what_the_cli_changed_since(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())
    log.service.execute(
        RescheduleMeeting(meeting_id="pdb-2026-q4", start=datetime(2026, 12, 17, 11)), ALICE
    )
    log.service.execute(AmendMeeting(meeting_id="pdb-2026-q4", venue="Awaza"), ALICE)
    log.service.execute(AmendTrack(track_id="joint-review", priority="low"), ALICE)
    before = log.count()

    for dry_run in (False, True):
        with pytest.raises(PlanConflicts) as refused:
            log.load(EXAMPLE.read_bytes(), dry_run=dry_run)
        assert log.count() == before, "a refused import must write nothing"
    assert shown(refused.value.changes) == [
        ("tracks.joint-review", "priority", "low", "medium", "alice (cli)"),
        ("meetings.pdb-2026-q4", "start", "2026-12-17 11:00", "2026-12-15 11:00", "alice (cli)"),
        ("meetings.pdb-2026-q4", "end", "2026-12-17 13:00", "2026-12-15 13:00", "alice (cli)"),
        ("meetings.pdb-2026-q4", "venue", "Awaza", PDB_VENUE, "alice (cli)"),
    ]

    forced = log.load(EXAMPLE.read_bytes(), force=True)

    assert forced.events == Counter(TrackAmended=1, MeetingRescheduled=1, MeetingAmended=1)
    assert shown(forced.changes) == shown(refused.value.changes)
    assert log.load(EXAMPLE.read_bytes()).total == 0


def test_fields_nobody_else_changed_since_the_last_import_are_imported(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())
    log.service.execute(AmendMeeting(meeting_id="pdb-2026-q4", venue="Awaza"), ALICE)
    plan = example()
    meeting = plan["meetings"]["pdb-2026-q4"]
    # The file takes Alice's venue in and changes the title: nothing of hers is undone.
    meeting |= {"venue": "Awaza", "title": "Policy-database working group: pilot review"}

    report = log.load(plan)

    assert report.events == Counter(MeetingAmended=1)
    assert shown(report.changes) == [
        ("meetings.pdb-2026-q4", "title", "Policy-database working group, Q4 2026",
         "Policy-database working group: pilot review", None),
    ]  # fmt: skip
    # Her change is older than the file's last import now: the file may change it again.
    meeting["venue"] = "Türkmenbaşy"
    assert shown(log.load(plan).changes) == [
        ("meetings.pdb-2026-q4", "venue", "Awaza", "Türkmenbaşy", None)
    ]


def test_another_plan_file_is_another_source(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())
    other = example()
    other["tracks"]["joint-review"]["priority"] = "high"
    other["meetings"]["ws-2027-h1"]["venue"] = "Ganja (Gəncə)"
    az = Provenance(actor="az-secretariat", source="plan:az-edits.toml")
    # Never imported before: there is nothing of its own it could undo.
    assert log.load(other, az).events == Counter(TrackAmended=1, MeetingAmended=1)
    before = log.count()

    with pytest.raises(PlanConflicts) as refused:
        log.load(EXAMPLE.read_bytes())

    assert shown(refused.value.changes) == [
        ("tracks.joint-review", "priority", "high", "medium", "az-secretariat (plan:az-edits.toml)"),
        ("meetings.ws-2027-h1", "venue", "Ganja (Gəncə)", "Baku (Bakı), Ministry of Foreign Affairs",
         "az-secretariat (plan:az-edits.toml)"),
    ]  # fmt: skip
    assert log.count() == before
    assert log.load(other, az).total == 0  # the other file agrees with the log


def test_a_meeting_planned_elsewhere_since_the_last_import_is_not_overwritten(log: Log) -> None:
    log.load(base_plan())
    log.service.execute(
        PlanMeeting(meeting_id="extra", title="Extra", start=datetime(2027, 6, 1, 10),
                    track_id="ws", venue="Baku"),
        ALICE,
    )  # fmt: skip
    plan = base_plan()
    plan["meetings"]["extra"] = {
        "track": "ws", "title": "Extra", "start": datetime(2027, 6, 1, 10), "venue": "Awaza"
    }  # fmt: skip

    with pytest.raises(PlanConflicts) as refused:
        log.load(plan)

    assert shown(refused.value.changes) == [
        ("meetings.extra", "venue", "Baku", "Awaza", "alice (cli)")
    ]


def test_a_plan_seeded_by_run_is_an_import_of_its_file(
    database_url: str, migrated_engine: Engine
) -> None:
    app = bootstrap(Settings(database_url))
    try:
        assert list(ensure_demo(app, EXAMPLE, demo_feed=False, actor="operator")) == [
            f"imported {EXAMPLE}: {EXAMPLE_TOTAL} events"
        ]
        sources = {event.metadata["source"] for batch in app.store.read() for event in batch}
    finally:
        app.close()

    assert sources == {"plan:tm-az-cooperation.toml"}


def redacted(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<when>", text)


def test_the_cli_lists_the_changes_and_refuses_to_undo_cli_edits(
    cli: Callable[..., Result], log: Log, tmp_path: Path
) -> None:
    path = write(tmp_path, EXAMPLE.read_bytes(), "tm-az.toml")
    assert cli("plan", "import", path).code == 0
    for args in (
        ("meeting", "reschedule", "pdb-2026-q4", "--start", "2026-12-17 11:00"),
        ("meeting", "amend", "pdb-2026-q4", "--venue", "Baku (Bakı), Ministry of Foreign Affairs"),
    ):
        assert cli(*args, "--actor", "alice").code == 0
    before = log.count()
    listing = [
        "meetings.pdb-2026-q4",
        "  start: 2026-12-17 11:00 -> 2026-12-15 11:00",
        "         (set by alice via cli on <when>)",
        "  end: 2026-12-17 13:00 -> 2026-12-15 13:00",
        "       (set by alice via cli on <when>)",
        "  venue: Baku (Bakı), Ministry of Foreign Affairs",
        "      -> Ashgabat (Aşgabat), Ministry of Foreign Affairs",
        "         (set by alice via cli on <when>)",
    ]

    for dry_run in ([], ["--dry-run"]):
        refused = cli("plan", "import", path, *dry_run)
        assert (refused.code, refused.out) == (3, "")
        assert redacted(refused.err).splitlines() == [
            "these changes would undo what was recorded after tm-az.toml was last imported:",
            *listing,
            "error: plan: 3 changes refused; nothing was imported (--force imports anyway)",
        ]
        assert log.count() == before, "a refused import must write nothing"
    dry = cli("plan", "import", path, "--dry-run", "--force")
    assert (dry.code, dry.err) == (0, "")
    assert redacted(dry.out).splitlines() == [
        *listing,
        "would append 2 events: 1 MeetingAmended, 1 MeetingRescheduled",
    ]
    assert log.count() == before

    forced = cli("plan", "import", path, "--force")
    assert (forced.code, forced.err) == (0, "")
    assert (
        forced.out.splitlines()[-1] == "appended 2 events: 1 MeetingAmended, 1 MeetingRescheduled"
    )
    assert log.count() == before + 2
    assert (
        cli("plan", "import", path).out == "nothing to import: the log already matches the plan\n"
    )


# --- action items done or dropped ------------------------------------------------------------


def test_the_example_records_action_items_done_and_dropped(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())

    assert log.payloads("meeting-ws-2025-h1")[2:] == [
        ("ActionItemCompleted", {"meeting_id": "ws-2025-h1", "item_id": "ws-2025-h1/1",
                                 "on": "2025-05-12", "note": None}),
        ("ActionItemCompleted", {"meeting_id": "ws-2025-h1", "item_id": "ws-2025-h1/2",
                                 "on": "2025-06-03",
                                 "note": "Co-chairs named by note verbale after the cabinet reshuffle"}),
    ]  # fmt: skip
    dropped = log.payloads("meeting-ws-2026-h1")[-1]
    assert dropped[0] == "ActionItemDropped"
    assert dropped[1]["on"] == "2026-09-15"
    assert dropped[1]["reason"].startswith("Event postponed to 2027")


def test_action_items_are_closed_by_a_later_import(log: Log) -> None:
    log.load(before_follow_up(EXAMPLE))  # the example before anyone followed them up

    report = log.load(EXAMPLE.read_bytes())

    assert report.events == Counter(ActionItemCompleted=16, ActionItemDropped=1)
    changes = shown(report.changes)
    assert len(changes) == report.total
    assert {
        ("meetings.ws-2025-h1", "actions[1]", "open", "done on 2025-05-12", None),
        ("meetings.ws-2025-h1", "actions[2]", "open", "done on 2025-06-03", None),
        ("meetings.ws-2026-h1", "actions[1]", "open", "dropped on 2026-09-15", None),
    } <= set(changes)
    assert log.load(EXAMPLE.read_bytes()).total == 0


def test_a_file_that_lags_behind_closed_action_items_appends_nothing(log: Log) -> None:
    log.load(EXAMPLE.read_bytes())
    # Closed through the CLI; the file still says open.
    item = CompleteActionItem(meeting_id="tf-2026-05", item_id="tf-2026-05/1", on=date(2026, 11, 2))
    log.service.execute(item, ALICE)

    assert log.load(EXAMPLE.read_bytes()).total == 0
    plan = example()  # says done, on another day: a closed item is not compared
    plan["meetings"]["tf-2026-05"]["actions"][0]["done"] = date(2026, 11, 20)
    assert log.load(plan).total == 0


def close(meeting: str, number: int, **follow_up: Any) -> Callable[[Plan], None]:
    def change(plan: Plan) -> None:
        items = plan["meetings"][meeting]["actions"]
        while len(items) < number:
            items.append({"text": "Added later", "owner": "TM-MFA", "due": date(2026, 1, 1)})
        for key in ("done", "dropped", "note"):
            items[number - 1].pop(key, None)
        items[number - 1] |= follow_up

    return change


def reorder(plan: Plan) -> None:
    plan["meetings"]["ws-2025-h1"]["actions"].reverse()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (close("ws-2026-h1", 1, done=date(2026, 9, 1)),
         "meetings.ws-2026-h1.actions[1]: is dropped in the log; that cannot be changed"),
        (close("ws-2025-h1", 1, dropped=date(2025, 5, 1)),
         "meetings.ws-2025-h1.actions[1]: is done in the log; that cannot be changed"),
        (close("tf-2026-05", 2, done=date(2026, 7, 1)),
         "meetings.tf-2026-05.actions[2]: the log has no action item 'tf-2026-05/2'; action items "
         "are recorded with the meeting and cannot be added later"),
        (reorder,
         "meetings.ws-2025-h1.actions[1].text: differs from the recorded 'Circulate the draft "
         "strategy framework to both ministries' of ws-2025-h1/1; action items are matched by "
         "their place in the list"),
        (close("tf-2026-05", 1, done=date(2026, 12, 1)),
         "meetings.tf-2026-05.actions[1].done: 2026-12-01 is in the future"),
        (close("tf-2026-05", 1, dropped=date(2026, 11, 1), note="x" * 2001),
         "meetings.tf-2026-05.actions[1].note: is 2001 characters long"),
    ],
)  # fmt: skip
def test_action_item_follow_up_the_log_cannot_take_is_reported(
    log: Log, change: Callable[[Plan], None], expected: str
) -> None:
    log.load(EXAMPLE.read_bytes())
    plan = example()
    change(plan)

    problems = log.problems(plan)

    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


# --- idempotency keys ----------------------------------------------------------------------


def test_an_import_with_an_idempotency_key_is_done_once_for_that_file(log: Log) -> None:
    first = log.load(EXAMPLE.read_bytes(), idempotency_key="k1")
    log.load(edited())  # the log moves on; the key still gives the first result
    before = log.count()

    again = log.load(EXAMPLE.read_bytes(), idempotency_key="k1")

    assert (again.repeated, again.events, again.positions) == (True, first.events, first.positions)
    for content in (edited(), b"[parties]\n"):
        with pytest.raises(IdempotencyKeyReused, match="idempotency key 'k1' was used for a "):
            log.load(content, idempotency_key="k1")
    assert log.count() == before


def test_a_key_used_by_a_command_is_not_reused_by_an_import(log: Log) -> None:
    log.load(base_plan())
    meeting = PlanMeeting(
        meeting_id="", title="Extra", start=datetime(2027, 6, 1, 10), track_id="ws"
    )
    log.service.execute(meeting, ALICE, idempotency_key="k1")
    before = log.count()

    with pytest.raises(IdempotencyKeyReused):
        log.load(edit(base_plan(), "areas.trade", {"name": "Trade"}), idempotency_key="k1")
    assert log.count() == before


def test_the_cli_refuses_an_idempotency_key_used_for_another_file(
    cli: Callable[..., Result], log: Log, tmp_path: Path
) -> None:
    path = write(tmp_path, EXAMPLE.read_bytes())
    key = ("--idempotency-key", "k1")
    first = cli("plan", "import", path, *key)
    assert first.code == 0

    again = cli("plan", "import", path, *key)
    assert (again.code, again.err) == (0, "")
    assert again.out.splitlines()[0] == (
        "already imported with this idempotency key: appended 101 events:"
    )
    other = cli("plan", "import", write(tmp_path, edited(), "edited.toml"), *key)
    assert (other.code, other.out) == (3, "")
    assert other.err == "error: idempotency key 'k1' was used for a different command\n"
    assert log.count() == EXAMPLE_TOTAL
