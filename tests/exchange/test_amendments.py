"""A joint track is changed only by the party that added it; the others propose (issue 16,
point 6): amendments travel to the track's creator, who accepts or declines them, and both
sides end with the same track and the same amendments."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.exchange.instances import Instance, exchange, introduce, joint_track, parties, send


@pytest.fixture
def joint(tm: Instance, az: Instance, tmp_path: Path) -> tuple[Instance, Instance]:
    """TM-MFA added the joint track t; AZ-MFA has received it."""
    introduce(tm, az)
    joint_track(tm)
    exchange(tm, az, tmp_path)
    return tm, az


def _track(instance: Instance) -> dict[str, object]:
    (row,) = [t for t in instance.json("track", "list") if t["track_id"] == "t"]
    return row


def test_the_other_party_proposes_and_the_creator_settles(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    az.rejected(3, "'t' was added by TM-MFA; only TM-MFA changes it; propose it with --propose",
                "track", "amend", "t", "--cadence", "half-year")  # fmt: skip
    first = az.ok("track", "amend", "t", "--cadence", "half-year", "--title", "Half-yearly talks",
                  "--propose", "--reason", "twice a year suits us")  # fmt: skip
    second = az.ok("track", "retire", "t", "--on", "2027-12-31", "--propose",
                   "--reason", "the programme ends")  # fmt: skip
    assert (first, second) == (
        "t: amendment AZ-MFA-1 proposed\n",
        "t: amendment AZ-MFA-2 proposed\n",
    )
    az.rejected(3, "'t' was added by TM-MFA; only TM-MFA changes it; it settles amendments",
                "track", "accept", "t", "AZ-MFA-1")  # fmt: skip
    assert _track(az)["cadence"] == "year"  # proposed, not changed
    exchange(az, tm, tmp_path)
    (tm_status,) = tm.json("sync", "status")
    (az_status,) = az.json("sync", "status")
    assert (tm_status["proposals_awaiting_here"], tm_status["proposals_awaiting_there"]) == (2, 0)
    assert (az_status["proposals_awaiting_here"], az_status["proposals_awaiting_there"]) == (0, 2)

    listed = tm.json("track", "amendments", "t")
    assert [(a["amendment_id"], a["proposer"], a["status"], a["changes"], a["retire_on"])
            for a in listed] == [
        ("AZ-MFA-1", "AZ-MFA", "open", {"title": "Half-yearly talks", "cadence": "half-year"},
         None),
        ("AZ-MFA-2", "AZ-MFA", "open", {}, "2027-12-31"),
    ]  # fmt: skip
    tm.ok("track", "accept", "t", "AZ-MFA-1")
    tm.ok("track", "decline", "t", "AZ-MFA-2", "--reason", "we go on")
    tm.rejected(3, "amendment: 'AZ-MFA-2' was declined already",
                "track", "accept", "t", "AZ-MFA-2")  # fmt: skip
    tm.rejected(4, "no amendment 'AZ-MFA-9'", "track", "accept", "t", "AZ-MFA-9")
    exchange(tm, az, tmp_path)

    for instance in (tm, az):
        track = _track(instance)
        assert (track["title"], track["cadence"], track["retired_on"]) == (
            "Half-yearly talks", "half-year", None,
        )  # fmt: skip
        settled = {a["amendment_id"]: (a["status"], a["decision_reason"])
                   for a in instance.json("track", "amendments")}  # fmt: skip
        assert settled == {"AZ-MFA-1": ("accepted", None), "AZ-MFA-2": ("declined", "we go on")}
    listed = tm.json("track", "amendments")
    assert tm("projections", "rebuild").code == 0  # the rows come from the log alone
    assert tm.json("track", "amendments") == listed
    history = tm.json("track", "show", "t")["history"]
    assert history[-1]["reason"] == ("accepted amendment AZ-MFA-1 of AZ-MFA: twice a year suits us")


def test_what_cannot_be_proposed_is_refused_with_nothing_written(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    tm.rejected(3, "'t' was added here: change it directly, without --propose",
                "track", "amend", "t", "--cadence", "month", "--propose", "--reason", "x")  # fmt: skip
    az.rejected(2, "reason: give --reason with --propose",
                "track", "amend", "t", "--cadence", "month", "--propose")  # fmt: skip
    az.rejected(2, "track: 't' has these values already",
                "track", "amend", "t", "--cadence", "year", "--propose", "--reason", "x")  # fmt: skip
    az.rejected(2, "reminders: each instance sets its own; they are not proposed",
                "track", "amend", "t", "--reminders", "P1D", "--propose", "--reason", "x")  # fmt: skip
    az.rejected(2, "on: 2025-01-01 is before the track's start",
                "track", "retire", "t", "--on", "2025-01-01", "--propose", "--reason", "x")  # fmt: skip
    az.rejected(4, "no party 'KZ-MFA'", "track", "amend", "t", "--party", "TM-MFA",
                "--party", "KZ-MFA", "--propose", "--reason", "x")  # fmt: skip
    az.rejected(4, "no track 'nope'", "track", "amend", "nope", "--title", "x", "--propose",
                "--reason", "x")  # fmt: skip
    assert tm.json("track", "amendments") == az.json("track", "amendments") == []


def test_without_an_identity_there_is_nobody_to_propose_to(tm: Instance) -> None:
    joint_track(tm)
    tm.rejected(3, "identity: run `identity init --party P` before proposing",
                "track", "amend", "t", "--title", "x", "--propose", "--reason", "x")  # fmt: skip
    tm.ok("track", "amend", "t", "--title", "Renamed")  # every track is this instance's


def test_an_amendment_accepted_after_the_track_changed_is_checked_again(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    az.ok("track", "retire", "t", "--on", "2027-06-30", "--propose", "--reason", "ends")
    exchange(az, tm, tmp_path)
    tm.ok("track", "retire", "t", "--on", "2027-03-31")
    before = tm.events()
    tm.rejected(3, "track 't' was already retired on 2027-03-31",
                "track", "accept", "t", "AZ-MFA-1")  # fmt: skip
    assert tm.events() == before
    tm.ok("track", "decline", "t", "AZ-MFA-1", "--reason", "retired already")


def test_changes_that_leave_a_party_out_never_block_the_exchange(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    # The creator hands its own ad-hoc meeting over and leaves a track of its own.
    tm.ok("meeting", "plan", "--id", "dinner", "--title", "Dinner", "--tz", "Asia/Baku",
          "--start", "2027-03-11 19:00", "--participants", "TM-MFA,AZ-MFA")  # fmt: skip
    tm.ok("track", "add", "solo", "--title", "Solo", "--kind", "review", "--cadence", "year",
          "--start", "2026-01-01", "--party", "TM-MFA", "--party", "AZ-MFA")  # fmt: skip
    exchange(tm, az, tmp_path)
    tm.ok("meeting", "amend", "dinner", "--host", "AZ-MFA", "--participants", "AZ-MFA")
    tm.ok("track", "amend", "solo", "--party", "AZ-MFA")
    exchange(tm, az, tmp_path)
    assert az.json("meeting", "show", "dinner")["meeting"]["participants"] == ["AZ-MFA"]
    # AZ-MFA proposes while TM-MFA takes it off the track: the proposal crosses the change.
    az.ok("track", "amend", "t", "--title", "Renamed", "--propose", "--reason", "clearer")
    tm.ok("track", "amend", "t", "--party", "TM-MFA")
    send(tm, az, tmp_path / "tm.bundle")
    az.ok("sync", "import", str(tmp_path / "tm.bundle"))  # nothing more of t
    send(az, tm, tmp_path / "az.bundle")
    result = tm("sync", "import", str(tmp_path / "az.bundle"))
    assert result.code == 0, result
    assert "amendment AZ-MFA-1 is of track t, not one shared with AZ-MFA" in result.err
    assert tm.json("track", "amendments") == []
    # And the exchange goes on.
    parties(az, "AZ-MFA")
    az.ok("meeting", "plan", "--id", "later", "--title", "Later", "--tz", "Asia/Baku",
          "--start", "2027-05-11 10:00", "--participants", "TM-MFA,AZ-MFA")  # fmt: skip
    send(az, tm, tmp_path / "next.bundle")
    tm.ok("sync", "import", str(tmp_path / "next.bundle"))
    assert tm.json("meeting", "show", "later")["meeting"]["title"] == "Later"


def test_commands_around_amendments_say_what_is_wrong(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    az.rejected(2, "track: propose new values of its fields, a day to retire it, or both",
                "track", "amend", "t", "--propose", "--reason", "x")  # fmt: skip
    # Repeating a proposal with its idempotency key proposes nothing more.
    key = ("--idempotency-key", "k1")
    first = az.ok("track", "amend", "t", "--title", "T2", "--propose", "--reason", "x", *key)
    assert az.ok("track", "amend", "t", "--title", "T2", "--propose", "--reason", "x", *key) == (
        first
    )
    exchange(az, tm, tmp_path)
    joint_track(tm, "other")
    tm.rejected(4, "track: no track 'nope'", "track", "accept", "nope", "AZ-MFA-1")
    tm.rejected(2, "amendment: 'AZ-MFA-1' is of track 't', not 'other'",
                "track", "accept", "other", "AZ-MFA-1")  # fmt: skip
    assert [a["status"] for a in tm.json("track", "amendments")] == ["open"]


def test_a_plan_file_unchanged_or_with_reminders_only_imports_on_either_side(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    _, az = joint
    parties(az, "AZ-MFA")
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[tracks.t]\ntitle = "Talks t"\nkind = "consultation"\ncadence = "year"\n'
        'start = 2026-01-01\ntz = "Asia/Ashgabat"\nparties = ["TM-MFA", "AZ-MFA"]\n'
        'reminders = ["P3D"]\n'
    )
    az.ok("plan", "import", str(plan))  # this instance's own reminders of TM-MFA's track
    assert [row["reminders"] for row in az.json("track", "list")] == [["P3D"]]
    assert az.ok("track", "amend", "t", "--title", "Talks t") == "t: nothing changed\n"
    plan.write_text(plan.read_text().replace('"Talks t"', '"Renamed"'))
    before = az.events()
    result = az("plan", "import", str(plan))
    assert result.code == 3, result
    assert "error: tracks.t: 't' was added by TM-MFA; only TM-MFA changes it" in result.err
    assert az.events() == before


def test_what_was_kept_out_is_applied_once_it_is_shared_again(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    parties(az, "AZ-MFA")
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Past",
          "--start", "2026-05-14 10:00")  # fmt: skip
    tm.ok("meeting", "plan", "--track", "t", "--id", "m2", "--title", "Next",
          "--start", "2027-05-14 10:00")  # fmt: skip
    exchange(tm, az, tmp_path)
    # TM-MFA takes AZ-MFA off the track while AZ-MFA records, proposes and amends.
    tm.ok("track", "amend", "t", "--party", "TM-MFA")
    az.ok("meeting", "held", "m1", "--attendance", "AZ-MFA,TM-MFA", "--outcome", "Agreed")
    az.ok("meeting", "propose", "m2", "--start", "2027-05-15 10:00", "--reason", "later")
    az.ok("track", "amend", "t", "--priority", "high", "--propose", "--reason", "r")
    send(az, tm, tmp_path / "az-1.bundle")
    result = tm("sync", "import", str(tmp_path / "az-1.bundle"))
    assert (result.code, result.err.count("is kept in the bundle only")) == (0, 3), result
    # TM-MFA adds AZ-MFA again; the next exchange applies what was kept out.
    tm.ok("track", "amend", "t", "--party", "TM-MFA", "--party", "AZ-MFA")
    send(tm, az, tmp_path / "tm-1.bundle")
    az.ok("sync", "import", str(tmp_path / "tm-1.bundle"))
    send(az, tm, tmp_path / "az-2.bundle")
    shown = tm.ok("sync", "import", str(tmp_path / "az-2.bundle"))
    assert "amendment-AZ-MFA-1, kept in a bundle before, is applied now" in shown
    assert [m["party_id"] for m in tm.json("meeting", "show", "m1")["minutes"]] == ["AZ-MFA"]
    tm.ok("meeting", "accept", "m2", "AZ-MFA-1")
    tm.ok("track", "accept", "t", "AZ-MFA-1")
    exchange(tm, az, tmp_path)
    for instance in (tm, az):
        assert [p["status"] for p in instance.json("meeting", "proposals")] == ["accepted"]
        assert [a["status"] for a in instance.json("track", "amendments")] == ["accepted"]
    assert tm.ok("events", "verify").startswith("ok")
    assert tm("projections", "rebuild").code == 0
    assert [m["party_id"] for m in tm.json("meeting", "show", "m1")["minutes"]] == ["AZ-MFA"]
