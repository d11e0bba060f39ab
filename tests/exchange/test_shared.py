"""What is shared with a peer (issue 16, point 3), tested on every byte of every bundle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from consultations.adapters.signing import SigningKey
from tests.exchange.instances import Instance, exchange, introduce, joint_track, parties, send

# Nothing of these may reach AZ-MFA: a track of TM-MFA with KZ-MFA, its meetings (one of
# them hosted by AZ-MFA, in a track AZ-MFA is not a party of), an ad-hoc meeting without
# AZ-MFA, an area only that track covers, another peer's address, a feed and its token, the
# names of the people who typed the commands, the private key, and of what is shared, the
# e-mail address of a party it names and the reminder offsets.
PRIVATE = [
    "tm-kz", "Caspian channel", "secret-1", "Hidden Villa", "Outcome only for KZ",
    "secret-2", "Hosted elsewhere", "adhoc-kz", "Private dinner", "Secret Garden", "hydro",
    "Hydrography", "kz-mfa.example", "KZ-MFA", "private-feed", "Feed for TM", "clerk-tm",
    "desk@uz-mfa.example", "P13DT7H31M", "P3DT5H17M", "PT9H41M", "P2DT9H43M",
]  # fmt: skip
SHARED = [
    "Talks joint", "joint-1", "Awaza", "restricted-1", "Closed-door talks", "adhoc-az",
    "Working lunch", "energy", "UZ-MFA",
]  # fmt: skip


def _tm_with_private_and_joint_work(tm: Instance) -> None:
    parties(tm, "TM-MFA", "AZ-MFA", "KZ-MFA")
    tm.ok("area", "add", "energy", "--name", "Energy")
    tm.ok("area", "add", "hydro", "--name", "Hydrography")
    tm.ok("party", "add", "UZ-MFA", "--name", "MFA of Uzbekistan", "--tz", "Asia/Tashkent",
          "--email", "desk@uz-mfa.example")  # fmt: skip
    joint_track(tm, "joint", "--area", "energy", "--actor", "clerk-tm",
                "--reminders", "P13DT7H31M")  # fmt: skip
    tm.ok("track", "add", "tm-kz", "--title", "Caspian channel", "--kind", "consultation",
          "--cadence", "year", "--start", "2026-01-01", "--party", "TM-MFA", "--party", "KZ-MFA",
          "--area", "hydro", "--actor", "clerk-tm")  # fmt: skip
    tm.ok("meeting", "plan", "--track", "tm-kz", "--id", "secret-1", "--title", "Channel",
          "--start", "2026-03-10 10:00", "--venue", "Hidden Villa", "--actor", "clerk-tm")  # fmt: skip
    tm.ok("meeting", "plan", "--track", "tm-kz", "--id", "secret-2", "--title", "Hosted elsewhere",
          "--start", "2026-04-10 10:00", "--host", "AZ-MFA")  # fmt: skip
    tm.ok("meeting", "plan", "--id", "adhoc-kz", "--title", "Private dinner", "--tz", "Asia/Ashgabat",
          "--start", "2026-03-11 19:00", "--venue", "Secret Garden",
          "--participants", "TM-MFA,KZ-MFA")  # fmt: skip
    tm.ok("meeting", "plan", "--track", "joint", "--id", "joint-1", "--title", "Talks",
          "--start", "2026-03-12 10:00", "--venue", "Awaza", "--actor", "clerk-tm",
          "--reminders", "P3DT5H17M")  # fmt: skip
    tm.ok("meeting", "plan", "--track", "joint", "--id", "restricted-1",
          "--title", "Closed-door talks", "--start", "2026-06-12 10:00",
          "--classification", "restricted")  # fmt: skip
    tm.ok("meeting", "plan", "--id", "adhoc-az", "--title", "Working lunch", "--tz", "Asia/Baku",
          "--start", "2026-03-13 13:00", "--participants", "TM-MFA,AZ-MFA,UZ-MFA")  # fmt: skip
    tm.ok("feed", "create", "--scope", "all", "--name", "Feed for TM")
    tm.ok("peer", "add", "KZ-MFA", "--url", "https://consultations.kz-mfa.example",
          "--key", SigningKey.generate("KZ-MFA").verifier_key.text)  # fmt: skip


def _tm_works_on(tm: Instance) -> None:
    tm.ok("meeting", "held", "secret-1", "--outcome", "Outcome only for KZ", "--actor", "clerk-tm")
    tm.ok("meeting", "reschedule", "joint-1", "--start", "2026-03-13 10:00",
          "--reason", "flights", "--actor", "clerk-tm")  # fmt: skip
    tm.ok("meeting", "cancel", "adhoc-kz", "--reason", "Secret Garden closed")
    tm.ok("track", "amend", "tm-kz", "--title", "Caspian channel (renamed)", "--actor", "clerk-tm")
    tm.ok("track", "amend", "joint", "--reminders", "PT9H41M")
    tm.ok("meeting", "amend", "joint-1", "--reminders", "P2DT9H43M")


def _secrets(tm: Instance) -> list[bytes]:
    feed = tm.json("feed", "list")[0]["feed_id"]
    pem = tm.key_file.read_text()
    key_body = "".join(line for line in pem.splitlines() if "PRIVATE KEY" not in line)
    return [text.encode() for text in (*PRIVATE, feed, key_body)]


def test_no_bundle_carries_a_byte_of_what_the_peer_must_not_see(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    _tm_with_private_and_joint_work(tm)
    tokens = re.findall(r"/feeds/([A-Za-z0-9_-]+)\.ics", tm.ok("feed", "create", "--scope", "all"))
    bundles = [send(tm, az, tmp_path / "1.bundle")]
    az.ok("sync", "import", str(tmp_path / "1.bundle"))
    _tm_works_on(tm)
    bundles.append(send(tm, az, tmp_path / "2.bundle"))
    az.ok("sync", "import", str(tmp_path / "2.bundle"))
    send(az, tm, tmp_path / "ack.bundle")
    tm.ok("sync", "import", str(tmp_path / "ack.bundle"))
    bundles.append(send(tm, az, tmp_path / "3.bundle"))

    forbidden = [*_secrets(tm), *(token.encode() for token in tokens)]
    assert tokens
    leaks = [
        (number, secret) for number, bundle in enumerate(bundles, 1) for secret in forbidden
        if secret in bundle
    ]  # fmt: skip
    assert leaks == []
    every = b"".join(bundles)
    assert [text for text in SHARED if text.encode() not in every] == []
    assert b"flights" in every  # the reason of a joint change travels with it
    assert sorted(r["meeting_id"] for r in az.json("schedule", "--all")) == [
        "adhoc-az", "joint-1", "restricted-1",
    ]  # fmt: skip
    assert sorted(r["area_id"] for r in az.json("area", "list")) == ["energy"]


def test_a_track_shared_later_is_sent_with_its_whole_history(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    _tm_with_private_and_joint_work(tm)
    _tm_works_on(tm)
    first = send(tm, az, tmp_path / "1.bundle")
    az.ok("sync", "import", str(tmp_path / "1.bundle"))
    assert b"Hidden Villa" not in first
    tm.ok("track", "amend", "tm-kz", "--party", "TM-MFA", "--party", "KZ-MFA", "--party", "AZ-MFA")
    second = send(tm, az, tmp_path / "2.bundle")
    assert b"Hidden Villa" in second
    assert b"Outcome only for KZ" in second
    az.ok("sync", "import", str(tmp_path / "2.bundle"))
    shown = az.json("meeting", "show", "secret-1")
    assert shown["meeting"]["status"] == "held"
    assert {r["meeting_id"] for r in az.json("schedule", "--all")} >= {"secret-1", "secret-2"}
    assert az.ok("events", "verify").startswith("ok: ")


def test_minutes_travel_only_to_the_peers_the_meeting_is_shared_with(
    tm: Instance, az: Instance, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    kz = Instance(capsys, f"sqlite:///{tmp_path / 'kz.db'}", tmp_path / "kz.key", "KZ-MFA")
    try:
        introduce(tm, az)
        introduce(tm, kz)
        # KZ-MFA convenes a meeting of its track with TM-MFA, AZ-MFA one of a joint track.
        parties(kz, "TM-MFA", "KZ-MFA")
        kz.ok("track", "add", "tm-kz", "--title", "Caspian channel", "--kind", "consultation",
              "--cadence", "year", "--start", "2026-01-01", "--party", "TM-MFA",
              "--party", "KZ-MFA")  # fmt: skip
        kz.ok("meeting", "plan", "--track", "tm-kz", "--id", "secret-1", "--title", "Channel",
              "--start", "2026-03-10 10:00", "--venue", "Hidden Villa")  # fmt: skip
        joint_track(az)
        az.ok("meeting", "plan", "--track", "t", "--id", "joint-1", "--title", "Talks",
              "--start", "2026-03-12 10:00")  # fmt: skip
        exchange(kz, tm, tmp_path)
        exchange(az, tm, tmp_path)
        parties(tm, "TM-MFA")
        # TM-MFA records its own minutes of both.
        tm.ok("meeting", "held", "secret-1", "--attendance", "TM-MFA,KZ-MFA",
              "--outcome", "Outcome only for KZ")  # fmt: skip
        tm.ok("meeting", "held", "joint-1", "--attendance", "TM-MFA,AZ-MFA",
              "--outcome", "Outcome for AZ")  # fmt: skip
        to_az = send(tm, az, tmp_path / "to-az.bundle")
        to_kz = send(tm, kz, tmp_path / "to-kz.bundle")
        for bundle, shared, private in (
            (to_az, b"Outcome for AZ", [b"Outcome only for KZ", b"secret-1", b"KZ-MFA",
                                        b"tm-kz", b"Hidden Villa"]),
            (to_kz, b"Outcome only for KZ", [b"Outcome for AZ", b"joint-1", b"AZ-MFA"]),
        ):  # fmt: skip
            assert shared in bundle
            assert [secret for secret in private if secret in bundle] == []
        az.ok("sync", "import", str(tmp_path / "to-az.bundle"))
        kz.ok("sync", "import", str(tmp_path / "to-kz.bundle"))
        for instance, meeting_id in ((az, "joint-1"), (kz, "secret-1")):
            minutes = instance.json("meeting", "show", meeting_id)["minutes"]
            assert [m["party_id"] for m in minutes] == ["TM-MFA"]
    finally:
        kz.close()
