"""Identity aggregate: the party this instance speaks for, and its Ed25519 keys over time.

A key is valid from the log position of the event that introduced it until the position of
the event that replaced it: a checkpoint signed at log head ``p`` must be signed by the key
valid at ``p`` (:func:`key_at`). Replacing a key needs the previous key's signature of the
:func:`rotation_statement`, so a peer that knew the old key can trust the new one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import assert_never

from consultations.domain.commands import EstablishIdentity, IdentityCommand, RotateIdentityKey
from consultations.domain.errors import InvalidInput, NotAllowed
from consultations.domain.events import IdentityEstablished, IdentityEvent, IdentityKeyRotated
from consultations.domain.signed_note import SIGNATURE_SIZE, VerifierKey
from consultations.domain.validation import require_aware, validate_id


@dataclass(frozen=True, slots=True)
class Identity:
    """The party this instance speaks for; ``keys`` oldest first, the last one current."""

    party_id: str
    keys: tuple[str, ...]
    version: int

    @property
    def public_key(self) -> str:
        """The current verifier key."""
        return self.keys[-1]


@dataclass(frozen=True, slots=True)
class KeyPeriod:
    """A verifier key and the first log position it is valid for (until the next key's)."""

    public_key: str
    valid_from: int


def key_at(periods: Sequence[KeyPeriod], position: int) -> KeyPeriod | None:
    """The key valid at log position ``position`` (None before the first one)."""
    found = None
    for period in periods:
        if period.valid_from <= position:
            found = period
    return found


def rotation_statement(previous_key: str, public_key: str) -> bytes:
    """What the previous key signs to hand over to the new one."""
    return f"consultations key rotation\n{previous_key}\n{public_key}\n".encode()


def named_key(text: str, party_id: str, field: str = "key") -> VerifierKey:
    """Parse a verifier key and require that it names ``party_id``."""
    key = VerifierKey.parse(text, field)
    if key.name != party_id:
        raise InvalidInput(field, f"the key names {key.name!r}, not {party_id!r}")
    return key


def decide(
    state: Identity | None, command: IdentityCommand, now: datetime
) -> tuple[IdentityEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = no identity yet)."""
    require_aware(now)
    match command:
        case EstablishIdentity():
            if state is not None:
                raise NotAllowed(
                    "identity",
                    f"this instance speaks for {state.party_id} already; "
                    "`identity rotate` replaces its key",
                )
            validate_id(command.party_id, "party")
            key = named_key(command.public_key, command.party_id)
            return (IdentityEstablished(command.party_id, key.text),)
        case RotateIdentityKey():
            if state is None:
                raise NotAllowed(
                    "identity", "this instance has no identity; run `identity init --party P`"
                )
            key = named_key(command.public_key, state.party_id)
            if key.text in state.keys:
                raise NotAllowed("key", "this key was used already; rotate to a new one")
            try:
                signature = base64.b64decode(command.signature, validate=True)
            except binascii.Error:
                signature = b""
            if len(signature) != SIGNATURE_SIZE:
                raise InvalidInput("signature", "is not a base64 Ed25519 signature")
            return (
                IdentityKeyRotated(state.party_id, key.text, state.public_key, command.signature),
            )
        case _:
            assert_never(command)


def evolve(state: Identity | None, event: IdentityEvent) -> Identity:
    """Apply one event to the state."""
    match event:
        case IdentityEstablished():
            if state is not None:
                raise ValueError("an identity established twice")
            return Identity(event.party_id, (event.public_key,), version=1)
        case IdentityKeyRotated():
            if state is None:
                raise ValueError("a key rotated before the identity was established")
            return replace(state, keys=(*state.keys, event.public_key), version=state.version + 1)
        case _:
            assert_never(event)


def fold(events: Iterable[IdentityEvent]) -> Identity | None:
    """Rebuild the state from the stream's events (None for an empty stream)."""
    state: Identity | None = None
    for event in events:
        state = evolve(state, event)
    return state
