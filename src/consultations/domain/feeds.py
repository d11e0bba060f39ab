"""Feed aggregate: a secret-token calendar subscription to part of the schedule."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import assert_never

from consultations.domain.commands import CreateFeed, FeedCommand, RevokeFeed
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import FeedCreated, FeedEvent, FeedRevoked
from consultations.domain.validation import require_aware, validate_id, validate_line

SCOPE_KINDS = ("all", "track", "area", "party")
MAX_DAYS = 3660
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which meetings a feed shows: all of them, or those of one track, area or party."""

    kind: str
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def parse_scope(text: str) -> Scope:
    """Parse ``all``, ``track:ID``, ``area:A`` or ``party:P``."""
    kind, _, value = text.strip().partition(":")
    if kind == "all" and not value:
        return Scope("all")
    if kind in SCOPE_KINDS[1:] and value:
        return Scope(kind, validate_id(value, "scope"))
    raise InvalidInput("scope", f"{text!r} is not all, track:ID, area:ID or party:ID")


@dataclass(frozen=True, slots=True)
class Feed:
    """Current state of a feed."""

    id: str
    name: str
    scope: Scope
    include_restricted: bool
    days_back: int
    days_ahead: int
    token_sha256: str
    revoked: bool
    version: int


def decide(state: Feed | None, command: FeedCommand, now: datetime) -> tuple[FeedEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = no such feed yet)."""
    require_aware(now)
    match command:
        case CreateFeed():
            validate_id(command.feed_id)
            if state is not None:
                raise NotAllowed("id", f"feed {command.feed_id!r} already exists")
            scope = parse_scope(command.scope)
            name = validate_line(command.name or f"Consultations: {scope}", "name")
            for field, days in (
                ("days_back", command.days_back),
                ("days_ahead", command.days_ahead),
            ):
                if not 0 <= days <= MAX_DAYS:
                    raise InvalidInput(field, f"must be between 0 and {MAX_DAYS} days, got {days}")
            if not _SHA256.fullmatch(command.token_sha256):
                raise ValueError("token_sha256 must be a lowercase hex SHA-256 digest")
            return (
                FeedCreated(
                    command.feed_id, name, str(scope), command.include_restricted,
                    command.days_back, command.days_ahead, command.token_sha256,
                ),
            )  # fmt: skip
        case RevokeFeed():
            if state is None:
                raise UnknownId("feed", command.feed_id)
            if state.revoked:
                raise NotAllowed("feed", f"{command.feed_id!r} is already revoked")
            return (FeedRevoked(command.feed_id, command.reason),)
        case _:
            assert_never(command)


def evolve(state: Feed | None, event: FeedEvent) -> Feed:
    """Apply one event to the state."""
    match event:
        case FeedCreated():
            if state is not None:
                raise ValueError(f"feed {event.feed_id!r} created twice in its stream")
            return Feed(
                event.feed_id, event.name, parse_scope(event.scope), event.include_restricted,
                event.days_back, event.days_ahead, event.token_sha256, revoked=False, version=1,
            )  # fmt: skip
        case FeedRevoked():
            if state is None:
                raise ValueError(f"feed {event.feed_id!r} revoked before it was created")
            return replace(state, revoked=True, version=state.version + 1)
        case _:
            assert_never(event)


def fold(events: Iterable[FeedEvent]) -> Feed | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Feed | None = None
    for event in events:
        state = evolve(state, event)
    return state
