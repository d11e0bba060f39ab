"""Identity (issue 16, point 1): an Ed25519 key pair, the private half in a file only its
owner can read, the public half in the log; rotation hands over from the old key."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.signing import SigningKey, verifies
from consultations.domain.errors import InvalidInput
from consultations.domain.events import IdentityEstablished, IdentityKeyRotated
from consultations.domain.identity import KeyPeriod, key_at, rotation_statement
from consultations.domain.signed_note import VerifierKey, open_note
from consultations.settings import Settings, SettingsError
from tests.exchange.instances import Instance

# The example of golang.org/x/mod/sumdb/note (note.go, note_test.go): Ed25519 is
# deterministic, so the same seed must give the same verifier key and the same note.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    "vqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_keys_and_notes_are_those_of_the_c2sp_reference_implementation() -> None:
    seed = base64.b64decode(GO_SIGNER.split("+", 4)[4])[1:]  # the key data holds a "+"
    key = SigningKey("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))
    assert key.verifier_key.text == GO_VERIFIER
    assert key.sign_note(GO_TEXT) == GO_NOTE
    text, (signature,) = open_note(GO_NOTE)
    assert text == GO_TEXT
    assert signature.key_id == VerifierKey.parse(GO_VERIFIER).key_id
    assert verifies(VerifierKey.parse(GO_VERIFIER), text.encode(), signature.signature)
    assert not verifies(VerifierKey.parse(GO_VERIFIER), b"x" + text.encode(), signature.signature)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("TM-MFA", "is not a public key"),
        ("TM-MFA+1234567+AQ==", "is not a public key"),
        ("TM MFA+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "is not a public key"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T!", "not base64"),
        ("PeterNeumann+c74f20a3+AhpjMQ==", "not an Ed25519 public key"),
        ("PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
    ],
)
def test_a_malformed_public_key_is_named(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as error:
        VerifierKey.parse(text, "key")
    assert error.value.field == "key"


def test_a_key_is_valid_from_its_position_until_the_next_one() -> None:
    periods = [KeyPeriod("old", 3), KeyPeriod("new", 10)]
    assert key_at(periods, 2) is None
    assert [key_at(periods, p) for p in (3, 9)] == [periods[0]] * 2
    assert [key_at(periods, p) for p in (10, 500)] == [periods[1]] * 2


def test_the_key_file_defaults_to_beside_the_sqlite_database(tmp_path: Path) -> None:
    settings = Settings.load(f"sqlite:///{tmp_path / 'var' / 'tm.db'}", environ={})
    assert settings.identity_key_path() == tmp_path / "var" / "tm.identity.key"
    chosen = Settings.load(
        "postgresql://db/x", environ={"CONSULTATIONS_IDENTITY_KEY": "/etc/c/key"}
    )
    assert chosen.identity_key_path() == Path("/etc/c/key")
    with pytest.raises(SettingsError, match="identity_key: set it"):
        Settings.load("postgresql://db/x", environ={}).identity_key_path()


def _identity_events(instance: Instance) -> list[object]:
    return [e.event for e in SqlEventLog(instance.engine).read_stream("identity-instance")]


def test_init_keeps_the_private_key_for_its_owner_and_records_the_public_key(
    tm: Instance,
) -> None:
    assert not tm.key_file.exists()
    tm.ok("identity", "init", "--party", "TM-MFA")
    assert stat.S_IMODE(tm.key_file.stat().st_mode) == 0o600
    shown = tm.json("identity", "show")
    key = SigningKey.load(tm.key_file, "TM-MFA").verifier_key
    assert shown == {
        "party": "TM-MFA",
        "public_key": key.text,
        "fingerprint": key.fingerprint,
        "key_file": str(tm.key_file),
    }
    assert shown["fingerprint"].startswith("SHA256:")
    assert _identity_events(tm) == [IdentityEstablished("TM-MFA", key.text)]
    assert b"PRIVATE KEY" in tm.key_file.read_bytes()
    assert key.text.split("+")[2] not in tm.key_file.read_text()  # the file is not the log


def test_refusals_write_neither_the_log_nor_a_key_file(tm: Instance) -> None:
    tm.rejected(4, "identity: this instance has none yet", "identity", "show")
    tm.rejected(2, "party: invalid id", "identity", "init", "--party", "TM MFA")
    assert not tm.key_file.exists()
    tm.ok("identity", "init", "--party", "TM-MFA")
    written = tm.key_file.read_bytes()
    tm.rejected(3, "speaks for TM-MFA already", "identity", "init", "--party", "AZ-MFA")
    assert tm.key_file.read_bytes() == written


def test_a_key_file_others_can_read_is_refused(tm: Instance) -> None:
    tm.ok("identity", "init", "--party", "TM-MFA")
    tm.key_file.chmod(0o640)
    result = tm.rejected(1, "can be read by others (mode 0640)", "identity", "rotate")
    assert "chmod 600" in result.err


def test_rotate_hands_over_from_the_old_key_to_the_new_one(tm: Instance) -> None:
    tm.ok("identity", "init", "--party", "TM-MFA")
    old = SigningKey.load(tm.key_file, "TM-MFA").verifier_key
    tm.ok("identity", "rotate", "--reason", "yearly")
    new = SigningKey.load(tm.key_file, "TM-MFA").verifier_key
    assert new != old
    assert stat.S_IMODE(tm.key_file.stat().st_mode) == 0o600
    assert not tm.key_file.with_name(tm.key_file.name + ".new").exists()
    assert tm.json("identity", "show")["public_key"] == new.text
    _, rotated = _identity_events(tm)
    assert isinstance(rotated, IdentityKeyRotated)
    assert (rotated.previous_key, rotated.public_key) == (old.text, new.text)
    statement = rotation_statement(old.text, new.text)
    assert verifies(old, statement, base64.b64decode(rotated.signature))
    assert not verifies(new, statement, base64.b64decode(rotated.signature))


def test_a_key_file_that_is_not_the_identitys_key_is_refused(tm: Instance) -> None:
    tm.ok("identity", "init", "--party", "TM-MFA")
    tm.key_file.unlink()
    SigningKey.generate("TM-MFA").write(tm.key_file)
    tm.rejected(1, "not this instance's current key", "identity", "rotate")
