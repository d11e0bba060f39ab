"""The text formats of C2SP signed notes (c2sp.org/signed-note) and their Ed25519 keys.

Pure text and hashing: the signatures themselves are made and checked in
``adapters/signing.py``. A *verifier key* names a key and carries its public half, as the
Go ``sumdb/note`` package writes it: ``<name>+<key id, 8 hex digits>+<base64(0x01 ||
32-byte Ed25519 public key)>``. A *signed note* is a text ending in a newline, a blank
line, then one line per signature: ``— <key name> <base64(4-byte key id || signature)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from consultations.domain.errors import InvalidInput

ED25519: Final = 0x01  # the signature type byte of Ed25519 in signed notes
PUBLIC_KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
SIGNATURE_PREFIX: Final = "\u2014 "  # em dash, space
_NAME = re.compile(r"[^\s+]+")
_KEY_ID = re.compile(r"[0-9a-f]{8}")


def key_id(name: str, public_key: bytes) -> int:
    """The 32-bit key id: SHA-256(name || 0x0A || 0x01 || public key), first four bytes."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A named Ed25519 public key."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> int:
        """The key id signature lines carry (see :func:`key_id`)."""
        return key_id(self.name, self.public_key)

    @property
    def text(self) -> str:
        """``<name>+<key id>+<base64(0x01 || public key)>``."""
        data = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{data}"

    @property
    def fingerprint(self) -> str:
        """What people compare over the telephone: ``SHA256:`` and the key's digest in base64."""
        digest = hashlib.sha256(self.public_key).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str, field: str = "key") -> VerifierKey:
        """Read a verifier key; InvalidInput naming ``field`` when it is not one."""
        name, plus, rest = text.strip().partition("+")
        hex_id, plus_again, data = rest.partition("+")
        example = "such as TM-MFA+1a2b3c4d+AQ… (what `identity show` prints)"
        if not (plus and plus_again and _NAME.fullmatch(name) and _KEY_ID.fullmatch(hex_id)):
            raise InvalidInput(field, f"{text.strip()!r} is not a public key {example}")
        try:
            raw = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise InvalidInput(field, f"the key data of {name!r} is not base64") from None
        if len(raw) != 1 + PUBLIC_KEY_SIZE or raw[0] != ED25519:
            raise InvalidInput(field, f"the key of {name!r} is not an Ed25519 public key")
        key = cls(name, raw[1:])
        if f"{key.key_id:08x}" != hex_id:
            raise InvalidInput(field, f"the key id {hex_id} does not match the key of {name!r}")
        return key


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note: which key (name and id) and the signature bytes."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, with its newline."""
        data = base64.b64encode(self.key_id.to_bytes(4, "big") + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {data}\n"


class MalformedNote(ValueError):
    """Text that is not a signed note."""


def signed_note(text: str, signatures: Sequence[NoteSignature]) -> str:
    """The note: its text (ending in a newline), a blank line, then the signature lines."""
    check_note_text(text)
    return text + "\n" + "".join(signature.line for signature in signatures)


def check_note_text(text: str) -> None:
    """Refuse a note text that is empty, lacks its final newline or holds control characters."""
    if not text.endswith("\n"):
        raise MalformedNote("a note text ends with a newline")
    if any(ord(character) < 0x20 and character != "\n" for character in text):
        raise MalformedNote("a note holds no control characters but newlines")


def open_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and its signatures (not yet verified)."""
    text, separator, lines = note.rpartition("\n\n")
    if not separator or not lines.endswith("\n"):
        raise MalformedNote("no signature lines after a blank line")
    text += "\n"
    check_note_text(text)
    signatures = []
    for line in lines.removesuffix("\n").split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedNote(f"{line[:40]!r} is not a signature line")
        name, _, data = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        try:
            raw = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise MalformedNote(f"the signature of {name!r} is not base64") from None
        if not _NAME.fullmatch(name) or len(raw) < 5:
            raise MalformedNote(f"{line[:40]!r} is not a signature line")
        signatures.append(NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return text, signatures
