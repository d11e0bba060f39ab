"""What a peer may send (security review of issue 16): a bundle signed with the peer's own
key that plans, proposes or changes what is not the peer's is refused whole, writing
nothing; what only a change crossing in transit can leave outside what the peer shares is
kept in the bundle, not applied, and the exchange goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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


def _introduce_with_a_private_track(tm: Instance, az: Instance) -> None:
    """Both instances know each other; TM-MFA has a track with KZ-MFA, not AZ-MFA."""
    introduce(tm, az)
    parties(tm, "TM-MFA", "AZ-MFA", "KZ-MFA")
    tm.ok("track", "add", "secret-track", "--title", "Caspian channel", "--kind", "consultation",
          "--cadence", "year", "--start", "2026-01-01", "--party", "TM-MFA",
          "--party", "KZ-MFA")  # fmt: skip


def _az_plans_in_the_joint_track(tm: Instance, az: Instance, tmp_path: Path) -> bytes:
    """TM-MFA has a private track with KZ-MFA; AZ-MFA plans m-az in a joint track."""
    _introduce_with_a_private_track(tm, az)
    joint_track(az)
    az.ok("meeting", "plan", "--track", "t", "--id", "m-az", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    return send(az, tm, tmp_path / "az.bundle")


def _kept_out(instance: Instance, bundle: Path, why: str) -> None:
    """Import ``bundle``: accepted, with a warning that a stream is kept out, saying ``why``."""
    result = instance("sync", "import", str(bundle))
    assert result.code == 0, result
    assert "is kept in the bundle only: " in result.err, result
    assert why in result.err, result


def _edit_plan(**changes: Any) -> Any:
    def edit(entry: dict[str, Any]) -> None:
        if entry["type"] == "MeetingPlanned":
            entry["payload"].update(changes)

    return edit


@pytest.mark.parametrize(
    "changes",
    [
        {"track_id": "secret-track"},  # a track AZ-MFA is not a party of
        {"track_id": None, "host": "TM-MFA", "participants": ["TM-MFA", "KZ-MFA"]},
    ],
    ids=["others-track", "others-ad-hoc"],
)
def test_a_meeting_planned_outside_the_senders_scope_is_kept_out(
    tm: Instance, az: Instance, tmp_path: Path, changes: dict[str, Any]
) -> None:
    data = _az_plans_in_the_joint_track(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, _edit_plan(**changes)))
    _kept_out(tm, forged, "meeting m-az is outside what AZ-MFA takes part in here")
    assert tm.json("schedule", "--all") == []
    assert tm.ok("events", "verify").startswith("ok")


def test_an_honest_bundle_is_applied(tm: Instance, az: Instance, tmp_path: Path) -> None:
    _az_plans_in_the_joint_track(tm, az, tmp_path)
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


def _tm_convenes_m1(tm: Instance, az: Instance, tmp_path: Path) -> None:
    """TM-MFA convenes m1 of the joint track and a private ad-hoc meeting; AZ-MFA has m1."""
    introduce(tm, az)
    parties(tm, "TM-MFA", "AZ-MFA", "KZ-MFA")
    tm.ok("meeting", "plan", "--id", "private", "--title", "Dinner", "--tz", "Asia/Ashgabat",
          "--start", "2026-03-11 19:00", "--participants", "TM-MFA,KZ-MFA")  # fmt: skip
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    exchange(tm, az, tmp_path)


def _az_proposes(tm: Instance, az: Instance, tmp_path: Path) -> bytes:
    """AZ-MFA proposes a venue for m1 (see :func:`_tm_convenes_m1`)."""
    _tm_convenes_m1(tm, az, tmp_path)
    az.ok("meeting", "propose", "m1", "--venue", "Baku", "--reason", "closer")
    return send(az, tm, tmp_path / "az.bundle")


def _edit(event_type: str, stream: Callable[[dict[str, Any]], str], **changes: Any) -> Any:
    """Change the payload of the entries of ``event_type``, and their stream to match it."""

    def edit(entry: dict[str, Any]) -> None:
        if entry["type"] == event_type:
            entry["payload"].update(changes)
            entry["stream"] = stream(entry["payload"])

    return edit


def _edit_proposal(**changes: Any) -> Any:
    return _edit("ChangeProposed", lambda p: f"proposal-{p['proposal_id']}", **changes)


def test_a_proposal_under_another_partys_id_is_refused_and_one_not_shared_kept_out(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    data = _az_proposes(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, _edit_proposal(proposal_id="TM-MFA-1")))
    tm.rejected(3, "proposes TM-MFA-1, not an id of AZ-MFA's", "sync", "import", str(forged))
    forged.write_bytes(forge(data, az, _edit_proposal(meeting_id="private")))
    _kept_out(tm, forged, "proposal AZ-MFA-1 is about meeting private, not one shared with AZ-MFA")
    assert tm.json("meeting", "proposals") == []


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
    _introduce_with_a_private_track(tm, az)
    joint_track(tm)
    exchange(tm, az, tmp_path)
    az.ok("track", "amend", "t", "--cadence", "half-year", "--propose", "--reason", "more often")
    return send(az, tm, tmp_path / "az.bundle")


def _edit_amendment(**changes: Any) -> Any:
    return _edit("AmendmentProposed", lambda p: f"amendment-{p['amendment_id']}", **changes)


def _az_records_minutes(tm: Instance, az: Instance, tmp_path: Path) -> bytes:
    """AZ-MFA records its own minutes of m1 (see :func:`_tm_convenes_m1`)."""
    _tm_convenes_m1(tm, az, tmp_path)
    parties(az, "AZ-MFA")
    az.ok("meeting", "held", "m1", "--attendance", "AZ-MFA,TM-MFA", "--outcome", "Agreed")
    return send(az, tm, tmp_path / "az.bundle")


def _edit_minutes(stream: str | None = None, **changes: Any) -> Any:
    def named(payload: dict[str, Any]) -> str:
        return stream or f"minutes-{payload['meeting_id']}@{payload['party']}"

    return _edit("MinutesRecorded", named, **changes)


def test_an_amendment_under_another_partys_id_or_that_its_rules_refuse_is_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    data = _az_proposes_an_amendment(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    refusals = [
        ({"amendment_id": "TM-MFA-1"}, "proposes TM-MFA-1, not an id of AZ-MFA's"),
        # The change accepted would be of another track than the one listed.
        ({"amendment": {**_amended("t"), "track_id": "secret-track"}},
         "track: it amends 'secret-track', not 't'"),
        ({"amendment": {**_amended("t"), "reminders": ["PT1M"]}},
         "reminders: each instance sets its own"),
        ({"amendment": {**_amended("t"), "cadence": "bogus"}}, "cadence: unknown cadence"),
        ({"amendment": _amended("t", cadence=None)}, "track: it changes nothing"),
        ({"amendment": None, "retire_on": None}, "it proposes neither new values nor"),
        ({"reason": " "}, "reason: must not be empty"),
    ]  # fmt: skip
    for changes, message in refusals:
        forged.write_bytes(forge(data, az, _edit_amendment(**changes)))
        tm.rejected(3, message, "sync", "import", str(forged))
    assert tm.json("track", "amendments") == []
    tm.ok("sync", "import", str(tmp_path / "az.bundle"))
    assert [a["amendment_id"] for a in tm.json("track", "amendments")] == ["AZ-MFA-1"]


def _amended(track_id: str, **changes: Any) -> dict[str, Any]:
    """A stored ``TrackAmended`` payload: the cadence made half-yearly, nothing else."""
    fields = ("title", "kind", "cadence", "required", "start", "tz", "parties", "areas",
              "priority", "default_duration", "reminders", "host_rotation")  # fmt: skip
    return {"track_id": track_id, **dict.fromkeys(fields), "cadence": "half-year", **changes}


def test_an_amendment_of_a_track_not_shared_is_kept_out(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    data = _az_proposes_an_amendment(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    changes = {"track_id": "secret-track", "amendment": _amended("secret-track")}
    forged.write_bytes(forge(data, az, _edit_amendment(**changes)))
    _kept_out(tm, forged, "amendment AZ-MFA-1 is of track secret-track, not one shared with")
    assert tm.json("track", "amendments") == []


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


def test_a_settlement_naming_another_track_or_meeting_is_not_applied(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    # AZ-MFA settles its own amendment of TM-MFA's track, naming a track of its own: the
    # proposal here says whose it is to settle, not the settlement.
    introduce(tm, az)
    joint_track(tm)
    exchange(tm, az, tmp_path)
    joint_track(az, "mine")
    az.ok("track", "amend", "t", "--cadence", "half-year", "--propose", "--reason", "x")
    data = send(az, tm, tmp_path / "az.bundle")

    def accept_as_if_mine(entries: list[dict[str, Any]]) -> None:
        (proposed,) = [e for e in entries if e["type"] == "AmendmentProposed"]
        entries.append({**proposed, "type": "AmendmentAccepted", "version": 2,
                        "payload": {"amendment_id": "AZ-MFA-1", "track_id": "mine"}})  # fmt: skip

    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, entries=accept_as_if_mine))
    assert tm("sync", "import", str(forged)).code == 0
    assert [a["status"] for a in tm.json("track", "amendments")] == ["open"]
    tm.ok("track", "accept", "t", "AZ-MFA-1")  # the creator still settles it


def test_what_is_never_sent_is_refused(tm: Instance, az: Instance, tmp_path: Path) -> None:
    introduce(tm, az)
    joint_track(az, "t", "--reminders", "P1D")
    data = send(az, tm, tmp_path / "az.bundle")

    def with_reminders(entry: dict[str, Any]) -> None:
        if entry["type"] == "TrackAdded":
            entry["payload"]["reminders"] = ["PT1M"]

    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, with_reminders))
    tm.rejected(3, "carries what is never sent (reminder offsets, an e-mail address)",
                "sync", "import", str(forged))  # fmt: skip
    tm.ok("sync", "import", str(tmp_path / "az.bundle"))
    assert [row["reminders"] for row in tm.json("track", "list")] == [[]]


def test_minutes_of_another_party_are_refused(tm: Instance, az: Instance, tmp_path: Path) -> None:
    data = _az_records_minutes(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    for party in ("TM-MFA", "KZ-MFA"):
        forged.write_bytes(forge(data, az, _edit_minutes(party=party)))
        tm.rejected(3, f"records minutes of {party}; AZ-MFA records only its own",
                    "sync", "import", str(forged))  # fmt: skip
    forged.write_bytes(forge(data, az, _edit_minutes(stream="minutes-m1@KZ-MFA")))
    tm.rejected(3, "does not belong to its stream 'minutes-m1@KZ-MFA'",
                "sync", "import", str(forged))  # fmt: skip
    assert tm.json("meeting", "show", "m1")["minutes"] == []
    tm.ok("sync", "import", str(tmp_path / "az.bundle"))
    assert [m["party_id"] for m in tm.json("meeting", "show", "m1")["minutes"]] == ["AZ-MFA"]


@pytest.mark.parametrize("meeting", ["private", "ghost"])
def test_minutes_of_a_meeting_not_shared_are_kept_out(
    tm: Instance, az: Instance, tmp_path: Path, meeting: str
) -> None:
    data = _az_records_minutes(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, _edit_minutes(meeting_id=meeting)))
    _kept_out(tm, forged, f"its minutes are of meeting {meeting}, not one shared with AZ-MFA here")
    assert tm.json("meeting", "show", "m1")["minutes"] == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"attendance": [], "outcomes": []}, "neither the parties present nor an outcome"),
        ({"attendance": ["AZ-MFA", "AZ-MFA"]}, "'AZ-MFA' is listed twice"),
        ({"outcomes": ["line 1\nline 2"]}, "outcome"),
        ({"attendance": ["bad id!"]}, "invalid id"),
    ],
    ids=["empty", "twice", "two-lines", "bad-id"],
)
def test_minutes_their_own_rules_refuse_are_refused(
    tm: Instance, az: Instance, tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    data = _az_records_minutes(tm, az, tmp_path)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, az, _edit_minutes(**changes)))
    tm.rejected(3, message, "sync", "import", str(forged))


def test_the_conveners_minutes_or_changes_of_anothers_stream_are_refused(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    data = send(tm, az, tmp_path / "tm.bundle")

    def minutes_of_its_own(entries: list[dict[str, Any]]) -> None:
        (plan,) = [e for e in entries if e["type"] == "MeetingPlanned"]
        entries.append({**plan, "type": "MinutesRecorded", "stream": "minutes-m1@TM-MFA",
                        "version": 1, "payload": {"meeting_id": "m1", "party": "TM-MFA",
                        "attendance": ["TM-MFA"], "outcomes": ["AZ-MFA absent"]}})  # fmt: skip

    forged = tmp_path / "forged.bundle"
    forged.write_bytes(forge(data, tm, entries=minutes_of_its_own))
    az.rejected(3, "party: TM-MFA convenes 'm1'; it records it held", "sync", "import",
                str(forged))  # fmt: skip
    az.ok("sync", "import", str(tmp_path / "tm.bundle"))
    # AZ-MFA writing in TM-MFA's meeting, which it does not convene.
    parties(az, "AZ-MFA")
    az.ok("meeting", "plan", "--track", "t", "--id", "m2", "--title", "Talks",
          "--start", "2026-06-14 10:00")  # fmt: skip
    data = send(az, tm, tmp_path / "az.bundle")

    def held_by_az(entries: list[dict[str, Any]]) -> None:
        plan = entries[-1]
        assert plan["type"] == "MeetingPlanned"
        entries.append({**plan, "type": "MeetingCancelled", "stream": "meeting-m1",
                        "version": 2, "payload": {"meeting_id": "m1", "reason": "no"}})  # fmt: skip

    forged.write_bytes(forge(data, az, entries=held_by_az))
    tm.rejected(3, "changes meeting-m1, which AZ-MFA did not start", "sync", "import",
                str(forged))  # fmt: skip
