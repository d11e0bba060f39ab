"""Agreement is visible (issue 16, point 7): each bundle carries a digest of the sender's joint
schedule; `sync status` compares it with this side's; feeds give a joint meeting one UID."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from tests.exchange.instances import Instance, exchange, introduce, joint_track, send


def _status(instance: Instance) -> dict[str, object]:
    (status,) = instance.json("sync", "status")
    return status


def test_sync_status_says_whether_and_where_the_joint_schedules_differ(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    assert _status(tm)["agreement"] == "nothing received yet"
    assert _status(tm)["in_agreement"] is None
    joint_track(tm)
    for day in (14, 15):
        tm.ok("meeting", "plan", "--track", "t", "--id", f"m{day}", "--title", "Talks",
              "--start", f"2026-05-{day} 10:00")  # fmt: skip
    send(tm, az, tmp_path / "1.bundle")
    out = az.ok("sync", "import", str(tmp_path / "1.bundle")).splitlines()
    assert out[-1].startswith("TM-MFA: in agreement as of ")
    az.ok("meeting", "propose", "m14", "--venue", "Baku", "--reason", "closer")
    exchange(az, tm, tmp_path)
    assert _status(tm)["in_agreement"] is True
    assert (_status(tm)["proposals_awaiting_here"], _status(az)["proposals_awaiting_there"]) == (
        1, 1,
    )  # fmt: skip
    tm.ok("meeting", "reschedule", "m15", "--start", "2026-05-16 10:00")
    status = _status(tm)
    assert (status["in_agreement"], status["agreement"]) == (False, "1 meeting not in agreement")
    ((difference),) = status["differences"]  # type: ignore[misc]
    assert difference["meeting_id"] == "m15"
    assert difference["how"] == "changed here, not yet acknowledged there"
    table = tm.ok("sync", "status")
    assert "TM-MFA" not in table
    assert table.splitlines()[-1] == "AZ-MFA: m15: changed here, not yet acknowledged there"
    exchange(tm, az, tmp_path)
    assert _status(tm)["in_agreement"] is True
    assert _status(az)["in_agreement"] is True
    assert (_status(tm)["sent"], _status(tm)["acknowledged"]) == (
        5,
        5,
    )  # TM, track, m14, m15, moved


def test_a_meeting_that_is_not_alike_with_nothing_in_transit_is_named(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    for instance, venue in ((tm, "Ashgabat"), (az, "Baku")):
        instance.ok("party", "add", "TM-MFA", "--name", "TM", "--tz", "Asia/Ashgabat")
        instance.ok("party", "add", "AZ-MFA", "--name", "AZ", "--tz", "Asia/Baku")
        instance.ok("meeting", "plan", "--id", "talks", "--title", "Talks", "--tz", "Asia/Baku",
                    "--start", "2026-05-14 10:00", "--venue", venue,
                    "--participants", "TM-MFA,AZ-MFA")  # fmt: skip
    for number, (sender, receiver) in enumerate([(tm, az), (az, tm), (tm, az)]):
        send(sender, receiver, tmp_path / f"{number}.bundle")
        result = receiver("sync", "import", str(tmp_path / f"{number}.bundle"))
        assert result.code == 0, result  # warns: the id is used on both sides
    (difference,) = _status(az)["differences"]  # type: ignore[misc]
    assert (difference["meeting_id"], difference["how"]) == (
        "talks", "not alike, with nothing in transit",
    )  # fmt: skip


def test_both_feeds_give_a_joint_meeting_the_same_uid_and_sequence(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    joint_track(tm)
    # Feeds show a window around today (90 days back, 730 ahead): a meeting in a month.
    day = date.today() + timedelta(days=30)
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Talks",
          "--start", f"{day} 10:00")  # fmt: skip
    tm.ok("meeting", "reschedule", "m1", "--start", f"{day + timedelta(days=1)} 10:00")
    exchange(tm, az, tmp_path)
    seen = []
    for instance in (tm, az):
        path = tmp_path / f"{instance.name}.ics"
        instance.ok("feed", "export", "--scope", "track:t", "-o", str(path))
        text = path.read_bytes().decode()  # CRLF kept
        seen.append(
            (re.findall(r"^UID:(.*)\r$", text, re.M), re.findall(r"^SEQUENCE:(.*)\r$", text, re.M))
        )
    assert seen[0] == seen[1] == (["m1@consultations"], ["1"])
