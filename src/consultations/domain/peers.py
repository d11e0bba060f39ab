"""Peer aggregate: the instance of another party this one exchanges signed bundles with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import assert_never
from urllib.parse import urlsplit

from consultations.domain.commands import AddPeer, PeerCommand, RemovePeer
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import PeerAdded, PeerEvent, PeerKeyLearned, PeerRemoved
from consultations.domain.identity import KeyPeriod, named_key
from consultations.domain.optional import map_optional
from consultations.domain.validation import require_aware, validate_id, validate_line

MAX_URL_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class Peer:
    """A peer as registered; ``removed`` once removed (it may be added again).

    ``keys``: the key registered (trusted from the start) and those its bundles handed over
    to since, each with the peer's log position it signs from.
    """

    id: str
    keys: tuple[KeyPeriod, ...]
    url: str | None
    removed: bool
    version: int

    @property
    def public_key(self) -> str:
        """The latest key known."""
        return self.keys[-1].public_key


def validate_url(value: str, field: str = "url") -> str:
    """An http(s) URL with a host, such as ``https://consultations.mfa.example``."""
    text = validate_line(value, field)
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname or len(text) > MAX_URL_LENGTH:
        raise InvalidInput(field, f"{text!r} is not an http:// or https:// URL")
    return text.rstrip("/")


def decide(
    state: Peer | None, command: PeerCommand, now: datetime, *, own_party: str | None = None
) -> tuple[PeerEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = never registered).

    ``own_party``: the party this instance speaks for, which cannot be its own peer.
    """
    require_aware(now)
    match command:
        case AddPeer():
            validate_id(command.peer_id, "party")
            if command.peer_id == own_party:
                raise NotAllowed("party", f"{own_party} is the party this instance speaks for")
            if state is not None and not state.removed:
                raise NotAllowed("party", f"{command.peer_id} is a peer already")
            key = named_key(command.public_key, command.peer_id)
            url = map_optional(command.url, validate_url)
            return (PeerAdded(command.peer_id, key.text, url),)
        case RemovePeer():
            if state is None:
                raise UnknownId("peer", command.peer_id)
            if state.removed:
                raise NotAllowed("party", f"{command.peer_id} was removed already")
            reason = map_optional(command.reason, lambda text: validate_line(text, "reason"))
            return (PeerRemoved(command.peer_id, reason),)
        case _:
            assert_never(command)


def evolve(state: Peer | None, event: PeerEvent) -> Peer:
    """Apply one event to the state."""
    match event:
        case PeerAdded():
            version = 1 if state is None else state.version + 1
            keys: tuple[KeyPeriod, ...] = (KeyPeriod(event.public_key, 0),)
            return Peer(event.peer_id, keys, event.url, removed=False, version=version)
        case PeerKeyLearned():
            if state is None:
                raise ValueError(f"a key of peer {event.peer_id!r} learned before it was added")
            keys = (*state.keys, KeyPeriod(event.public_key, event.valid_from))
            return replace(state, keys=keys, version=state.version + 1)
        case PeerRemoved():
            if state is None:
                raise ValueError(f"peer {event.peer_id!r} removed before it was added")
            return replace(state, removed=True, version=state.version + 1)
        case _:
            assert_never(event)


def fold(events: Iterable[PeerEvent]) -> Peer | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Peer | None = None
    for event in events:
        state = evolve(state, event)
    return state
