"""Commands: requests to change the domain, named in the imperative, grouped by aggregate.

Commands carry user input as given (e.g. ``"PT3H"``, ``"half-year"``, local wall times);
the deciders validate and normalise it. ``None`` in an amendment means "leave unchanged".
"""

from dataclasses import dataclass
from datetime import date, datetime

from consultations.domain.events import minutes_id

# --- parties -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterParty:
    """Register a participating institution such as ``TM-MFA`` (Asia/Ashgabat)."""

    party_id: str
    name: str
    tz: str
    departments: tuple[str, ...] = ()
    email: str | None = None  # the secretariat's address, e.g. "protocol@mfa.example"
    country: str | None = None  # ISO 3166 code whose public holidays apply, e.g. "TM"


@dataclass(frozen=True, slots=True, kw_only=True)
class AmendParty:
    """Change a party's country (``None`` = unchanged)."""

    party_id: str
    country: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddPartyClosure:
    """Record that a party is closed from ``first`` to ``last`` (inclusive), and why."""

    party_id: str
    first: date
    last: date
    reason: str


PartyCommand = RegisterParty | AmendParty | AddPartyClosure

# --- areas -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterArea:
    """Register a cooperation area such as ``energy``."""

    area_id: str
    name: str


AreaCommand = RegisterArea

# --- tracks ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AddTrack:
    """Agree a recurring engagement. ``tz`` is required here; the service picks a default."""

    track_id: str
    title: str
    kind: str
    cadence: str
    start: date
    tz: str
    parties: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    priority: str = "medium"
    required: int = 1
    default_duration: str = "PT2H"
    reminders: tuple[str, ...] = ()
    host_rotation: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AmendTrack:
    """Change any subset of a track's mutable fields (``None`` = unchanged)."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class RetireTrack:
    """End a track on a date (on or after its start)."""

    track_id: str
    on: date


TrackCommand = AddTrack | AmendTrack | RetireTrack

# --- meetings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NewActionItem:
    """An action item as entered when recording a meeting held (``TEXT|OWNER|DUE``)."""

    text: str
    owner: str
    due: date


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanMeeting:
    """Plan a meeting at a local wall time.

    Give at most one of ``end`` and ``duration``; without either the track's default
    duration (PT2H ad hoc) applies. ``tz``, ``kind`` and ``participants`` default to the
    track's; ``host`` defaults to the next host in the track's rotation. ``fold`` (0|1)
    resolves a wall time that occurs twice.
    """

    meeting_id: str
    title: str
    start: datetime
    track_id: str | None = None
    end: datetime | None = None
    duration: str | None = None
    tz: str | None = None
    fold: int | None = None
    kind: str | None = None
    venue: str | None = None
    host: str | None = None
    participants: tuple[str, ...] = ()
    agenda: tuple[str, ...] = ()
    classification: str = "internal"
    reminders: tuple[str, ...] | None = None  # None: the track's reminder offsets


@dataclass(frozen=True, slots=True, kw_only=True)
class RescheduleMeeting:
    """Move a meeting. Without ``end``/``duration`` it keeps its length; ``tz`` its zone."""

    meeting_id: str
    start: datetime
    end: datetime | None = None
    duration: str | None = None
    tz: str | None = None
    fold: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AmendMeeting:
    """Change meeting details (``None`` = unchanged; ``""`` clears venue or host)."""

    meeting_id: str
    title: str | None = None
    venue: str | None = None
    host: str | None = None
    participants: tuple[str, ...] | None = None
    agenda: tuple[str, ...] | None = None
    classification: str | None = None
    reminders: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelMeeting:
    """Call a meeting off; a reason is required."""

    meeting_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordMeetingHeld:
    """Record that a meeting took place.

    ``on`` is the actual local start (default: the planned start), ``end`` the optional
    actual local end, both in the meeting's zone.
    """

    meeting_id: str
    on: datetime | None = None
    end: datetime | None = None
    fold: int | None = None
    attendance: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    action_items: tuple[NewActionItem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteActionItem:
    """Mark an action item (``<meeting-id>/<n>``) done, by default today in the meeting's zone."""

    meeting_id: str
    item_id: str
    on: date | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DropActionItem:
    """Abandon an action item (``<meeting-id>/<n>``)."""

    meeting_id: str
    item_id: str
    on: date | None = None
    reason: str | None = None


MeetingCommand = (
    PlanMeeting
    | RescheduleMeeting
    | AmendMeeting
    | CancelMeeting
    | RecordMeetingHeld
    | CompleteActionItem
    | DropActionItem
)

# --- proposals ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposeChange:
    """Propose a new time (as ``RescheduleMeeting`` takes it) or venue to a meeting's convener."""

    proposal_id: str
    meeting_id: str
    reason: str
    start: datetime | None = None
    end: datetime | None = None
    duration: str | None = None
    tz: str | None = None
    fold: int | None = None
    venue: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptProposal:
    """Settle a proposal as accepted (its changes are made by the meeting's own commands)."""

    proposal_id: str
    meeting_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclineProposal:
    """Decline a proposal, saying why."""

    proposal_id: str
    meeting_id: str
    reason: str


ProposalCommand = ProposeChange | AcceptProposal | DeclineProposal


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposeAmendment:
    """Propose a change of a joint track to the party that added it.

    ``amendment``: the fields to change, as ``AmendTrack`` takes them; ``retire_on``: the
    day to retire the track on; one of them or both.
    """

    amendment_id: str
    track_id: str
    reason: str
    amendment: AmendTrack | None = None
    retire_on: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptAmendment:
    """Settle a proposed track change as accepted (the track's own commands make it)."""

    amendment_id: str
    track_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclineAmendment:
    """Decline a proposed track change, saying why."""

    amendment_id: str
    track_id: str
    reason: str


AmendmentCommand = ProposeAmendment | AcceptAmendment | DeclineAmendment

# --- minutes: each party's own record of a meeting it attended -------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordMinutes:
    """Record ``party``'s own minutes of a meeting another party convenes.

    ``attendance``: the parties present; ``outcomes``: what came of it, as this party sees it.
    """

    meeting_id: str
    party: str
    attendance: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()

    @property
    def minutes_id(self) -> str:
        """The minutes' id: ``<meeting id>@<party>``."""
        return minutes_id(self.meeting_id, self.party)


MinutesCommand = RecordMinutes


# --- feeds -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateFeed:
    """Create a calendar subscription for a scope (``all``, ``track:ID``, ``area:A``, ``party:P``).

    The secret token is made outside the domain; only its SHA-256 comes in.
    """

    feed_id: str
    scope: str
    token_sha256: str
    name: str | None = None
    include_restricted: bool = False
    days_back: int = 90
    days_ahead: int = 730


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeFeed:
    """Revoke a calendar subscription."""

    feed_id: str
    reason: str | None = None


FeedCommand = CreateFeed | RevokeFeed

# --- this instance's identity and its peers ---------------------------------------------

THIS_INSTANCE = "instance"
"""The id of the one identity an instance has (its stream is ``identity-instance``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EstablishIdentity:
    """Speak for ``party_id`` with the key pair whose public half is ``public_key``."""

    party_id: str
    public_key: str
    identity_id: str = THIS_INSTANCE


@dataclass(frozen=True, slots=True, kw_only=True)
class RotateIdentityKey:
    """Replace the key; ``signature`` is the current key's signature of the statement."""

    public_key: str
    signature: str
    identity_id: str = THIS_INSTANCE


IdentityCommand = EstablishIdentity | RotateIdentityKey


@dataclass(frozen=True, slots=True, kw_only=True)
class AddPeer:
    """Register the instance of another party by its public key (and where to reach it)."""

    peer_id: str
    public_key: str
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RemovePeer:
    """Stop exchanging with a peer."""

    peer_id: str
    reason: str | None = None


PeerCommand = AddPeer | RemovePeer

DomainCommand = (
    PartyCommand
    | AreaCommand
    | TrackCommand
    | MeetingCommand
    | ProposalCommand
    | AmendmentCommand
    | MinutesCommand
    | FeedCommand
    | IdentityCommand
    | PeerCommand
)
