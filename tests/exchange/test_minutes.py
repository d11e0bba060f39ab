"""Each side records its own attendance and outcomes of a held meeting (issue 16, point 6).

On the instance of a party that does not convene a meeting, `meeting held` records that
party's own minutes; the convener's `meeting held` stays the one record of the meeting held
(when, its action items), the only one compliance counts. Both travel in bundles.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consultations.bootstrap import bootstrap
from consultations.domain.commands import RecordMinutes
from consultations.domain.errors import NotAllowed
from consultations.service_layer.services import Provenance
from consultations.settings import Settings
from tests.exchange.instances import Instance, exchange, introduce, joint_track, parties

OUTCOMES = ("--outcome", "Road map agreed in substance", "--outcome", "AZ-MFA drafts chapter 3")


@pytest.fixture
def joint(tm: Instance, az: Instance, tmp_path: Path) -> tuple[Instance, Instance]:
    """TM-MFA convenes m1 (past) and m2 of the joint track t; AZ-MFA has received them."""
    introduce(tm, az)
    joint_track(tm)
    for meeting_id, start in (("m1", "2026-05-14 10:00"), ("m2", "2026-06-14 10:00")):
        tm.ok("meeting", "plan", "--track", "t", "--id", meeting_id, "--title", "Talks",
              "--start", start, "--venue", "Awaza")  # fmt: skip
    exchange(tm, az, tmp_path)
    parties(az, "AZ-MFA")
    return tm, az


def test_the_non_convener_records_its_own_minutes_once(joint: tuple[Instance, Instance]) -> None:
    _, az = joint
    before = az.events()
    out = az.ok("meeting", "held", "m1", "--attendance", "AZ-MFA,TM-MFA", *OUTCOMES)
    assert out == "m1: minutes of AZ-MFA recorded\n"
    assert az.events() == before + 1
    (row,) = az.json("meeting", "show", "m1")["minutes"]
    assert (row["party_id"], row["attendance"], row["outcomes"]) == (
        "AZ-MFA", ["AZ-MFA", "TM-MFA"], ["Road map agreed in substance", "AZ-MFA drafts chapter 3"],
    )  # fmt: skip
    # Its own record, beside the meeting: the meeting is held only once its convener says so.
    assert az.json("meeting", "show", "m1")["meeting"]["status"] == "planned"
    az.rejected(3, "meeting: AZ-MFA's minutes of 'm1' were recorded already",
                "meeting", "held", "m1", "--outcome", "again")  # fmt: skip


@pytest.mark.parametrize(
    "option",
    [("--on", "2026-05-14 10:30"), ("--end", "2026-05-14 12:00"), ("--fold", "0"),
     ("--action", "Draft the report|AZ-MFA|2026-07-01")],
)  # fmt: skip
def test_when_it_took_place_and_its_action_items_are_the_conveners(
    joint: tuple[Instance, Instance], option: tuple[str, str]
) -> None:
    _, az = joint
    az.rejected(
        3,
        "meeting: 'm1' is convened by TM-MFA, which records when and action items; give only "
        "--attendance, --outcome",
        "meeting", "held", "m1", "--attendance", "AZ-MFA", *option,
    )  # fmt: skip


def test_bad_minutes_are_refused_writing_nothing(
    joint: tuple[Instance, Instance], tmp_path: Path
) -> None:
    tm, az = joint
    az.rejected(2, "attendance: give the parties present (--attendance), an --outcome, or both",
                "meeting", "held", "m1")  # fmt: skip
    az.rejected(2, "attendance: 'AZ-MFA' is listed twice",
                "meeting", "held", "m1", "--attendance", "AZ-MFA,AZ-MFA")  # fmt: skip
    az.rejected(2, "outcome: must not be empty", "meeting", "held", "m1", "--outcome", " ")
    az.rejected(4, "attendance: no party 'UZ-MFA'",
                "meeting", "held", "m1", "--attendance", "UZ-MFA")  # fmt: skip
    az.rejected(4, "no meeting 'm9'", "meeting", "held", "m9", "--attendance", "AZ-MFA")
    tm.ok("meeting", "cancel", "m2", "--reason", "postponed")
    tm.ok("meeting", "plan", "--track", "t", "--id", "later", "--title", "Talks",
          "--start", "2099-05-14 10:00")  # fmt: skip
    exchange(tm, az, tmp_path)
    az.rejected(3, "id: meeting 'm2' is cancelled; it cannot be minuted",
                "meeting", "held", "m2", "--attendance", "AZ-MFA")  # fmt: skip
    # The rule of a meeting recorded held, and its message.
    future = "on: 2099-05-14 10:00:00 (Asia/Ashgabat) is more than a day in the future"
    az.rejected(2, future, "meeting", "held", "later", "--attendance", "AZ-MFA")
    tm.rejected(2, future, "meeting", "held", "later")


def test_the_convener_records_the_meeting_held_as_before(joint: tuple[Instance, Instance]) -> None:
    tm, _ = joint
    assert tm.ok("meeting", "held", "m1", "--attendance", "TM-MFA,AZ-MFA", *OUTCOMES,
                 "--action", "Draft the report|TM-MFA|2026-07-01") == "m1: held\n"  # fmt: skip
    shown = tm.json("meeting", "show", "m1")
    assert (shown["meeting"]["status"], shown["minutes"]) == ("held", [])


def test_without_an_identity_meeting_held_is_as_before(tm: Instance) -> None:
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    app = bootstrap(Settings.load(tm.url, environ={}))
    try:
        command = RecordMinutes(meeting_id="m1", party="TM-MFA", attendance=("TM-MFA",))
        with pytest.raises(NotAllowed, match="identity: run `identity init --party P` before"):
            app.commands.execute(command, Provenance(actor="test"))
    finally:
        app.close()
    assert tm.ok("meeting", "held", "m1", "--on", "2026-05-14 10:30", *OUTCOMES) == "m1: held\n"


def test_both_sides_end_with_both_records(
    joint: tuple[Instance, Instance], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tm, az = joint
    monkeypatch.setenv("COLUMNS", "80")
    az.ok("meeting", "held", "m1", "--attendance", "AZ-MFA,TM-MFA", *OUTCOMES)
    exchange(az, tm, tmp_path)
    # AZ-MFA's minutes arrived; the meeting is not held, nor counted, until TM-MFA says so.
    assert tm.json("meeting", "show", "m1")["meeting"]["status"] == "planned"
    assert (_counted(tm), _counted(az)) == (0, 0)
    tm.ok("meeting", "held", "m1", "--attendance", "TM-MFA,AZ-MFA",
          "--outcome", "Annual report adopted")  # fmt: skip
    assert _counted(tm) == 1
    exchange(tm, az, tmp_path)
    views = []
    for instance in (tm, az):
        shown = instance.json("meeting", "show", "m1")
        held = shown["meeting"]["held"]
        minutes = [(m["party_id"], m["attendance"], m["outcomes"]) for m in shown["minutes"]]
        views.append((shown["meeting"]["status"], held["attendance"], held["outcomes"], minutes))
        assert instance.ok("events", "verify").startswith("ok: ")
    assert views[0] == views[1] == (
        "held", ["TM-MFA", "AZ-MFA"], ["Annual report adopted"],
        [("AZ-MFA", ["AZ-MFA", "TM-MFA"],
          ["Road map agreed in substance", "AZ-MFA drafts chapter 3"])],
    )  # fmt: skip
    assert "in agreement" in tm.ok("sync", "status")
    assert _counted(az) == 1
    # Both instances show both records, one under the other, at 80 columns.
    for instance in (tm, az):
        lines = instance.ok("meeting", "show", "m1").splitlines()
        mine = lines.index(next(line for line in lines if line.startswith("minutes of AZ-MFA")))
        assert "convener        TM-MFA" in lines[:mine]
        assert "outcomes        - Annual report adopted" in lines[:mine]
        assert "outcomes        - Road map agreed in substance" in lines[mine:]
        assert max(len(line) for line in lines) <= 80


def _counted(instance: Instance) -> int:
    """The sessions of track t held, as its compliance report counts them."""
    rows = instance.json("report", "compliance", "--track", "t", "--as-of", "2026-12-31")
    return sum(row["held"] for row in rows)


def test_minutes_are_this_partys_of_a_meeting_another_party_convenes(
    joint: tuple[Instance, Instance],
) -> None:
    tm, az = joint
    for instance, party, problem in (
        (tm, "TM-MFA", "meeting: 'm1' is convened here: record it with `meeting held`"),
        (az, "TM-MFA", "party: this instance records the minutes of AZ-MFA, not of TM-MFA"),
    ):
        app = bootstrap(Settings.load(instance.url, environ={}))
        before = instance.events()
        try:
            command = RecordMinutes(meeting_id="m1", party=party, attendance=("TM-MFA",))
            with pytest.raises(NotAllowed, match=problem):
                app.commands.execute(command, Provenance(actor="test"))
        finally:
            app.close()
        assert instance.events() == before
