"""Working calendars from the command line, on the real `holidays` data.

Countries and closures of parties; warnings (or, strict, refusals) when planning on a
non-working day, outside office hours or over another meeting; `schedule conflicts`;
`track propose`; the marks in `schedule`, `meeting show` and the HTML report.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from holidays.calendars.gregorian import MAR
from holidays.countries.azerbaijan import AzerbaijanIslamicHolidays
from sqlalchemy.engine import Engine

from consultations.service_layer.working_time import CONFLICT_COLUMNS
from tests.cli.test_write_cli import Session

EXAMPLE = Path(__file__).parents[2] / "examples" / "tm-az-cooperation.toml"
NOVRUZ_AZ = "AZ-MFA: 2027-03-22 is Novruz bayramı, a public holiday"
NOVRUZ_TM = "TM-MFA: 2027-03-22 is Milli bahar baýramy, a public holiday"
CALENDAR_KINDS = {"holiday", "weekend", "closure", "office_hours", "overlap"}


@pytest.fixture
def cal(capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine) -> Session:
    session = Session(capsys, database_url, migrated_engine)
    session.ok(
        "party", "add", "TM-MFA", "--name", "MFA of Turkmenistan", "--tz", "Asia/Ashgabat",
        "--country", "TM",
    )  # fmt: skip
    session.ok(
        "party", "add", "AZ-MFA", "--name", "MFA of Azerbaijan", "--tz", "Asia/Baku",
        "--country", "az",
    )  # fmt: skip
    session.ok(
        "track", "add", "ws", "--title", "Strategy workshop", "--kind", "workshop",
        "--cadence", "half-year", "--start", "2025-01-01", "--party", "AZ-MFA", "--party",
        "TM-MFA", "--tz", "Asia/Baku", "--duration", "PT6H", "--host-rotation", "AZ-MFA,TM-MFA",
    )  # fmt: skip
    return session


def warnings(err: str) -> list[str]:
    return [line.removeprefix("warning: ") for line in err.splitlines()]


def plan(cal: Session, start: str, *extra: str) -> tuple[int, str, list[str]]:
    result = cal("meeting", "plan", "--track", "ws", "--title", "W", "--start", start, *extra)
    return result.code, result.out.strip(), warnings(result.err)


def conflicts(cal: Session, *args: str) -> list[dict[str, object]]:
    return json.loads(cal.ok("schedule", "conflicts", "--format", "json", *args))


# --- parties -----------------------------------------------------------------------------


def test_a_party_has_a_country_that_can_be_amended(cal: Session) -> None:
    listed = json.loads(cal.ok("party", "list", "--format", "json"))
    assert {row["party_id"]: row["country"] for row in listed} == {"AZ-MFA": "AZ", "TM-MFA": "TM"}
    cal.ok("party", "add", "UN", "--name", "UN office", "--tz", "Asia/Tbilisi")
    assert cal.ok("party", "amend", "UN", "--country", "ge") == "UN: amended"
    assert cal.ok("party", "amend", "UN", "--country", "GE") == "UN: nothing changed"
    listed = json.loads(cal.ok("party", "list", "--format", "json"))
    assert [row["country"] for row in listed if row["party_id"] == "UN"] == ["GE"]


def test_a_party_given_a_country_and_no_zone_takes_the_country_s_only_zone(cal: Session) -> None:
    cal.ok("party", "add", "GE-MFA", "--name", "MFA of Georgia", "--country", "ge")
    cal.ok("party", "add", "UN", "--name", "UN office")  # no country: UTC, as before
    listed = json.loads(cal.ok("party", "list", "--format", "json"))
    zones = {row["party_id"]: row["tz"] for row in listed}
    assert (zones["GE-MFA"], zones["UN"]) == ("Asia/Tbilisi", "UTC")
    cal.rejected(
        2, "error: tz: KZ has 7 time zones (Asia/Almaty, Asia/Qyzylorda, Asia/Qostanay, ...); "
        "give --tz", "party", "add",
        "KZ-MFA", "--name", "MFA of Kazakhstan", "--country", "KZ",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("country", "message"),
    [
        ("Turkmenistan", "country: 'Turkmenistan' is not an ISO 3166 country code"),
        ("XX", "country: no public holidays are known for 'XX'"),
    ],
)
def test_a_country_that_is_no_code_is_refused(cal: Session, country: str, message: str) -> None:
    cal.rejected(2, message, "party", "add", "X", "--name", "X", "--country", country)
    cal.rejected(2, message, "party", "amend", "TM-MFA", "--country", country)


def test_closures_are_recorded_listed_and_checked(cal: Session) -> None:
    added = cal.ok(
        "party", "closure", "add", "TM-MFA", "--from", "2027-05-03", "--to", "2027-05-07",
        "--reason", "move to the new building",
    )  # fmt: skip
    assert added == "TM-MFA: closed from 2027-05-03 to 2027-05-07"
    again = cal.ok(
        "party", "closure", "add", "TM-MFA", "--from", "2027-05-03", "--to", "2027-05-07",
        "--reason", "move to the new building",
    )  # fmt: skip
    assert again == "TM-MFA: already closed from 2027-05-03 to 2027-05-07"
    listed = json.loads(cal.ok("party", "closure", "list", "--format", "json"))
    assert listed == [
        {
            "party_id": "TM-MFA", "first_day": "2027-05-03", "last_day": "2027-05-07",
            "reason": "move to the new building",
        }
    ]  # fmt: skip
    assert json.loads(cal.ok("party", "closure", "list", "AZ-MFA", "--format", "json")) == []
    code, _, said = plan(cal, "2027-05-04 10:00")
    assert (code, said) == (0, ["TM-MFA: 2027-05-04 is closed (move to the new building)"])


def test_a_closure_that_ends_before_it_starts_or_names_no_party_is_refused(cal: Session) -> None:
    cal.rejected(
        2, "to: 2027-05-01 is before --from 2027-05-07", "party", "closure", "add", "TM-MFA",
        "--from", "2027-05-07", "--to", "2027-05-01", "--reason", "r",
    )  # fmt: skip
    cal.rejected(
        4, "no party 'TM-MF'", "party", "closure", "add", "TM-MF", "--from", "2027-05-01",
        "--to", "2027-05-07", "--reason", "r",
    )  # fmt: skip


# --- checks when planning -------------------------------------------------------------------


def test_planning_on_novruz_warns_naming_party_date_and_reason(cal: Session) -> None:
    before = cal.events()
    code, meeting_id, said = plan(cal, "2027-03-22 10:00")
    assert (code, meeting_id) == (0, "ws-2027-03-22")
    assert said == [NOVRUZ_AZ, NOVRUZ_TM]  # in the order of the track's parties
    assert cal.events() == before + 1


def test_strict_refuses_with_exit_3_and_writes_nothing(
    cal: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("meeting", "plan", "--track", "ws", "--title", "W", "--start", "2027-03-22 10:00")
    cal.rejected(3, f"error: start: {NOVRUZ_AZ}; {NOVRUZ_TM}", *args, "--strict")
    monkeypatch.setenv("CONSULTATIONS_STRICT", "true")  # the setting does the same
    cal.rejected(3, NOVRUZ_AZ, *args)
    before = cal.events()
    assert warnings(cal(*args, "--no-strict").err) == [NOVRUZ_AZ, NOVRUZ_TM]
    assert cal.events() == before + 1


def test_rescheduling_onto_independence_day_warns_or_with_strict_is_refused(cal: Session) -> None:
    _, meeting_id, said = plan(cal, "2027-09-28 10:00")
    assert said == []
    move = ("meeting", "reschedule", meeting_id, "--start", "2027-09-27 10:00")
    cal.rejected(3, "TM-MFA: 2027-09-27 is Türkmenistanyň Garaşsyzlyk güni", *move, "--strict")
    result = cal(*move)
    assert result.code == 0
    assert warnings(result.err) == [
        "TM-MFA: 2027-09-27 is Türkmenistanyň Garaşsyzlyk güni, a public holiday"
    ]


def test_weekends_office_hours_and_overlaps_warn_too(cal: Session) -> None:
    assert plan(cal, "2027-04-10 10:00")[2] == [
        "AZ-MFA: 2027-04-10 is a Saturday, not a working day",
        "TM-MFA: 2027-04-10 is a Saturday, not a working day",
    ]
    # 17:30 in Baku is 18:30 in Ashgabat.
    assert plan(cal, "2027-04-13 17:30", "--duration", "PT1H")[2] == [
        "AZ-MFA: 17:30–18:30 Asia/Baku on 2027-04-13 is outside its office hours (09:00–18:00)",
        "TM-MFA: 18:30–19:30 Asia/Ashgabat on 2027-04-13 is outside its office hours (09:00–18:00)",
    ]
    _, first, _ = plan(cal, "2027-04-14 09:00", "--duration", "PT2H")
    assert plan(cal, "2027-04-14 10:00", "--duration", "PT2H")[2] == [
        f"AZ-MFA: overlaps meeting {first!r} (2027-04-14 09:00 Asia/Baku)",
        f"TM-MFA: overlaps meeting {first!r} (2027-04-14 09:00 Asia/Baku)",
    ]


def test_a_meeting_of_the_longest_length_is_still_found_to_overlap(cal: Session) -> None:
    _, long, _ = plan(cal, "2027-04-05 09:00", "--duration", "P14D")
    said = plan(cal, "2027-04-16 10:00", "--duration", "PT1H")[2]
    assert f"AZ-MFA: overlaps meeting {long!r} (2027-04-05 09:00 Asia/Baku)" in said
    assert not [line for line in plan(cal, "2027-04-20 10:00")[2] if "overlaps" in line]


def test_the_host_from_the_rotation_is_checked_like_a_participant(cal: Session) -> None:
    # AZ-MFA hosts (first in the rotation) though only TM-MFA is named: 28 May is
    # Azerbaijan's Independence Day.
    code, meeting_id, said = plan(cal, "2027-05-28 10:00", "--participants", "TM-MFA")
    assert code == 0
    assert said == ["AZ-MFA: 2027-05-28 is Müstəqillik Günü, a public holiday"]
    shown = json.loads(cal.ok("meeting", "show", meeting_id, "--format", "json"))["meeting"]
    assert (shown["host"], shown["participants"]) == ("AZ-MFA", ["TM-MFA"])


def test_a_decreed_working_saturday_in_baku_is_still_a_weekend_in_ashgabat(cal: Session) -> None:
    assert plan(cal, "2025-06-21 10:00")[2] == [
        "TM-MFA: 2025-06-21 is a Saturday, not a working day"
    ]
    assert plan(cal, "2025-06-27 10:00")[2] == [
        "AZ-MFA: 2025-06-27 is İstirahət günü (21.06.2025 ilə əvəz edilmişdir), a public holiday"
    ]


def test_amending_participants_checks_them_and_refuses_unknown_parties(cal: Session) -> None:
    cal.ok(
        "party", "add", "DE-AA", "--name", "German FO", "--tz", "Europe/Berlin", "--country", "DE"
    )
    _, meeting_id, _ = plan(cal, "2027-10-05 10:00")  # a Tuesday; 3 October is German Unity Day
    cal.rejected(
        4, "participants: no party 'GHOST3'", "meeting", "amend", meeting_id, "--participants",
        "TM-MFA,GHOST3",
    )  # fmt: skip
    cal.rejected(4, "host: no party 'GHOST'", "meeting", "amend", meeting_id, "--host", "GHOST")
    # 10:00 in Baku is 08:00 in Berlin.
    early = "DE-AA: 08:00–14:00 Europe/Berlin on 2027-10-05 is outside its office hours"
    amend = ("meeting", "amend", meeting_id, "--participants", "TM-MFA,AZ-MFA,DE-AA")
    cal.rejected(3, early, *amend, "--strict")
    result = cal(*amend)
    assert (result.code, result.out.strip()) == (0, f"{meeting_id}: amended")
    assert [line for line in warnings(result.err) if line.startswith("DE-AA")] == [
        early + " (09:00–18:00)"
    ]


def write_plan(tmp_path: Path, meetings: str, country: str = "AZ") -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(
        f"""
[parties.TM-MFA]
name = "MFA of Turkmenistan"
tz = "Asia/Ashgabat"
country = "TM"

[parties.AZ-MFA]
name = "MFA of Azerbaijan"
tz = "Asia/Baku"
country = "{country}"

[tracks.rv]
title = "Review"
kind = "review"
cadence = "year"
start = 2025-01-01
tz = "Asia/Baku"
parties = ["TM-MFA", "AZ-MFA"]
{meetings}
""",
        encoding="utf-8",
    )
    return path


TWO_MEETINGS = """
[meetings.rv-ok]
track = "rv"
title = "On a working day"
start = 2027-04-13T10:00:00

[meetings.rv-novruz]
track = "rv"
title = "On Novruz"
start = 2027-03-22T10:00:00
"""


def test_plan_import_warns_and_strict_refuses_the_whole_import(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    cli = Session(capsys, database_url, migrated_engine)
    path = str(write_plan(tmp_path, TWO_MEETINGS))

    refused = cli("plan", "import", path, "--strict")
    assert refused.code == 3
    assert refused.err.splitlines() == [
        f"error: meetings.rv-novruz: {NOVRUZ_TM}",
        f"error: meetings.rv-novruz: {NOVRUZ_AZ}",
        "error: plan: 2 conflicts with the parties' working calendars; nothing was imported "
        "(--strict)",
    ]
    assert cli.events() == 0

    imported = cli("plan", "import", path)
    assert imported.code == 0
    assert warnings(imported.err) == [
        f"meetings.rv-novruz: {NOVRUZ_TM}",
        f"meetings.rv-novruz: {NOVRUZ_AZ}",
    ]
    assert cli.events() > 0


def test_plan_import_warns_of_overlaps_in_the_plan_and_with_the_log_in_order(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    cli = Session(capsys, database_url, migrated_engine)
    logged = """
[meetings.rv-logged]
track = "rv"
title = "Already planned"
start = 2027-04-14T09:00:00
end = 2027-04-14T17:00:00
participants = ["AZ-MFA"]
"""
    cli.ok("plan", "import", str(write_plan(tmp_path, logged)))
    plan = (
        logged
        + """
[meetings.rv-a]
track = "rv"
title = "Late morning"
start = 2027-04-14T11:00:00
end = 2027-04-14T12:00:00

[meetings.rv-b]
track = "rv"
title = "Over the one before"
start = 2027-04-14T11:30:00
end = 2027-04-14T13:00:00

[meetings.rv-c]
track = "rv"
title = "The next day"
start = 2027-04-15T11:00:00
end = 2027-04-15T12:00:00
"""
    )
    imported = cli("plan", "import", str(write_plan(tmp_path, plan)))
    assert imported.code == 0
    assert warnings(imported.err) == [
        "meetings.rv-a: AZ-MFA: overlaps meeting 'rv-logged' (2027-04-14 09:00 Asia/Baku)",
        "meetings.rv-a: AZ-MFA: overlaps meeting 'rv-b' (2027-04-14 11:30 Asia/Baku)",
        "meetings.rv-a: TM-MFA: overlaps meeting 'rv-b' (2027-04-14 11:30 Asia/Baku)",
        "meetings.rv-b: AZ-MFA: overlaps meeting 'rv-logged' (2027-04-14 09:00 Asia/Baku)",
        "meetings.rv-b: AZ-MFA: overlaps meeting 'rv-a' (2027-04-14 11:00 Asia/Baku)",
        "meetings.rv-b: TM-MFA: overlaps meeting 'rv-a' (2027-04-14 11:00 Asia/Baku)",
    ]


def test_plan_import_checks_the_participants_it_gives_an_existing_meeting(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    cli = Session(capsys, database_url, migrated_engine)
    one = """
[meetings.rv-ok]
track = "rv"
title = "On a working day in Baku"
start = 2027-10-06T10:00:00
participants = ["AZ-MFA"]
"""
    cli.ok("plan", "import", str(write_plan(tmp_path, one)))
    before = cli.events()
    ghost = write_plan(tmp_path, one.replace('["AZ-MFA"]', '["TM-MFA", "GHOST2"]'))
    refused = cli("plan", "import", str(ghost))
    assert refused.code == 2  # as for a new meeting naming that party
    assert "meetings.rv-ok.participants: no party 'GHOST2'" in refused.err
    assert cli.events() == before
    # 6 October is a working day in Baku, a public holiday in Ashgabat.
    joined = write_plan(tmp_path, one.replace('["AZ-MFA"]', '["TM-MFA", "AZ-MFA"]'))
    imported = cli("plan", "import", str(joined))
    assert imported.code == 0
    assert warnings(imported.err) == [
        "meetings.rv-ok: TM-MFA: 2027-10-06 is Hatyra güni, a public holiday"
    ]
    assert cli.events() == before + 1


def test_plan_import_refuses_a_country_without_public_holidays(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    cli = Session(capsys, database_url, migrated_engine)
    result = cli("plan", "import", str(write_plan(tmp_path, "", country="XX")))
    assert result.code == 2
    assert result.err.splitlines()[0].startswith(
        "error: parties.AZ-MFA.country: no public holidays are known for 'XX'"
    )
    assert cli.events() == 0


def test_plan_import_sets_the_country_of_a_party_registered_without_one(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    cli = Session(capsys, database_url, migrated_engine)
    cli.ok("party", "add", "AZ-MFA", "--name", "MFA of Azerbaijan", "--tz", "Asia/Baku")
    imported = cli.ok("plan", "import", str(write_plan(tmp_path, "")))
    assert "parties.AZ-MFA\n  country: (none) -> AZ" in imported
    listed = json.loads(cli.ok("party", "list", "--format", "json"))
    assert {row["party_id"]: row["country"] for row in listed} == {"AZ-MFA": "AZ", "TM-MFA": "TM"}


# --- schedule conflicts -------------------------------------------------------------------------


def test_schedule_conflicts_lists_each_reason_in_table_json_and_csv(cal: Session) -> None:
    plan(cal, "2027-03-09 10:00")  # Ramazan bayramı / Oraza baýramy, both estimated
    plan(cal, "2027-04-14 09:00", "--id", "first", "--duration", "PT2H")
    plan(cal, "2027-04-14 10:00", "--id", "second", "--duration", "PT2H")
    plan(cal, "2024-12-19 10:00", "--id", "early")  # before the track's first window
    plan(cal, "2025-02-11 10:00", "--id", "past")  # nobody recorded it

    rows = conflicts(cal)
    kinds = {(row["meeting_id"], row["party"], row["conflict"]) for row in rows}
    assert kinds == {
        ("early", None, "outside_window"),
        ("early", None, "awaiting_record"),
        ("past", None, "awaiting_record"),
        ("ws-2027-03-09", "TM-MFA", "holiday"),
        ("ws-2027-03-09", "AZ-MFA", "holiday"),
        ("first", "TM-MFA", "overlap"),
        ("first", "AZ-MFA", "overlap"),
        ("second", "TM-MFA", "overlap"),
        ("second", "AZ-MFA", "overlap"),
    }
    holiday = [row for row in rows if row["conflict"] == "holiday"]
    assert all(row["estimated"] for row in holiday)
    assert holiday[0]["reason"] == (
        "AZ-MFA: 2027-03-09 is Ramazan bayrami (təxmini), a public holiday (its date is estimated)"
    )
    assert [row["other_meeting"] for row in rows if row["meeting_id"] == "first"] == [
        "second", "second"
    ]  # fmt: skip
    assert [row["meeting_id"] for row in conflicts(cal, "--from", "2027-01-01")] == [
        "ws-2027-03-09", "ws-2027-03-09", "first", "first", "second", "second"
    ]  # fmt: skip

    table = cal.ok("schedule", "conflicts", "--from", "2027-01-01", "--to", "2027-03-31")
    assert "ws-2027-03-09" in table
    assert "first" not in table
    assert max(len(line) for line in table.splitlines()) <= 80
    parsed = list(csv.reader(io.StringIO(cal.ok("schedule", "conflicts", "--format", "csv"))))
    assert tuple(parsed[0]) == CONFLICT_COLUMNS
    assert len(parsed) == len(rows) + 1
    cal.rejected(2, "--to", "schedule", "conflicts", "--from", "2027-02-01", "--to", "2027-01-01")
    cal.rejected(2, "--from: give the options", "schedule", "--from", "2027-01-01", "conflicts")


def test_schedule_conflicts_lists_a_meeting_after_its_track_retired(cal: Session) -> None:
    plan(cal, "2027-05-25 10:00", "--id", "after")
    plan(cal, "2027-02-23 10:00", "--id", "before")
    assert conflicts(cal) == []
    cal.ok("track", "retire", "ws", "--on", "2027-03-01")
    rows = conflicts(cal)
    assert [(row["meeting_id"], row["conflict"], row["reason"]) for row in rows] == [
        (
            "after",
            "outside_window",
            "track 'ws': 2027-05-25 is after the track retired on 2027-03-01",
        )
    ]


def test_an_estimated_date_fixed_by_a_later_holidays_release_shows_up_on_rerun(
    cal: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan(cal, "2027-03-09 10:00", "--id", "on-the-estimate")
    plan(cal, "2027-03-11 10:00", "--id", "two-days-later")
    before = {(r["meeting_id"], r["party"]): r["estimated"] for r in conflicts(cal)}
    assert before == {("on-the-estimate", "AZ-MFA"): True, ("on-the-estimate", "TM-MFA"): True}

    # What a later release of the holidays data does when Azerbaijan announces the date:
    # the year's Eid al-Fitr becomes a confirmed date (here 11 March, for the test).
    confirmed = AzerbaijanIslamicHolidays.EID_AL_FITR_DATES_CUSTOM_CALENDAR  # type: ignore[attr-defined]
    monkeypatch.setattr(
        AzerbaijanIslamicHolidays,
        "EID_AL_FITR_DATES_CUSTOM_CALENDAR",
        {**confirmed, 2027: (MAR, 11)},
    )

    after = {(r["meeting_id"], r["party"]): r for r in conflicts(cal)}
    assert set(after) == {("on-the-estimate", "TM-MFA"), ("two-days-later", "AZ-MFA")}
    fixed = after["two-days-later", "AZ-MFA"]
    assert fixed["reason"] == "AZ-MFA: 2027-03-11 is Ramazan bayrami, a public holiday"
    assert fixed["estimated"] is False


# --- track propose ------------------------------------------------------------------------------


def proposals(cal: Session, *args: str) -> list[dict[str, object]]:
    return json.loads(cal.ok("track", "propose", "ws", "--format", "json", *args))


def test_track_propose_gives_slots_with_reasons_as_json_and_a_table(cal: Session) -> None:
    cal.ok(
        "meeting", "plan", "--track", "ws", "--title", "H1", "--start", "2027-04-13 10:00",
        "--id", "ws-h1",
    )  # fmt: skip
    rows = proposals(cal, "--window", "2027-H2")
    assert len(rows) == 3
    assert {row["window"] for row in rows} == {"2027-H2"}
    assert {row["tz"] for row in rows} == {"Asia/Baku"}
    assert {row["host"] for row in rows} == {"TM-MFA"}  # after AZ-MFA, which hosts ws-h1
    # About six months after 13 April: 14 October, a Thursday, then the days around it.
    assert [row["start_local"] for row in rows] == [
        "2027-10-14T09:00:00", "2027-10-13T09:00:00", "2027-10-15T09:00:00"
    ]  # fmt: skip
    assert rows[0]["end_local"] == "2027-10-14T15:00:00"
    assert "184 days after ws-h1 (2027-04-13)" in rows[0]["reasons"]
    table = cal.ok("track", "propose", "ws", "--window", "2027-H2", "--count", "2")
    assert "2027-10-14 09:00" in table
    assert max(len(line) for line in table.splitlines()) <= 80


def test_track_propose_as_toml_is_a_plan_file_that_imports_without_a_warning(
    cal: Session, tmp_path: Path
) -> None:
    entries = cal.ok("track", "propose", "ws", "--window", "2027-H1", "--format", "toml")
    path = tmp_path / "proposed.toml"
    path.write_text(entries + "\n", encoding="utf-8")
    before = cal.events()

    imported = cal("plan", "import", str(path))

    assert (imported.code, imported.err) == (0, ""), imported
    assert "appended 3 events: 3 MeetingPlanned" in imported.out
    assert cal.events() == before + 3
    new = [row for row in conflicts(cal) if row["conflict"] in CALENDAR_KINDS]
    assert new == []


def test_track_propose_plan_plans_the_best_slot(cal: Session) -> None:
    best = proposals(cal, "--window", "2027-H1", "--count", "1")[0]
    before = cal.events()
    meeting_id = cal.ok("track", "propose", "ws", "--window", "2027-H1", "--plan")
    assert cal.events() == before + 1
    shown = json.loads(cal.ok("meeting", "show", meeting_id, "--format", "json"))["meeting"]
    assert (shown["start"], shown["end"], shown["host"]) == (
        best["start_local"],
        best["end_local"],
        best["host"],
    )
    assert shown["title"] == "Strategy workshop (2027-H1)"


def test_track_propose_plan_with_an_idempotency_key_plans_once(cal: Session) -> None:
    args = ("track", "propose", "ws", "--window", "2027-H1", "--plan", "--idempotency-key", "k1")
    before = cal.events()
    first = cal.ok(*args)
    assert cal.events() == before + 1
    assert cal.ok(*args) == first  # the first result again, though the best slot moved on
    assert cal.events() == before + 1
    cal.rejected(
        3, "idempotency key 'k1' was used for a different command", "track", "propose", "ws",
        "--window", "2027-H2", "--plan", "--idempotency-key", "k1",
    )  # fmt: skip


def test_track_propose_says_why_there_is_no_slot_and_plans_nothing(cal: Session) -> None:
    cal.ok("track", "amend", "ws", "--duration", "PT10H")  # longer than office hours
    result = cal("track", "propose", "ws", "--window", "2027-H1")
    assert result.code == 0
    assert result.out.startswith("no slot: window 2027-H1: no day from 2027-01-01 to 2027-06-30")
    assert "shared office hours are shorter than the meeting" in result.out
    as_json = cal("track", "propose", "ws", "--window", "2027-H1", "--format", "json")
    assert (as_json.out, as_json.err) == ("[]\n", result.out)
    cal.rejected(
        3, "window: no slot to plan", "track", "propose", "ws", "--window", "2027-H1", "--plan"
    )
    cal.rejected(
        2,
        "window: track 'ws' has no window '2027-H3'",
        "track",
        "propose",
        "ws",
        "--window",
        "2027-H3",
    )
    cal.rejected(4, "no track 'wz'", "track", "propose", "wz")


# --- marks ----------------------------------------------------------------------------------------


def test_schedule_meeting_show_and_the_html_report_mark_non_working_days(
    cal: Session, tmp_path: Path
) -> None:
    plan(cal, "2027-03-22 10:00", "--id", "novruz")
    plan(cal, "2027-04-13 10:00", "--id", "tuesday")

    rows = json.loads(cal.ok("schedule", "--all", "--format", "json"))
    assert {row["meeting_id"]: row["non_working"] for row in rows} == {
        "novruz": [NOVRUZ_AZ, NOVRUZ_TM],
        "tuesday": [],
    }
    shown = cal.ok("meeting", "show", "novruz")
    assert f"non-working     - {NOVRUZ_AZ}" in shown
    assert "non-working" not in cal.ok("meeting", "show", "tuesday")
    html = tmp_path / "report.html"
    cal.ok("report", "compliance", "--format", "html", "--to", "2027-06-30", "-o", str(html))
    page = html.read_text(encoding="utf-8")
    items = page.split('<li data-meeting="')[1:]  # the forward look and the track's table
    marked = {item.split('"')[0]: 'class="day-off"' in item for item in items}
    assert marked == {"novruz": True, "tuesday": False}
    assert f"non-working day: {NOVRUZ_AZ}; {NOVRUZ_TM}" in page


def test_schedule_keeps_long_ids_whole_beside_a_meeting_awaiting_record(
    cal: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    cal.ok(
        "track", "add", "strategy-workshop", "--title", "Workshop", "--kind", "workshop",
        "--cadence", "half-year", "--start", "2025-01-01", "--party", "AZ-MFA",
    )  # fmt: skip
    long_id = cal.ok(
        "meeting", "plan", "--track", "strategy-workshop", "--title", "Strategy workshop on "
        "energy corridors", "--start", "2027-04-13 10:00", "--venue", "Baku, Ministry",
    )  # fmt: skip
    plan(cal, "2025-02-11 10:00", "--id", "past")  # nobody recorded it
    table = cal.ok("schedule", "--all")
    assert long_id == "strategy-workshop-2027-04-13"
    assert any(long_id in line for line in table.splitlines())
    assert "awaiting record" in table
    assert max(len(line) for line in table.splitlines()) <= 80


# --- the example plan ---------------------------------------------------------------------------


@pytest.fixture
def example(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine
) -> Iterator[tuple[Session, str]]:
    cli = Session(capsys, database_url, migrated_engine)
    result = cli("plan", "import", str(EXAMPLE))
    return cli, result.err


def test_the_example_plan_plans_every_meeting_on_working_days(
    example: tuple[Session, str],
) -> None:
    cli, imported = example
    assert imported == ""  # no warning
    left = conflicts(cli)
    assert {row["conflict"] for row in left} <= {"awaiting_record"}
    everything = json.loads(cli.ok("schedule", "--all", "--format", "json"))
    # Of the held meetings too, only the 2025 Days of Azerbaijani culture in Ashgabat, a
    # three-day festival over Azerbaijan's Independence Day (28 May), fall on a day off.
    assert [row["meeting_id"] for row in everything if row["non_working"]] == ["cx-2025-spring"]
    parties = json.loads(cli.ok("party", "list", "--format", "json"))
    assert {row["party_id"]: row["country"] for row in parties} == {"AZ-MFA": "AZ", "TM-MFA": "TM"}
