"""What a peer may send (security review of issue 16): a bundle signed with the peer's own
key that plans, proposes or changes what is not the peer's is refused whole, writing
nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consultations.bootstrap import bootstrap
from consultations.service_layer.meeting_proposals import propose
from consultations.service_layer.services import Provenance
from consultations.settings import Settings
from tests.exchange.instances import (
    Instance,
    exchange,
    forge,
    introduce,
    joint_track,
    parties,
    send,
)


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


def _az_proposes(tm: Instance, az: Instance, tmp_path: Path) -> bytes:
    """TM-MFA convenes m1 of the joint track and a private ad-hoc meeting; AZ-MFA proposes."""
    introduce(tm, az)
    parties(tm, "TM-MFA", "AZ-MFA", "KZ-MFA")
    tm.ok("meeting", "plan", "--id", "private", "--title", "Dinner", "--tz", "Asia/Ashgabat",
          "--start", "2026-03-11 19:00", "--participants", "TM-MFA,KZ-MFA")  # fmt: skip
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    exchange(tm, az, tmp_path)
    az.ok("meeting", "propose", "m1", "--venue", "Baku", "--reason", "closer")
    return send(az, tm, tmp_path / "az.bundle")


def _edit_proposal(**changes: Any) -> Any:
    def edit(entry: dict[str, Any]) -> None:
        if entry["type"] == "ChangeProposed":
            entry["payload"].update(changes)
            entry["stream"] = f"proposal-{entry['payload']['proposal_id']}"

    return edit


def test_a_proposal_under_another_partys_id_or_about_a_meeting_not_shared_is_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    data = _az_proposes(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, _edit_proposal(proposal_id="TM-MFA-1")))
    tm.rejected(3, "proposes TM-MFA-1, not an id of AZ-MFA's", "sync", "import", str(forged))
    forged.write_bytes(forge(data, az, _edit_proposal(meeting_id="private")))
    tm.rejected(3, "proposes a change of meeting private, not one shared with AZ-MFA",
                "sync", "import", str(forged))  # fmt: skip
    tm.ok("sync", "import", str(tmp_path / "az.bundle"))
    assert [p["proposal_id"] for p in tm.json("meeting", "proposals")] == ["AZ-MFA-1"]


class _NoneCounted:
    def proposals_made_by(self, party: str) -> int:
        return 0


def test_a_proposal_id_taken_already_is_skipped(tm: Instance, az: Instance, tmp_path: Path) -> None:
    # Whatever the read models count (a proposal under this party's id recorded otherwise),
    # a new proposal takes the next free id.
    introduce(tm, az)
    joint_track(az)
    az.ok("meeting", "plan", "--track", "t", "--id", "m-az", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    exchange(az, tm, tmp_path)
    assert tm.ok("meeting", "propose", "m-az", "--venue", "Baku", "--reason", "x").strip() == (
        "TM-MFA-1"
    )
    app = bootstrap(Settings.load(tm.url, environ={}))
    try:
        outcome = propose(app.commands, _NoneCounted(), "m-az", start=None, venue="Ganja",
                          reason="y", provenance=Provenance(actor="test"))  # fmt: skip
    finally:
        app.close()
    assert outcome.aggregate_id == "TM-MFA-2"


def test_a_change_of_a_meeting_never_planned_is_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    joint_track(az)
    az.ok("meeting", "plan", "--track", "t", "--id", "m-az", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    az.ok("meeting", "cancel", "m-az", "--reason", "postponed")
    data = send(az, tm, tmp_path / "az.bundle")

    def ghost(entry: dict[str, Any]) -> None:
        if entry["type"] == "MeetingCancelled":
            entry["payload"]["meeting_id"] = "ghost"
            entry["stream"] = "meeting-ghost"

    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, ghost))
    tm.rejected(3, "ghost", "sync", "import", str(forged))


def _az_proposes_an_amendment(tm: Instance, az: Instance, tmp_path: Path) -> bytes:
    """TM-MFA added the joint track t and a private track with KZ-MFA; AZ-MFA proposes."""
    introduce(tm, az)
    parties(tm, "TM-MFA", "AZ-MFA", "KZ-MFA")
    tm.ok("track", "add", "secret-track", "--title", "Caspian channel", "--kind", "consultation",
          "--cadence", "year", "--start", "2026-01-01", "--party", "TM-MFA",
          "--party", "KZ-MFA")  # fmt: skip
    joint_track(tm)
    exchange(tm, az, tmp_path)
    az.ok("track", "amend", "t", "--cadence", "half-year", "--propose", "--reason", "more often")
    return send(az, tm, tmp_path / "az.bundle")


def _edit_amendment(**changes: Any) -> Any:
    def edit(entry: dict[str, Any]) -> None:
        if entry["type"] == "AmendmentProposed":
            entry["payload"].update(changes)
            entry["stream"] = f"amendment-{entry['payload']['amendment_id']}"

    return edit


def _az_records_minutes(tm: Instance, az: Instance, tmp_path: Path) -> bytes:
    """TM-MFA convenes m1 of the joint track and a private ad-hoc meeting; AZ-MFA records
    its own minutes of m1."""
    introduce(tm, az)
    parties(tm, "TM-MFA", "AZ-MFA", "KZ-MFA")
    tm.ok("meeting", "plan", "--id", "private", "--title", "Dinner", "--tz", "Asia/Ashgabat",
          "--start", "2026-03-11 19:00", "--participants", "TM-MFA,KZ-MFA")  # fmt: skip
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    exchange(tm, az, tmp_path)
    parties(az, "AZ-MFA")
    az.ok("meeting", "held", "m1", "--attendance", "AZ-MFA,TM-MFA", "--outcome", "Agreed")
    return send(az, tm, tmp_path / "az.bundle")


def _edit_minutes(stream: str | None = None, **changes: Any) -> Any:
    def edit(entry: dict[str, Any]) -> None:
        if entry["type"] == "MinutesRecorded":
            payload = entry["payload"]
            payload.update(changes)
            entry["stream"] = stream or f"minutes-{payload['meeting_id']}@{payload['party']}"

    return edit


def test_an_amendment_under_another_partys_id_or_of_a_track_not_shared_is_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    data = _az_proposes_an_amendment(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, _edit_amendment(amendment_id="TM-MFA-1")))
    tm.rejected(3, "proposes TM-MFA-1, not an id of AZ-MFA's", "sync", "import", str(forged))
    forged.write_bytes(forge(data, az, _edit_amendment(track_id="secret-track")))
    tm.rejected(3, "proposes a change of track secret-track, not one shared with AZ-MFA",
                "sync", "import", str(forged))  # fmt: skip
    assert tm.json("track", "amendments") == []
    tm.ok("sync", "import", str(tmp_path / "az.bundle"))
    assert [a["amendment_id"] for a in tm.json("track", "amendments")] == ["AZ-MFA-1"]


def test_an_amendment_settled_by_another_than_the_tracks_creator_is_not_applied(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    # AZ-MFA proposes, then "accepts" its own amendment of TM-MFA's track: the acceptance
    # is not AZ-MFA's to make; it stays in the bundle and is never applied.
    data = _az_proposes_an_amendment(tm, az, tmp_path)

    def accept_too(entries: list[dict[str, Any]]) -> None:
        (proposed,) = [e for e in entries if e["type"] == "AmendmentProposed"]
        accepted = {**proposed, "type": "AmendmentAccepted", "version": 2,
                    "payload": {"amendment_id": "AZ-MFA-1", "track_id": "t"}}  # fmt: skip
        entries.append(accepted)

    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, entries=accept_too))
    result = tm("sync", "import", str(forged))
    assert result.code == 0, result
    assert [a["status"] for a in tm.json("track", "amendments")] == ["open"]


def test_a_track_or_meeting_the_sender_leaves_out_of_its_own_scope_is_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    # An honest peer never sends its track without itself among the parties, nor moves
    # its ad-hoc meeting to others: that would plant a track or meeting of others here.
    introduce(tm, az)
    parties(az, "TM-MFA", "AZ-MFA", "KZ-MFA")
    joint_track(az)
    az.ok("meeting", "plan", "--id", "adhoc", "--title", "Dinner", "--tz", "Asia/Baku",
          "--start", "2026-03-11 19:00", "--participants", "TM-MFA,AZ-MFA")  # fmt: skip
    az.ok("meeting", "amend", "adhoc", "--agenda", "Water")
    data = send(az, tm, tmp_path / "az.bundle")

    def others(entry: dict[str, Any]) -> None:
        if entry["type"] == "TrackAdded":
            entry["payload"]["parties"] = ["TM-MFA", "KZ-MFA"]

    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, others))
    tm.rejected(3, "makes track t one AZ-MFA is not a party of", "sync", "import", str(forged))

    def moved(entry: dict[str, Any]) -> None:
        if entry["type"] == "MeetingAmended":
            entry["payload"]["participants"] = ["TM-MFA", "KZ-MFA"]

    forged.write_bytes(forge(data, az, moved))
    tm.rejected(3, "moves meeting adhoc outside what AZ-MFA takes part in",
                "sync", "import", str(forged))  # fmt: skip
    assert tm.json("schedule", "--all") == []
    tm.ok("sync", "import", str(tmp_path / "az.bundle"))
    assert sorted(row["meeting_id"] for row in tm.json("schedule", "--all")) == ["adhoc"]


def test_minutes_of_another_party_or_of_a_meeting_not_shared_are_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    data = _az_records_minutes(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    for party in ("TM-MFA", "KZ-MFA"):
        forged.write_bytes(forge(data, az, _edit_minutes(party=party)))
        tm.rejected(3, f"records minutes of {party}; AZ-MFA records only its own",
                    "sync", "import", str(forged))  # fmt: skip
    for meeting in ("private", "ghost"):
        forged.write_bytes(forge(data, az, _edit_minutes(meeting_id=meeting)))
        tm.rejected(3, f"records minutes of meeting {meeting}, not one shared with AZ-MFA",
                    "sync", "import", str(forged))  # fmt: skip
    forged.write_bytes(forge(data, az, _edit_minutes(stream="minutes-m1@KZ-MFA")))
    tm.rejected(3, "does not belong to its stream 'minutes-m1@KZ-MFA'",
                "sync", "import", str(forged))  # fmt: skip
    assert tm.json("meeting", "show", "m1")["minutes"] == []
    tm.ok("sync", "import", str(tmp_path / "az.bundle"))
    assert [m["party_id"] for m in tm.json("meeting", "show", "m1")["minutes"]] == ["AZ-MFA"]
