"""Each aggregate described once: its name, stream, commands, and how it decides and folds.

Everything outside the domain that needs to know which stream an id lives in, which decider
a command goes to, or which aggregate a stored stream belongs to asks here, so a stream
prefix or a fold is never spelled twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, get_args

from consultations.domain import (
    areas,
    exchange,
    feeds,
    identity,
    meeting_proposals,
    meetings,
    minutes,
    parties,
    peers,
    track_amendments,
    tracks,
)
from consultations.domain.commands import (
    AmendmentCommand,
    AreaCommand,
    DomainCommand,
    FeedCommand,
    IdentityCommand,
    MeetingCommand,
    MinutesCommand,
    PartyCommand,
    PeerCommand,
    ProposalCommand,
    TrackCommand,
)

State = TypeVar("State")


@dataclass(frozen=True, slots=True)
class Aggregate(Generic[State]):
    """One kind of aggregate: ``<name>-<id>`` streams, folded by ``fold``, changed by ``decide``.

    ``decide(state, command, now, **context)`` returns the new events; ``fold`` turns a
    stream's events into the current state (None for an empty stream).
    """

    name: str
    commands: tuple[type[Any], ...]
    fold: Callable[[Iterable[Any]], State | None]
    decide: Callable[..., tuple[Any, ...]]
    prefix: str = field(init=False)
    """What every stream id of this aggregate starts with: ``<name>-``."""

    def __post_init__(self) -> None:
        # Set once: projections ask every event of a rebuild which aggregate it is.
        object.__setattr__(self, "prefix", f"{self.name}-")

    @property
    def id_field(self) -> str:
        """The attribute that names the aggregate in its commands and events."""
        return f"{self.name}_id"

    def stream_id(self, aggregate_id: str) -> str:
        """The stream an aggregate's events live in: ``<name>-<id>``."""
        return f"{self.prefix}{aggregate_id}"

    def owns(self, stream_id: str) -> bool:
        """True when ``stream_id`` is a stream of this aggregate."""
        return stream_id.startswith(self.prefix)

    def id_of(self, stream_id: str) -> str:
        """The aggregate id of one of its streams."""
        if not self.owns(stream_id):
            raise ValueError(f"{stream_id!r} is not a {self.name} stream")
        return stream_id[len(self.prefix) :]

    def target(self, command: DomainCommand) -> str:
        """The id of the aggregate ``command`` addresses."""
        value: str = getattr(command, self.id_field)
        return value


def _members(alias: Any) -> tuple[type[Any], ...]:
    """The command classes of a union alias (or the one class it names)."""
    return get_args(alias) or (alias,)


PARTY: Aggregate[parties.Party] = Aggregate(
    "party", _members(PartyCommand), parties.fold, parties.decide
)
AREA: Aggregate[areas.Area] = Aggregate("area", _members(AreaCommand), areas.fold, areas.decide)
TRACK: Aggregate[tracks.Track] = Aggregate(
    "track", _members(TrackCommand), tracks.fold, tracks.decide
)
MEETING: Aggregate[meetings.Meeting] = Aggregate(
    "meeting", _members(MeetingCommand), meetings.fold, meetings.decide
)
PROPOSAL: Aggregate[meeting_proposals.Proposal] = Aggregate(
    "proposal", _members(ProposalCommand), meeting_proposals.fold, meeting_proposals.decide
)
AMENDMENT: Aggregate[track_amendments.Amendment] = Aggregate(
    "amendment", _members(AmendmentCommand), track_amendments.fold, track_amendments.decide
)
# ``<meeting id>@<party>``: a party's own minutes of a meeting it attended.
MINUTES: Aggregate[minutes.Minutes] = Aggregate(
    "minutes", _members(MinutesCommand), minutes.fold, minutes.decide
)
FEED: Aggregate[feeds.Feed] = Aggregate("feed", _members(FeedCommand), feeds.fold, feeds.decide)
IDENTITY: Aggregate[identity.Identity] = Aggregate(
    "identity", _members(IdentityCommand), identity.fold, identity.decide
)
PEER: Aggregate[peers.Peer] = Aggregate("peer", _members(PeerCommand), peers.fold, peers.decide)


def _recorded_by_the_exchange(*_: Any, **__: Any) -> tuple[Any, ...]:
    raise TypeError("the exchange records these streams itself; no command is decided here")


# What was sent to each peer and accepted from it (``service_layer/sync.py`` appends them).
SENT: Aggregate[exchange.EntrySequence] = Aggregate(
    "sent", (), exchange.sent, _recorded_by_the_exchange
)
RECEIVED: Aggregate[exchange.Received] = Aggregate(
    "received", (), exchange.received, _recorded_by_the_exchange
)

AGGREGATES: tuple[Aggregate[Any], ...] = (
    PARTY, AREA, TRACK, MEETING, PROPOSAL, AMENDMENT, MINUTES, FEED, IDENTITY, PEER, SENT,
    RECEIVED,
)  # fmt: skip

_BY_COMMAND = {command: aggregate for aggregate in AGGREGATES for command in aggregate.commands}
_BY_NAME = {aggregate.name: aggregate for aggregate in AGGREGATES}


def for_command(command: DomainCommand) -> Aggregate[Any]:
    """The aggregate a command is decided by."""
    return _BY_COMMAND[type(command)]


def named(name: str) -> Aggregate[Any]:
    """The aggregate called ``name`` (``party``, ``area``, ``track``, ``meeting``, …)."""
    return _BY_NAME[name]


def of_stream(stream_id: str) -> Aggregate[Any]:
    """The aggregate a stream belongs to."""
    name = stream_id.split("-", 1)[0]
    aggregate = _BY_NAME.get(name)
    if aggregate is None or not aggregate.owns(stream_id):
        raise ValueError(f"{stream_id!r} is no aggregate's stream")
    return aggregate
