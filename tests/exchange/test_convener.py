"""Who may change what (issue 16, point 6): the convener changes a joint meeting, the others
propose; the party that added a track changes it; crossing changes end the same on both
sides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from consultations.adapters.orm import reminders
from tests.exchange.instances import Instance, exchange, introduce, joint_track


@pytest.fixture
def joint(tm: Instance, az: Instance, tmp_path: Path) -> tuple[Instance, Instance]:
    """TM-MFA convenes meeting m1 of the joint track t; AZ-MFA has received both."""
    introduce(tm, az)
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Talks",
          "--start", "2026-05-14 10:00", "--venue", "Awaza")  # fmt: skip
    exchange(tm, az, tmp_path)
    return tm, az


def _stored_payloads(instance: Instance, event_type: str) -> list[dict[str, object]]:
    query = sa.text("SELECT payload FROM events WHERE event_type = :t ORDER BY position")
    with instance.engine.connect() as connection:
        rows = connection.execute(query, {"t": event_type}).scalars()
        return [row if isinstance(row, dict) else json.loads(row) for row in rows]


def test_the_convener_is_recorded_in_the_first_event_only_with_an_identity(tm: Instance) -> None:
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--id", "before", "--title", "T",
          "--start", "2026-05-14 10:00")  # fmt: skip
    tm.ok("identity", "init", "--party", "TM-MFA")
    tm.ok("meeting", "plan", "--track", "t", "--id", "after", "--title", "T",
          "--start", "2026-06-14 10:00")  # fmt: skip
    before, after = _stored_payloads(tm, "MeetingPlanned")
    assert "convener" not in before  # stored exactly as before the field existed
    assert after["convener"] == "TM-MFA"
    tm.ok("meeting", "reschedule", "before", "--start", "2026-05-15 10:00")  # its own


def test_only_the_convener_changes_a_joint_meeting(joint: tuple[Instance, Instance]) -> None:
    _, az = joint
    refused = "meeting: 'm1' is convened by TM-MFA; use `meeting propose`"
    az.rejected(3, refused, "meeting", "reschedule", "m1", "--start", "2026-05-15 10:00")
    az.rejected(3, refused, "meeting", "cancel", "m1", "--reason", "no")
    # Its `meeting held` records AZ-MFA's own minutes (test_minutes.py), never when it was held.
    az.rejected(3, "'m1' is convened by TM-MFA, which records when and action items",
                "meeting", "held", "m1", "--on", "2026-05-14 10:30")  # fmt: skip
    az.rejected(3, refused, "meeting", "amend", "m1", "--venue", "Baku")
    az.rejected(3, "track: 't' was added by TM-MFA; only TM-MFA changes it",
                "track", "amend", "t", "--title", "Other")  # fmt: skip
    az.rejected(3, "only TM-MFA changes it", "track", "retire", "t", "--on", "2027-01-01")
    # A meeting of TM-MFA's track planned by AZ-MFA is AZ-MFA's.
    az.ok("meeting", "plan", "--track", "t", "--id", "m2", "--title", "Talks",
          "--start", "2026-09-14 10:00")  # fmt: skip
    az.ok("meeting", "reschedule", "m2", "--start", "2026-09-15 10:00")


def test_a_proposal_travels_to_the_convener_who_settles_it(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    tm.rejected(3, "'m1' is convened here", "meeting", "propose", "m1", "--venue", "Baku",
                "--reason", "x")  # fmt: skip
    az.rejected(2, "start: propose a new --start, a new --venue, or both",
                "meeting", "propose", "m1", "--reason", "x")  # fmt: skip
    first = az.ok("meeting", "propose", "m1", "--start", "2026-05-20 10:00", "--venue", "Baku",
                  "--reason", "Awaza is closed").strip()  # fmt: skip
    second = az.ok("meeting", "propose", "m1", "--start", "2026-05-21 10:00",
                   "--reason", "or this").strip()  # fmt: skip
    assert (first, second) == ("AZ-MFA-1", "AZ-MFA-2")
    az.rejected(3, "'m1' is convened by TM-MFA; it settles proposals",
                "meeting", "accept", "m1", first)  # fmt: skip
    exchange(az, tm, tmp_path)
    listed = tm.json("meeting", "proposals", "m1")
    assert [(p["proposal_id"], p["status"], p["start_local"], p["venue"]) for p in listed] == [
        (first, "open", "2026-05-20T10:00:00", "Baku"),
        (second, "open", "2026-05-21T10:00:00", None),
    ]
    tm.ok("meeting", "accept", "m1", first)
    tm.ok("meeting", "decline", "m1", second, "--reason", "one change is enough")
    tm.rejected(3, f"proposal: {second!r} was declined already", "meeting", "accept", "m1", second)
    tm.rejected(4, "no proposal 'AZ-MFA-9'", "meeting", "accept", "m1", "AZ-MFA-9")
    exchange(tm, az, tmp_path)
    for instance in (tm, az):
        shown = instance.json("meeting", "show", "m1")["meeting"]
        assert (shown["start"], shown["venue"]) == ("2026-05-20T10:00:00", "Baku")
        settled = {p["proposal_id"]: (p["status"], p["decision_reason"])
                   for p in instance.json("meeting", "proposals")}  # fmt: skip
        assert settled == {first: ("accepted", None), second: ("declined", "one change is enough")}


def test_changes_that_cross_in_transit_end_the_same_on_both_sides(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    # Both write a bundle before either reads the other's.
    az.ok("meeting", "propose", "m1", "--start", "2026-05-20 10:00", "--reason", "Holiday")
    tm.ok("meeting", "reschedule", "m1", "--start", "2026-05-16 10:00", "--reason", "flights")
    tm.ok("meeting", "amend", "m1", "--venue", "Ashgabat")
    from_tm = tmp_path / "from-tm.bundle"
    from_az = tmp_path / "from-az.bundle"
    tm.ok("sync", "export", "--peer", "AZ-MFA", "-o", str(from_tm))
    az.ok("sync", "export", "--peer", "TM-MFA", "-o", str(from_az))
    az.ok("sync", "import", str(from_tm))
    tm.ok("sync", "import", str(from_az))
    exchange(tm, az, tmp_path)
    views = [(i.json("meeting", "show", "m1")["meeting"], i.json("meeting", "proposals"))
             for i in (tm, az)]  # fmt: skip
    (tm_meeting, tm_proposals), (az_meeting, az_proposals) = views
    assert (tm_meeting["start"], tm_meeting["venue"]) == ("2026-05-16T10:00:00", "Ashgabat")
    assert (az_meeting["start"], az_meeting["venue"]) == ("2026-05-16T10:00:00", "Ashgabat")
    assert [p["status"] for p in tm_proposals] == [p["status"] for p in az_proposals] == ["open"]


def test_a_plan_file_changing_another_partys_meeting_is_refused_as_such(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    _, az = joint
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[meetings.m1]\ntrack = "t"\ntitle = "Talks"\nstart = 2026-05-15T10:00:00\n'
        'tz = "Asia/Ashgabat"\n'
    )
    before = az.events()
    result = az("plan", "import", str(plan))
    assert result.code == 3, result  # a rule refuses it: not a mistake in the file
    assert "meetings.m1: 'm1' is convened by TM-MFA; use `meeting propose`" in result.err
    assert result.err.splitlines()[-1] == "error: plan: 1 problem(s); nothing was imported"
    # A mistake in the file beside it makes it a file with problems (exit 2).
    plan.write_text(plan.read_text() + '\n[meetings.m9]\ntrack = "t"\ntitle = ""\n')
    result = az("plan", "import", str(plan))
    assert result.code == 2, result
    assert "is convened by TM-MFA" in result.err
    assert az.events() == before


def test_each_side_sets_its_own_reminders_and_keeps_them(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    tm.ok("track", "amend", "t", "--reminders", "P14D")
    exchange(tm, az, tmp_path)
    assert _reminders(az) == []  # reminder offsets are never sent
    sent_before = az.json("sync", "status")[0]["sent"]
    az.ok("track", "amend", "t", "--reminders", "P7D,P1D")  # its own, on TM-MFA's track
    assert _reminders(az) == ["P1D", "P7D"]
    az.ok("meeting", "amend", "m1", "--reminders", "P2D")  # and on TM-MFA's meeting
    assert _reminders(az) == ["P2D"]
    az.rejected(3, "convened by TM-MFA", "meeting", "amend", "m1", "--reminders", "P2D",
                "--venue", "Baku")  # fmt: skip
    az.rejected(3, "only TM-MFA changes it", "track", "amend", "t", "--reminders", "P3D",
                "--title", "Other")  # fmt: skip
    exchange(az, tm, tmp_path)
    assert az.json("sync", "status")[0]["sent"] == sent_before  # nothing of it was sent
    assert _reminders(tm) == ["P14D"]
    assert [row["reminders"] for row in tm.json("track", "list")] == [["P14D"]]


def _reminders(instance: Instance) -> list[str]:
    query = sa.select(reminders.c.offset).where(reminders.c.meeting_id == "m1")
    with instance.engine.connect() as connection:
        return sorted(connection.execute(query).scalars())
