"""Bundles by file (issue 16, points 3 and 4): what is shared, how it is verified, what a
refusal writes (nothing)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consultations.adapters.signing import SigningKey
from consultations.bootstrap import bootstrap
from consultations.domain.errors import VerificationFailed
from consultations.domain.exchange import Bundle, Checkpoint
from consultations.service_layer.services import Provenance
from consultations.service_layer.sync import import_bundle
from consultations.settings import Settings
from tests.exchange.instances import Instance, exchange, introduce, joint_track, send

EXAMPLE = Path(__file__).parents[2] / "examples" / "tm-az-cooperation.toml"
AS_OF = "2026-11-28"
# What the two sides may show differently: when each recorded the events, and their order;
# and the non-working days each finds with its own working-calendar settings and records.
LOCAL = {"created_at", "last_modified", "last_position", "version", "non_working"}


def joint_schedule(instance: Instance) -> list[dict[str, Any]]:
    rows = instance.json("schedule", "--all")
    return [{k: v for k, v in row.items() if k not in LOCAL} for row in rows]


def resign(data: bytes, key_file: Path, name: str, **changes: Any) -> bytes:
    """The bundle with some header fields or entries changed, signed again with ``key_file``.

    What a sender holding that key could write: for the receiver's rules, not its checks.
    """
    bundle = Bundle.parse(data)
    entries = changes.pop("entries", bundle.entries)
    header = dataclasses.replace(bundle.header, **changes)
    checkpoint, _, _ = bundle.checkpoint()
    body = Bundle.of(header, entries).body
    signed = Checkpoint(
        checkpoint.origin,
        header.size,
        checkpoint.head,
        checkpoint.position,
        hashlib.sha256(body.encode()).digest(),
    )
    note = SigningKey.load(key_file, name).sign_note(signed.text())
    return Bundle.of(header, entries, note).text().encode()


def test_a_plan_sent_gives_the_same_joint_schedule_on_both_sides(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    tm.ok("plan", "import", str(EXAMPLE))
    bundle = send(tm, az, tmp_path / "1.bundle")
    assert az.ok("sync", "import", str(tmp_path / "1.bundle")).startswith(
        "TM-MFA: accepted entries 1–"
    )
    assert joint_schedule(az) == joint_schedule(tm)
    assert az.json("report", "compliance", "--as-of", AS_OF) == tm.json(
        "report", "compliance", "--as-of", AS_OF
    )
    # Alike but for the reminder offsets, which are never sent.
    assert [{**t, "reminders": []} for t in tm.json("track", "list")] == az.json("track", "list")
    # The same bundle twice: nothing new, nothing written.
    before = az.events()
    size = Bundle.parse(bundle).header.size
    assert az.ok("sync", "import", str(tmp_path / "1.bundle")) == (
        f"TM-MFA: nothing new (entries up to {size} accepted before)\n"
    )
    assert az.events() == before
    assert az.ok("events", "verify").startswith("ok: ")
    # Each side's own party record stays its own: AZ-MFA's is never sent.
    assert b'"stream":"party-AZ-MFA"' not in bundle


def test_an_older_bundle_after_a_newer_one_is_a_no_op(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    joint_track(tm)
    send(tm, az, tmp_path / "old.bundle")
    tm.ok("meeting", "plan", "--track", "t", "--title", "Talks", "--start", "2026-05-14 10:00")
    send(tm, az, tmp_path / "new.bundle")
    az.ok("sync", "import", str(tmp_path / "new.bundle"))
    before = az.events()
    assert "nothing new" in az.ok("sync", "import", str(tmp_path / "old.bundle"))
    assert az.events() == before
    assert [row["meeting_id"] for row in az.json("schedule", "--all")] == ["t-2026-05-14"]


def test_a_gap_is_refused_naming_the_missing_entries(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    for number in range(1, 6):
        tm.ok("area", "add", f"area{number}", "--name", f"Area {number}")
    areas = [option for n in range(1, 6) for option in ("--area", f"area{n}")]
    joint_track(tm, "t", *areas)
    data = send(tm, az, tmp_path / "all.bundle")
    assert Bundle.parse(data).header.size == 7  # TM-MFA's record, five areas, the track
    gap = tmp_path / "gap.bundle"
    bundle = Bundle.parse(data)
    gap.write_bytes(resign(data, tm.key_file, "TM-MFA", first=4, entries=bundle.entries[3:]))
    az.rejected(3, "entries 1–3 from TM-MFA are missing", "sync", "import", str(gap))
    one = tmp_path / "one.bundle"
    one.write_bytes(resign(data, tm.key_file, "TM-MFA", first=3, entries=bundle.entries[2:]))
    az.rejected(3, "entries 1–2 from TM-MFA are missing", "sync", "import", str(one))
    assert "accepted entries 1–7" in az.ok("sync", "import", str(tmp_path / "all.bundle"))


def _receiver_app(instance: Instance) -> Any:
    return bootstrap(Settings.load(instance.url, environ={}))


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_altered_byte_is_refused_and_writes_nothing(
    prepared: tuple[Instance, bytes], data: st.DataObject
) -> None:
    receiver, bundle = prepared
    index = data.draw(st.integers(0, len(bundle) - 1), label="index")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != bundle[index]), label="byte")
    altered = bundle[:index] + bytes([value]) + bundle[index + 1 :]
    app = _receiver_app(receiver)
    try:
        before = app.store.head()
        with pytest.raises(VerificationFailed):
            import_bundle(app.commands, altered, Provenance(actor="test"))
        assert app.store.head() == before
    finally:
        app.close()


@pytest.fixture
def prepared(tm: Instance, az: Instance, tmp_path: Path) -> tuple[Instance, bytes]:
    """AZ-MFA, and a bundle TM-MFA wrote for it: a track, a meeting, the records they name."""
    introduce(tm, az)
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--title", "Talks", "--start", "2026-05-14 10:00",
          "--venue", "Awaza")  # fmt: skip
    return az, send(tm, az, tmp_path / "t.bundle")


def test_the_unaltered_bundle_of_the_altered_byte_test_is_accepted(
    prepared: tuple[Instance, bytes], tmp_path: Path
) -> None:
    receiver, bundle = prepared
    (tmp_path / "same.bundle").write_bytes(bundle)
    assert "accepted entries 1–3" in receiver.ok("sync", "import", str(tmp_path / "same.bundle"))


def test_unknown_keys_and_misaddressed_bundles_are_refused(
    tm: Instance, az: Instance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    introduce(tm, az)
    joint_track(tm)
    data = send(tm, az, tmp_path / "t.bundle")
    # The same party, another key: an impostor's bundle.
    impostor = tmp_path / "impostor.key"
    SigningKey.generate("TM-MFA").write(impostor)
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(resign(data, impostor, "TM-MFA"))
    az.rejected(5, "signed by an unknown key", "sync", "import", str(forged))
    # A bundle from a party that is not a peer (any more).
    az.ok("peer", "remove", "TM-MFA")
    az.rejected(
        5, "TM-MFA, which is not a registered peer", "sync", "import", str(tmp_path / "t.bundle")
    )
    # A bundle for another instance, though signed by a registered peer.
    kz = Instance(capsys, f"sqlite:///{tmp_path / 'kz.db'}", tmp_path / "kz.key", "KZ-MFA")
    try:
        kz.ok("identity", "init", "--party", "KZ-MFA")
        kz.ok("peer", "add", "TM-MFA", "--key", tm.json("identity", "show")["public_key"])
        kz.rejected(3, "it is for AZ-MFA; this instance speaks for KZ-MFA",
                    "sync", "import", str(tmp_path / "t.bundle"))  # fmt: skip
    finally:
        kz.close()


def test_a_rotated_key_verifies_for_its_period_and_the_old_one_is_revoked(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    joint_track(tm)
    send(tm, az, tmp_path / "before.bundle")  # signed by the first key
    old_key = tmp_path / "old.key"
    shutil.copy2(tm.key_file, old_key)
    tm.ok("identity", "rotate")
    tm.ok("meeting", "plan", "--track", "t", "--title", "Talks", "--start", "2026-05-14 10:00")
    after = send(tm, az, tmp_path / "after.bundle")  # signed by the new key
    az.ok("sync", "import", str(tmp_path / "before.bundle"))
    az.ok("sync", "import", str(tmp_path / "after.bundle"))  # the hand-over is learned
    assert [r["meeting_id"] for r in az.json("schedule", "--all")] == ["t-2026-05-14"]
    # The old key still verifies what it signed while it was valid: an older bundle, a no-op.
    assert "nothing new" in az.ok("sync", "import", str(tmp_path / "before.bundle"))
    # Signing with it after the rotation is refused, even for the very same content.
    stolen = tmp_path / "stolen.bundle"
    stolen.write_bytes(resign(after, old_key, "TM-MFA"))
    az.rejected(5, "signed by a revoked key of TM-MFA", "sync", "import", str(stolen))
    assert az.ok("events", "verify").startswith("ok: ")


def test_a_forked_history_is_detected_naming_the_entry(
    tm: Instance, az: Instance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    introduce(tm, az)
    joint_track(tm)
    exchange(tm, az, tmp_path)
    # TM-MFA's database is recreated with the same key, and different events.
    again = Instance(capsys, f"sqlite:///{tmp_path / 'tm2.db'}", tm.key_file, "TM-MFA")
    try:
        again.ok("identity", "init", "--party", "TM-MFA")  # keeps the key file it finds
        again.ok("peer", "add", "AZ-MFA", "--key", az.json("identity", "show")["public_key"])
        joint_track(again, "other")
        send(again, az, tmp_path / "fork.bundle")
        az.rejected(5, "forked history: entry 1 from TM-MFA differs",
                    "sync", "import", str(tmp_path / "fork.bundle"))  # fmt: skip
    finally:
        again.close()
