"""The instance's identity: create it, rotate its key, and load the key to sign with.

The private key lives in a file (setting ``identity_key``); the log records only public
keys. Creating or rotating decides the command first, then writes the key file, then
appends: a refused command leaves no file, and a failed append removes the file it wrote.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from consultations.adapters.eventlog import EventLog
from consultations.adapters.signing import KeyFileProblem, SigningKey
from consultations.domain.aggregates import IDENTITY
from consultations.domain.commands import (
    THIS_INSTANCE,
    DomainCommand,
    EstablishIdentity,
    RotateIdentityKey,
)
from consultations.domain.errors import NotFound
from consultations.domain.events import IdentityEstablished, IdentityKeyRotated
from consultations.domain.exchange import KeyStatement
from consultations.domain.identity import Identity, rotation_statement
from consultations.domain.signed_note import VerifierKey
from consultations.service_layer.handlers import handle
from consultations.service_layer.services import CommandService, Provenance


@dataclass(frozen=True, slots=True)
class IdentityView:
    """What `identity show` prints."""

    party: str
    public_key: str
    fingerprint: str
    key_file: str

    @classmethod
    def of(cls, identity: Identity, key_file: Path) -> IdentityView:
        """The view of an identity whose private key is kept in ``key_file``."""
        key = VerifierKey.parse(identity.public_key)
        return cls(identity.party_id, key.text, key.fingerprint, str(key_file))


def current_identity(store: EventLog) -> Identity | None:
    """The identity recorded in the log (None before `identity init`)."""
    state: Identity | None = IDENTITY.fold(
        recorded.event for recorded in store.read_stream(IDENTITY.stream_id(THIS_INSTANCE))
    )
    return state


def key_history(store: EventLog) -> tuple[KeyStatement, ...]:
    """Each key of this instance, the log position it signs from, and its hand-over."""
    statements = []
    for recorded in store.read_stream(IDENTITY.stream_id(THIS_INSTANCE)):
        event = recorded.event
        if isinstance(event, IdentityEstablished):
            statements.append(KeyStatement(event.public_key, recorded.position))
        elif isinstance(event, IdentityKeyRotated):
            statements.append(KeyStatement(event.public_key, recorded.position, event.signature))
    return tuple(statements)


def require_identity(store: EventLog) -> Identity:
    """The identity recorded in the log; NotFound before `identity init`."""
    identity = current_identity(store)
    if identity is None:
        raise NotFound("identity", "this instance has none yet; run `identity init --party P`")
    return identity


def signing_key(store: EventLog, key_file: Path) -> tuple[Identity, SigningKey]:
    """The identity and its current private key, which must be the one the log names."""
    identity = require_identity(store)
    key = SigningKey.load(key_file, identity.party_id)
    if key.verifier_key.text != identity.public_key:
        raise KeyFileProblem(
            f"{key_file} holds the key {key.verifier_key.fingerprint}, not this instance's "
            f"current key {VerifierKey.parse(identity.public_key).fingerprint}"
        )
    return identity, key


def init_identity(
    commands: CommandService, key_file: Path, party: str, provenance: Provenance
) -> IdentityView:
    """Create the key pair, keep the private key in ``key_file`` and record the public key.

    A key file that exists already (an instance rebuilt on a new database) is used as it is.
    """
    if key_file.exists():
        key = SigningKey.load(key_file, party)
        command = EstablishIdentity(party_id=party, public_key=key.verifier_key.text)
        commands.execute(command, provenance)
    else:
        key = SigningKey.generate(party)
        command = EstablishIdentity(party_id=party, public_key=key.verifier_key.text)
        _record(commands, command, provenance, key, key_file)
    return IdentityView.of(require_identity(commands.store), key_file)


def rotate_identity(
    commands: CommandService, key_file: Path, provenance: Provenance
) -> IdentityView:
    """Replace the key: the current key signs the new one, which then takes its place."""
    identity, current = signing_key(commands.store, key_file)
    new = SigningKey.generate(identity.party_id)
    statement = rotation_statement(identity.public_key, new.verifier_key.text)
    signature = base64.b64encode(current.sign(statement)).decode()
    command = RotateIdentityKey(public_key=new.verifier_key.text, signature=signature)
    staged = key_file.with_name(key_file.name + ".new")
    _record(commands, command, provenance, new, staged)
    os.replace(staged, key_file)
    return IdentityView.of(require_identity(commands.store), key_file)


def _record(
    commands: CommandService,
    command: DomainCommand,
    provenance: Provenance,
    key: SigningKey,
    key_file: Path,
) -> None:
    """Decide ``command``, write ``key`` to ``key_file``, append; no file is left on failure."""
    uow = commands.new_unit_of_work()
    handle(uow, command, commands.clock(), commands.directory)
    key.write(key_file)
    try:
        uow.commit(provenance.metadata(type(command).__name__))
    except BaseException:
        key_file.unlink(missing_ok=True)
        raise
