"""Ed25519 keys (``cryptography``): the instance's private key in a file, signatures, checks.

The private key file is PKCS #8 PEM, created with mode 0600 and refused when anyone but
its owner can read it. Signatures follow c2sp.org/signed-note (see ``domain/signed_note``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from consultations.domain.signed_note import NoteSignature, VerifierKey, signed_note

OWNER_ONLY = 0o600


class KeyFileProblem(RuntimeError):
    """The private key file cannot be used (missing, unreadable, too open, not a key)."""


class SigningKey:
    """An instance's Ed25519 private key, under a name (the party it speaks for)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = name
        self._private_key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.verifier_key = VerifierKey(name, raw)

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        """A new random key pair."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path, name: str) -> SigningKey:
        """The key kept in ``path``; KeyFileProblem when it cannot be used."""
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyFileProblem(f"{path} does not exist") from None
        except OSError as error:
            raise KeyFileProblem(f"{path}: {error.strerror}") from None
        if mode & 0o077:
            raise KeyFileProblem(
                f"{path} can be read by others (mode {mode:04o}); run chmod 600 {path}"
            )
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except ValueError:
            raise KeyFileProblem(f"{path} holds no readable private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileProblem(f"{path} holds no Ed25519 private key")
        return cls(name, key)

    def write(self, path: Path) -> None:
        """Keep the key in a new file ``path`` (never overwritten), readable by its owner only."""
        pem = self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
        except FileExistsError:
            raise KeyFileProblem(f"{path} exists already; it was not overwritten") from None
        except OSError as error:
            raise KeyFileProblem(f"{path}: {error.strerror}") from None
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        return self._private_key.sign(message)

    def sign_note(self, text: str) -> str:
        """``text`` as a signed note, signed by this key."""
        signature = NoteSignature(
            self.name, self.verifier_key.key_id, self.sign(text.encode("utf-8"))
        )
        return signed_note(text, [signature])


def verifies(key: VerifierKey, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``key``'s signature of ``message``."""
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
