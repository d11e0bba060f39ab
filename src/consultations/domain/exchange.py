"""The exchange between instances, as text and rules: entries, sequences, checkpoints, bundles.

Each instance keeps, for each peer, an append-only *sequence* of what it sends it: entry 1,
2, 3… each one event of its own log (with the position and hash it has there), chained as
``head(n) = SHA-256(head(n-1) || entry n)`` from 32 zero bytes. A *checkpoint* is a C2SP
``tlog-checkpoint`` over that sequence (origin, size, base64 head), with two extension lines
(the sender's log position when it signed, and the SHA-256 of the bundle's body), signed as
a C2SP signed note. A *bundle* is the body (format line, header, entries) and then the
checkpoint. ``docs/exchange.md`` describes the format for an independent implementation.

The receiver keeps the sequence it accepted from each peer: :func:`judge` says what a new
bundle adds to it, and refuses a gap (entries missing before the bundle's first) or a fork
(a history that differs from the one accepted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

from consultations.domain.commands import AmendMeeting, AmendTrack
from consultations.domain.errors import NotAllowed, VerificationFailed
from consultations.domain.events import (
    ActionItemCompleted,
    ActionItemDropped,
    AmendmentProposed,
    AreaRegistered,
    BundleAccepted,
    DomainEvent,
    EntriesExported,
    MeetingAmended,
    MeetingHeld,
    MeetingPlanned,
    MinutesRecorded,
    PartyAmended,
    PartyClosureAdded,
    PartyRegistered,
    TrackAdded,
    TrackAmended,
)
from consultations.domain.signed_note import MalformedNote, NoteSignature, open_note

FORMAT: Final = "consultations-bundle"
VERSION: Final = 1
FORMAT_LINE: Final = f"{FORMAT}/{VERSION}"
GENESIS: Final = bytes(32)
EXCHANGED: Final = ("party", "area", "track", "meeting", "proposal", "amendment", "minutes")
"""The kinds of stream whose events travel between instances (never feeds, keys, peers)."""
ORIGIN: Final = "origin"
"""Metadata key of an event received from another instance: the party it came from."""
_DIGITS = re.compile(r"0|[1-9][0-9]{0,17}")


def canonical(value: Any) -> str:
    """JSON with sorted keys, no spaces, non-ASCII as is: the one text every party hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def b64(data: bytes) -> str:
    """Standard base64 (RFC 4648, section 4)."""
    return base64.b64encode(data).decode()


def chain(head: bytes, entries: Iterable[str]) -> bytes:
    """The head after ``entries``: ``SHA-256(head || entry)``, entry by entry (UTF-8)."""
    for entry in entries:
        head = hashlib.sha256(head + entry.encode("utf-8")).digest()
    return head


def origin_line(sender: str, receiver: str) -> str:
    """The checkpoint origin of what ``sender`` sends ``receiver``."""
    return f"consultations/{sender}/{receiver}"


def references(event: DomainEvent) -> tuple[set[str], set[str]]:
    """The parties and the areas an event names (they are sent with it)."""
    parties: set[str] = set()
    areas: set[str] = set()
    match event:
        case TrackAdded():
            parties.update(event.parties, event.host_rotation)
            areas.update(event.areas)
        case TrackAmended():
            parties.update(event.parties or (), event.host_rotation or ())
            areas.update(event.areas or ())
        case MeetingPlanned() | MeetingAmended():
            parties.update(event.participants or ())
            parties.update([event.host] if event.host else [])
        case AmendmentProposed():
            if event.amendment is not None:
                return references(event.amendment)
        case MeetingHeld():
            parties.update(event.attendance)
            parties.update(item.owner for item in event.action_items)
        case MinutesRecorded():
            parties.update(event.attendance)
        case (
            PartyRegistered()
            | PartyAmended()
            | PartyClosureAdded()
            | AreaRegistered()
            | ActionItemCompleted()
            | ActionItemDropped()
        ):
            pass
    return parties, areas


def in_peer_scope(
    party: str, track_parties: Collection[str] | None, host: str | None, participants: Iterable[str]
) -> bool:
    """Whether a meeting is in scope ``peer:party``: sent to ``party``, and sendable by it.

    A meeting of a track ``party`` is a party of (``track_parties``; None for an ad-hoc
    meeting), or an ad-hoc meeting it hosts or takes part in. ``adapters/scopes.py`` asks the
    same of the read models.
    """
    if track_parties is not None:
        return party in track_parties
    return party == host or party in participants


def withheld(event: DomainEvent) -> DomainEvent:
    """The event as an entry carries it: without what is never shared.

    A party's e-mail address and reminder offsets stay here (a track's become none, a
    meeting's and an amendment's "the track's", "unchanged").
    """
    match event:
        case PartyRegistered():
            return replace(event, email=None)
        case TrackAdded():
            return replace(event, reminders=())
        case TrackAmended() | MeetingPlanned() | MeetingAmended():
            return replace(event, reminders=None)
    return event


def local_only(change: AmendTrack | AmendMeeting | TrackAmended | MeetingAmended) -> bool:
    """Whether a change of a track or a meeting sets its reminder offsets and nothing else.

    Reminders are each instance's own: such a change is never sent, and any instance may
    make it, whoever added the track or convenes the meeting.
    """
    others = (getattr(change, f.name) for f in fields(change)[1:] if f.name != "reminders")
    return change.reminders is not None and all(value is None for value in others)


# --- the joint schedule -----------------------------------------------------------------------

JOINT_FIELDS: Final = (
    "meeting_id", "track_id", "title", "kind", "status", "start_local", "end_local", "tz",
    "venue", "host", "participants", "agenda", "classification", "outcomes", "cancel_reason",
)  # fmt: skip
"""What both sides of a joint meeting must agree on (not when each recorded it)."""


def meeting_digest(row: Mapping[str, Any]) -> str:
    """A short digest of a meeting's joint fields (a schedule row)."""
    text = canonical({name: row.get(name) for name in JOINT_FIELDS})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def schedule_digest(meetings: Mapping[str, str]) -> str:
    """The digest of a joint schedule: its meetings' ids and digests, in id order."""
    text = "".join(f"{meeting_id} {meetings[meeting_id]}\n" for meeting_id in sorted(meetings))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Difference:
    """A joint meeting the two sides do not agree on (its digest on each side, or None).

    ``in_transit``: it changed here since what the peer last acknowledged, so the peer's
    next bundle should agree.
    """

    meeting_id: str
    here: str | None
    there: str | None
    in_transit: bool = False

    @property
    def how(self) -> str:
        """In words."""
        if self.in_transit:
            return "changed here, not yet acknowledged there"
        if self.there is None:
            return "only here"
        if self.here is None:
            return "only there"
        return "not alike, with nothing in transit"


def differences(here: Mapping[str, str], there: Mapping[str, str]) -> list[Difference]:
    """The meetings two digests of a joint schedule disagree on, by id."""
    return [
        Difference(meeting_id, here.get(meeting_id), there.get(meeting_id))
        for meeting_id in sorted(here.keys() | there.keys())
        if here.get(meeting_id) != there.get(meeting_id)
    ]


# --- entries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of the sender's log, as sent: its sequence number, where it was, what it is.

    ``metadata`` keeps ``command`` and ``reason`` only (never who typed it).
    """

    seq: int
    position: int
    hash: str
    stream: str
    version: int
    type: str
    schema: int
    payload: Mapping[str, Any]
    occurred_at: str
    recorded_at: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The entry as one line of canonical JSON (what is chained)."""
        return canonical({name: getattr(self, name) for name in _ENTRY_FIELDS})

    @classmethod
    def parse(cls, text: str) -> Entry:
        """Read an entry line; VerificationFailed when it is not one."""
        try:
            value = json.loads(text)
            entry = cls(**value)
        except (ValueError, TypeError):
            raise VerificationFailed("bundle", f"{text[:60]!r} is not an entry") from None
        if (
            not all(isinstance(getattr(entry, n), int) for n in ("seq", "position", "version"))
            or not isinstance(entry.payload, dict)
            or not isinstance(entry.stream, str)
            or not isinstance(entry.type, str)
        ):
            raise VerificationFailed("bundle", f"entry {text[:60]!r} has fields of the wrong type")
        return entry


_ENTRY_FIELDS = tuple(f.name for f in fields(Entry))

# --- checkpoints ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed text: whose sequence, how long, its head, when, and which body it ends."""

    origin: str
    size: int
    head: bytes
    position: int  # the sender's log position when it signed: which of its keys is valid
    body: bytes  # SHA-256 of the bundle's body

    def text(self) -> str:
        """The note text (``tlog-checkpoint`` with two extension lines)."""
        return (
            f"{self.origin}\n{self.size}\n{b64(self.head)}\n"
            f"position {self.position}\nbody {b64(self.body)}\n"
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint's note text; VerificationFailed when it is not one."""
        lines = text.split("\n")
        if len(lines) != 6 or lines[5] != "":
            raise _malformed("a checkpoint has five lines")
        origin, size, head, position, body, _ = lines
        if not (_DIGITS.fullmatch(size) and position.startswith("position ")):
            raise _malformed("its size or position is not a number")
        if not body.startswith("body ") or not _DIGITS.fullmatch(position[9:]):
            raise _malformed("its position or body line is missing")
        return cls(origin, int(size), _hash(head), int(position[9:]), _hash(body[5:]))


def _hash(text: str) -> bytes:
    try:
        value = base64.b64decode(text, validate=True)
    except binascii.Error:
        value = b""
    if len(value) != hashlib.sha256().digest_size:
        raise _malformed(f"{text[:20]!r} is not a base64 SHA-256 hash")
    return value


def _malformed(problem: str) -> VerificationFailed:
    return VerificationFailed("bundle", f"malformed checkpoint: {problem}")


# --- bundles --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyStatement:
    """One of the sender's keys and the log position it signs from.

    After the first, ``signature`` is the previous key's signature of the rotation statement.
    """

    key: str
    valid_from: int
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class Header:
    """The bundle's second line: who to whom, which entries, the sender's keys, its ack."""

    sender: str
    receiver: str
    first: int  # sequence number of the first entry in the bundle
    size: int  # the sequence's size (the last entry's number)
    keys: tuple[KeyStatement, ...]
    acknowledged: int  # how much of the receiver's sequence the sender accepted
    acknowledged_head: bytes
    schedule: Mapping[str, str] = field(default_factory=dict)  # joint meeting → its digest

    def text(self) -> str:
        """The header line (canonical JSON)."""
        return canonical(
            {
                "from": self.sender,
                "to": self.receiver,
                "first": self.first,
                "size": self.size,
                "keys": [
                    {"key": k.key, "from": k.valid_from, "signature": k.signature}
                    for k in self.keys
                ],
                "ack": {"size": self.acknowledged, "head": b64(self.acknowledged_head)},
                "schedule": {
                    "digest": schedule_digest(self.schedule),
                    "meetings": dict(self.schedule),
                },
            }
        )

    @classmethod
    def parse(cls, text: str) -> Header:
        """Read the header line; VerificationFailed when it is not one."""
        try:
            value = json.loads(text)
            keys = tuple(
                KeyStatement(item["key"], item["from"], item["signature"]) for item in value["keys"]
            )
            header = cls(
                value["from"],
                value["to"],
                value["first"],
                value["size"],
                keys,
                value["ack"]["size"],
                _hash(value["ack"]["head"]),
                value["schedule"]["meetings"],
            )
            digest = value["schedule"]["digest"]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise VerificationFailed("bundle", "its header is malformed") from None
        if not isinstance(header.schedule, dict) or digest != schedule_digest(header.schedule):
            raise VerificationFailed("bundle", "its schedule digest does not match its meetings")
        numbers = (header.first, header.size, header.acknowledged)
        if not all(isinstance(n, int) and n >= 0 for n in numbers) or header.first < 1:
            raise VerificationFailed("bundle", "its header holds an invalid number")
        return header


@dataclass(frozen=True, slots=True)
class Bundle:
    """A bundle as written: header, entries (``first`` to ``size``), then the signed note.

    ``header_line`` is the header as written (``header`` is what it says).
    """

    header: Header
    header_line: str
    entries: tuple[str, ...]
    note: str

    @classmethod
    def of(cls, header: Header, entries: tuple[str, ...], note: str = "") -> Bundle:
        """A bundle to write."""
        return cls(header, header.text(), entries, note)

    @property
    def body(self) -> str:
        """What the checkpoint's ``body`` line is the SHA-256 of: every line before the note."""
        return "".join(f"{line}\n" for line in (FORMAT_LINE, self.header_line, *self.entries))

    def text(self) -> str:
        """The whole bundle."""
        return self.body + self.note

    @classmethod
    def parse(cls, data: bytes) -> Bundle:
        """Split a bundle into its parts, keeping each line's bytes exactly.

        Only its layout is checked here: signatures and hashes are checked by the importer.
        """
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationFailed("bundle", "it is not UTF-8 text") from None
        first_line, _, rest = text.partition("\n")
        if not first_line.startswith(f"{FORMAT}/"):
            raise VerificationFailed("bundle", "this is not a consultations bundle")
        if first_line != FORMAT_LINE:
            version = first_line.removeprefix(f"{FORMAT}/")
            raise VerificationFailed(
                "bundle", f"format version {version!r}; this version reads {VERSION}"
            )
        header_line, _, rest = rest.partition("\n")
        header = Header.parse(header_line)
        count = header.size - header.first + 1
        if count < 0 or rest.count("\n") < count:
            raise VerificationFailed("bundle", "it holds fewer entries than its header says")
        lines = rest.split("\n", count)
        entries, note = tuple(lines[:count]), lines[count]
        if header.size != header.first - 1 + len(entries):
            raise VerificationFailed("bundle", "it holds fewer entries than its header says")
        return cls(header, header_line, entries, note)

    def checkpoint(self) -> tuple[Checkpoint, str, list[NoteSignature]]:
        """The checkpoint, its note text and its signatures (not yet verified)."""
        return open_checkpoint(self.note)


def open_checkpoint(note: str) -> tuple[Checkpoint, str, list[NoteSignature]]:
    """A signed checkpoint's parts: the checkpoint, its note text, its signatures (unverified)."""
    try:
        text, signatures = open_note(note)
    except MalformedNote as error:
        raise VerificationFailed("bundle", f"malformed checkpoint: {error}") from None
    return Checkpoint.parse(text), text, signatures


# --- sequences --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntrySequence:
    """A sequence of entries as one side holds it: the entries, and the head after each end.

    ``ends`` maps each size a checkpoint was (or may be) made at to the head there.
    """

    entries: tuple[str, ...] = ()
    ends: Mapping[int, bytes] = field(default_factory=lambda: {0: GENESIS})
    positions: frozenset[int] = frozenset()  # of the sender's events (on the sending side)

    @property
    def size(self) -> int:
        """How many entries."""
        return len(self.entries)

    @property
    def head(self) -> bytes:
        """The head after the last entry."""
        return self.ends[self.size]

    def head_at(self, size: int) -> bytes:
        """The head after entry ``size`` (0: the genesis)."""
        if size in self.ends:
            return self.ends[size]
        return chain(GENESIS, self.entries[:size])

    def extended(self, entries: Sequence[str], positions: Iterable[int] = ()) -> EntrySequence:
        """The sequence with ``entries`` after its end."""
        head = chain(self.head, entries)
        ends = {**self.ends, self.size + len(entries): head}
        return EntrySequence((*self.entries, *entries), ends, self.positions.union(positions))


def sent(events: Iterable[EntriesExported]) -> EntrySequence:
    """What was sent to a peer, folded from its ``sent-`` stream."""
    state = EntrySequence()
    for event in events:
        state = state.extended(event.entries, event.positions)
    return state


@dataclass(frozen=True, slots=True)
class Received:
    """What was accepted from a peer: its sequence, its last checkpoint and acknowledgement."""

    sequence: EntrySequence = EntrySequence()
    position: int = 0  # of the last checkpoint accepted
    acknowledged: int = 0  # of what was sent to it
    set_aside: frozenset[str] = frozenset()  # streams whose entries were kept, not applied


def received(events: Iterable[BundleAccepted]) -> Received:
    """What was accepted from a peer, folded from its ``received-`` stream."""
    state = Received()
    for event in events:
        checkpoint, _, _ = open_checkpoint(event.checkpoint)
        state = Received(
            state.sequence.extended(event.entries),
            checkpoint.position,
            max(state.acknowledged, event.acknowledged),
            state.set_aside.union(event.set_aside).difference(event.restored or ()),
        )
    return state


def judge(
    state: Received, peer: str, first: int, entries: Sequence[str], checkpoint: Checkpoint
) -> tuple[str, ...]:
    """The entries of a verified bundle that extend what was accepted from ``peer``.

    Empty for a bundle that adds nothing (the same one again, or an older one). Refuses a
    bundle that leaves a gap (NotAllowed) and one whose history differs from the one accepted
    (VerificationFailed, naming the first entry that differs, or up to which one it does).
    """
    accepted = state.sequence
    if first > accepted.size + 1:
        missing = (
            f"{accepted.size + 1}"
            if first == accepted.size + 2
            else f"{accepted.size + 1}–{first - 1}"
        )
        raise NotAllowed(
            "bundle",
            f"entries {missing} from {peer} are missing before this bundle's first ({first}); "
            f"import the bundles before it, or ask {peer} for a new export",
        )
    for number, entry in enumerate(entries[: max(0, accepted.size - first + 1)], start=first):
        if accepted.entries[number - 1] != entry:
            raise VerificationFailed(
                "bundle",
                f"forked history: entry {number} from {peer} differs from the one accepted",
            )
    if checkpoint.size <= accepted.size:
        if accepted.head_at(checkpoint.size) != checkpoint.head:
            raise VerificationFailed(
                "bundle",
                f"forked history: {peer}'s entries up to {checkpoint.size} differ "
                "from those accepted",
            )
        return ()
    new = tuple(entries[accepted.size - first + 1 :])
    if chain(accepted.head, new) != checkpoint.head:
        raise VerificationFailed(
            "bundle",
            f"forked history: {peer}'s entries up to {accepted.size} differ from those accepted",
        )
    if checkpoint.position < state.position:
        raise VerificationFailed(
            "bundle", f"its checkpoint goes back to position {checkpoint.position}"
        )
    return new


# --- signed pulls over HTTP -------------------------------------------------------------------

PULL_PATH: Final = "/sync/pull"


def pull_statement(  # noqa: PLR0917 - the statement's fields, in its order
    party: str, receiver: str, method: str, path: str, body: bytes, timestamp: int, nonce: str
) -> bytes:
    """What a peer signs to pull: who, from whom, the method, path, body's SHA-256, time.

    The receiver (the party of the instance asked) keeps a pull from being replayed to
    another instance; a random nonce makes two pulls in the same second two requests.
    """
    digest = hashlib.sha256(body).hexdigest()
    lines = (
        "consultations sync pull", party, receiver, method, path, digest, str(timestamp), nonce,
    )  # fmt: skip
    return "".join(f"{line}\n" for line in lines).encode()
