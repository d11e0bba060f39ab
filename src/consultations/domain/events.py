"""Domain events: immutable facts, named in the past tense, grouped by aggregate.

Events carry only JSON-friendly values (str, int, bool, date, datetime, tuples, None and
nested frozen dataclasses). Enumerations and value objects (kind, cadence, durations) are
stored in their canonical text form so the stored payload stays readable. A meeting's
``start``/``end`` are wall times (local time in the zone ``tz``, fold, and UTC instant).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Final

from consultations.domain.wall_time import WallTime

OMIT_WHEN_NONE: Final = "omit_when_none"
"""Field metadata key: the stored payload leaves the field out while its value is None.

For optional fields added to an event that was already being stored: an event without the
value is stored exactly as before the field existed (same payload text, same hash), and a
stored payload without the key reads back as None.
"""
_ADDED_OPTIONAL: Final = MappingProxyType({OMIT_WHEN_NONE: True})

FLATTENED: Final = "flattened"
"""Field metadata key: a value object stored as fields of the event itself.

Its first field is stored under the field's own name and each other one as
``<name>_<field>``: a wall time ``start`` is ``start``, ``start_fold`` and ``start_utc``, as
events stored them before wall time was one value object. None stores every key as null.
"""
_FLAT: Final = MappingProxyType({FLATTENED: True})

# --- parties -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartyRegistered:
    """A participating institution was registered."""

    party_id: str
    name: str
    tz: str
    departments: tuple[str, ...]
    # The secretariat's address (ORGANIZER of the meetings it hosts); added later, so a
    # payload without it means "no address" and a None is not written.
    email: str | None = field(default=None, metadata=_ADDED_OPTIONAL)
    # ISO 3166 code whose public holidays apply (working calendars); added later, like email.
    country: str | None = field(default=None, metadata=_ADDED_OPTIONAL)


@dataclass(frozen=True, slots=True)
class PartyAmended:
    """Some fields of a party changed; ``None`` means unchanged."""

    party_id: str
    country: str | None = None


@dataclass(frozen=True, slots=True)
class PartyClosureAdded:
    """A party is closed from ``first`` to ``last`` (inclusive local days), e.g. a move."""

    party_id: str
    first: date
    last: date
    reason: str


PartyEvent = PartyRegistered | PartyAmended | PartyClosureAdded

# --- areas -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AreaRegistered:
    """A cooperation area was registered."""

    area_id: str
    name: str


AreaEvent = AreaRegistered

# --- tracks ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackAdded:
    """A recurring engagement with a cadence commitment was agreed."""

    track_id: str
    title: str
    kind: str
    cadence: str
    required: int
    start: date
    tz: str
    parties: tuple[str, ...]
    areas: tuple[str, ...]
    priority: str
    default_duration: str
    reminders: tuple[str, ...]
    host_rotation: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TrackAmended:
    """Some fields of a track changed; ``None`` means unchanged."""

    track_id: str
    title: str | None = None
    kind: str | None = None
    cadence: str | None = None
    required: int | None = None
    start: date | None = None
    tz: str | None = None
    parties: tuple[str, ...] | None = None
    areas: tuple[str, ...] | None = None
    priority: str | None = None
    default_duration: str | None = None
    reminders: tuple[str, ...] | None = None
    host_rotation: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class TrackRetired:
    """A track ends; no sessions are required after ``on``."""

    track_id: str
    on: date


TrackEvent = TrackAdded | TrackAmended | TrackRetired

# --- meetings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionItem:
    """A commitment recorded when a meeting was held. Ids look like ``<meeting-id>/1``."""

    item_id: str
    text: str
    owner: str
    due: date


@dataclass(frozen=True, slots=True)
class MeetingPlanned:
    """A meeting was planned (in a track, or ad hoc when ``track_id`` is None)."""

    meeting_id: str
    track_id: str | None
    title: str
    kind: str
    start: WallTime = field(metadata=_FLAT)
    end: WallTime = field(metadata=_FLAT)
    tz: str
    venue: str | None
    host: str | None
    participants: tuple[str, ...]
    agenda: tuple[str, ...]
    classification: str
    reminders: tuple[str, ...] | None = None  # None: the track's reminder offsets
    # The party whose instance alone changes the meeting (planned there with an identity);
    # added later: None is not written, so meetings planned without one are stored as before.
    convener: str | None = field(default=None, metadata=_ADDED_OPTIONAL)


@dataclass(frozen=True, slots=True)
class MeetingRescheduled:
    """A planned meeting moved to another time (and possibly zone)."""

    meeting_id: str
    start: WallTime = field(metadata=_FLAT)
    end: WallTime = field(metadata=_FLAT)
    tz: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class MeetingAmended:
    """Details of a meeting changed; ``None`` means unchanged, ``""`` clears venue or host."""

    meeting_id: str
    title: str | None = None
    venue: str | None = None
    host: str | None = None
    participants: tuple[str, ...] | None = None
    agenda: tuple[str, ...] | None = None
    classification: str | None = None
    reminders: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class MeetingCancelled:
    """A meeting was called off."""

    meeting_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MeetingHeld:
    """A meeting took place; ``start``/``end`` are when it actually did (``end`` optional)."""

    meeting_id: str
    start: WallTime = field(metadata=_FLAT)
    end: WallTime | None = field(metadata=_FLAT)
    attendance: tuple[str, ...]
    outcomes: tuple[str, ...]
    action_items: tuple[ActionItem, ...]


@dataclass(frozen=True, slots=True)
class ActionItemCompleted:
    """An action item of a held meeting was done."""

    meeting_id: str
    item_id: str
    on: date
    note: str | None


@dataclass(frozen=True, slots=True)
class ActionItemDropped:
    """An action item of a held meeting was abandoned."""

    meeting_id: str
    item_id: str
    on: date
    reason: str | None


MeetingEvent = (
    MeetingPlanned
    | MeetingRescheduled
    | MeetingAmended
    | MeetingCancelled
    | MeetingHeld
    | ActionItemCompleted
    | ActionItemDropped
)

# --- proposals: a change of a meeting another party convenes ----------------------------


@dataclass(frozen=True, slots=True)
class ChangeProposed:
    """A party proposed a new time (``start``, ``end`` in ``tz``) or venue to the convener."""

    proposal_id: str
    meeting_id: str
    proposer: str
    start: WallTime | None = field(metadata=_FLAT)
    end: WallTime | None = field(metadata=_FLAT)
    tz: str | None
    venue: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ProposalAccepted:
    """The convener accepted a proposal (its changes are the meeting's events beside it)."""

    proposal_id: str
    meeting_id: str


@dataclass(frozen=True, slots=True)
class ProposalDeclined:
    """The convener declined a proposal."""

    proposal_id: str
    meeting_id: str
    reason: str


ProposalEvent = ChangeProposed | ProposalAccepted | ProposalDeclined

# --- amendments: a change of a joint track another party added ---------------------------


@dataclass(frozen=True, slots=True)
class AmendmentProposed:
    """A party proposed a change of a track to the party that added it.

    ``amendment``: the track's fields to change, as the track would record them; ``retire_on``:
    the day to retire it on.
    """

    amendment_id: str
    track_id: str
    proposer: str
    amendment: TrackAmended | None
    retire_on: date | None
    reason: str


@dataclass(frozen=True, slots=True)
class AmendmentAccepted:
    """The track's creator accepted a proposed change (its changes are the track's events)."""

    amendment_id: str
    track_id: str


@dataclass(frozen=True, slots=True)
class AmendmentDeclined:
    """The track's creator declined a proposed change."""

    amendment_id: str
    track_id: str
    reason: str


AmendmentEvent = AmendmentProposed | AmendmentAccepted | AmendmentDeclined
# --- minutes: each party's own record of a meeting it attended -------------------------


@dataclass(frozen=True, slots=True)
class MinutesRecorded:
    """A party recorded its own minutes of a meeting another party convenes.

    ``attendance``: the parties present; ``outcomes``: what came of it, as that party saw it.
    The convener's MeetingHeld alone says the meeting took place (and when).
    """

    meeting_id: str
    party: str
    attendance: tuple[str, ...]
    outcomes: tuple[str, ...]

    @property
    def minutes_id(self) -> str:
        """The minutes' id, ``<meeting id>@<party>`` (its stream: ``minutes-<id>``)."""
        return minutes_id(self.meeting_id, self.party)


def minutes_id(meeting_id: str, party: str) -> str:
    """The id of ``party``'s minutes of a meeting (``@`` is in no meeting or party id)."""
    return f"{meeting_id}@{party}"


MinutesEvent = MinutesRecorded

# --- feeds -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedCreated:
    """A calendar subscription was created; only the SHA-256 of its secret token is kept."""

    feed_id: str
    name: str
    scope: str
    include_restricted: bool
    days_back: int
    days_ahead: int
    token_sha256: str


@dataclass(frozen=True, slots=True)
class FeedRevoked:
    """A calendar subscription was revoked: its token no longer works."""

    feed_id: str
    reason: str | None


FeedEvent = FeedCreated | FeedRevoked

# --- this instance's identity and its peers ---------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentityEstablished:
    """The instance speaks for a party; ``public_key`` is its Ed25519 verifier key."""

    party_id: str
    public_key: str


@dataclass(frozen=True, slots=True)
class IdentityKeyRotated:
    """The instance's key was replaced; the previous key signed the rotation statement."""

    party_id: str
    public_key: str
    previous_key: str
    signature: str  # base64 Ed25519 signature of the statement by ``previous_key``


IdentityEvent = IdentityEstablished | IdentityKeyRotated


@dataclass(frozen=True, slots=True)
class PeerAdded:
    """Another instance, speaking for ``peer_id``, was registered with its public key."""

    peer_id: str
    public_key: str
    url: str | None


@dataclass(frozen=True, slots=True)
class PeerRemoved:
    """A peer was removed: nothing more is sent to it or accepted from it."""

    peer_id: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class PeerKeyLearned:
    """A peer's bundle showed its next key, signed by the key before it."""

    peer_id: str
    public_key: str
    previous_key: str
    signature: str  # base64 Ed25519 signature of the rotation statement by ``previous_key``
    valid_from: int  # the peer's log position from which this key signs


PeerEvent = PeerAdded | PeerRemoved | PeerKeyLearned


@dataclass(frozen=True, slots=True)
class EntriesExported:
    """Events became visible to a peer: they extend the sequence sent to it (``sent-`` stream).

    ``entries`` are their texts as sent; ``positions`` where each event is in this log.
    """

    peer_id: str
    entries: tuple[str, ...]
    positions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class BundleAccepted:
    """A peer's bundle was verified and accepted (``received-`` stream).

    Its new entries, kept as received, are applied in the same transaction.

    ``header`` and ``checkpoint`` are its header line and signed note, verbatim;
    ``acknowledged`` how much of what was sent to the peer it had accepted; ``set_aside`` the
    streams whose entries were kept, not applied (a party record this instance owns, an id
    already used here for something else, what was not shared with the peer here);
    ``restored`` the streams set aside before whose entries are applied now (shared since).
    """

    peer_id: str
    header: str
    checkpoint: str
    entries: tuple[str, ...]
    acknowledged: int
    set_aside: tuple[str, ...]
    restored: tuple[str, ...] | None = field(default=None, metadata=_ADDED_OPTIONAL)


ExchangeEvent = EntriesExported | BundleAccepted

InstanceEvent = IdentityEvent | PeerEvent | ExchangeEvent
"""Events about this instance and its exchange with others: never on a schedule or a feed."""

DomainEvent = (
    PartyEvent
    | AreaEvent
    | TrackEvent
    | MeetingEvent
    | ProposalEvent
    | AmendmentEvent
    | MinutesEvent
    | FeedEvent
    | IdentityEvent
    | PeerEvent
    | ExchangeEvent
)

_EVENT_CLASSES: tuple[type[DomainEvent], ...] = (
    PartyRegistered,
    PartyAmended,
    PartyClosureAdded,
    AreaRegistered,
    TrackAdded,
    TrackAmended,
    TrackRetired,
    MeetingPlanned,
    MeetingRescheduled,
    MeetingAmended,
    MeetingCancelled,
    MeetingHeld,
    ActionItemCompleted,
    ActionItemDropped,
    ChangeProposed,
    ProposalAccepted,
    ProposalDeclined,
    AmendmentProposed,
    AmendmentAccepted,
    AmendmentDeclined,
    MinutesRecorded,
    FeedCreated,
    FeedRevoked,
    IdentityEstablished,
    IdentityKeyRotated,
    PeerAdded,
    PeerRemoved,
    PeerKeyLearned,
    EntriesExported,
    BundleAccepted,
)

ALL_EVENTS: Mapping[str, type[DomainEvent]] = MappingProxyType(
    {cls.__name__: cls for cls in _EVENT_CLASSES}
)
"""Every domain event class by its name (the stored ``event_type``)."""
