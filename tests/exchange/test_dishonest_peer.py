"""What a peer may send (security review of issue 16): a bundle signed with the peer's own
key that plans, proposes or changes what is not the peer's is refused whole, writing
nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.exchange.instances import Instance, forge, introduce, joint_track, parties, send


def _az_plans_in_the_joint_track(tm: Instance, az: Instance, tmp_path: Path) -> bytes:
    """TM-MFA has a private track with KZ-MFA; AZ-MFA plans m-az in a joint track."""
    introduce(tm, az)
    parties(tm, "TM-MFA", "AZ-MFA", "KZ-MFA")
    tm.ok("track", "add", "secret-track", "--title", "Caspian channel", "--kind", "consultation",
          "--cadence", "year", "--start", "2026-01-01", "--party", "TM-MFA",
          "--party", "KZ-MFA")  # fmt: skip
    joint_track(az)
    az.ok("meeting", "plan", "--track", "t", "--id", "m-az", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    return send(az, tm, tmp_path / "az.bundle")


def _edit_plan(**changes: Any) -> Any:
    def edit(entry: dict[str, Any]) -> None:
        if entry["type"] == "MeetingPlanned":
            entry["payload"].update(changes)

    return edit


def test_a_meeting_planned_in_a_track_the_sender_is_not_a_party_of_is_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    data = _az_plans_in_the_joint_track(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, _edit_plan(track_id="secret-track")))
    tm.rejected(3, "plans meeting m-az outside what AZ-MFA takes part in", "sync", "import",
                str(forged))  # fmt: skip
    assert tm.json("schedule", "--track", "secret-track") == []
    # The ad-hoc meeting of others, too; the bundle as AZ-MFA sent it is accepted.
    others = _edit_plan(track_id=None, host="TM-MFA", participants=["TM-MFA", "KZ-MFA"])
    forged.write_bytes(forge(data, az, others))
    tm.rejected(3, "outside what AZ-MFA takes part in", "sync", "import", str(forged))
    tm.ok("sync", "import", str(tmp_path / "az.bundle"))
    assert [row["meeting_id"] for row in tm.json("schedule", "--all")] == ["m-az"]


def test_a_meeting_the_sender_says_another_party_convenes_is_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    data = _az_plans_in_the_joint_track(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, _edit_plan(convener="TM-MFA")))
    tm.rejected(3, "plans meeting m-az convened by TM-MFA", "sync", "import", str(forged))
    assert tm.json("schedule", "--all") == []
