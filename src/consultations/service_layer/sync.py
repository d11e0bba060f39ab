"""Bundles between instances: export what a peer may see, import what a peer sent.

Export extends the sequence kept for the peer with the events of this log it may now see
(:func:`shared_streams`), then writes every entry it has not acknowledged, this instance's
acknowledgement of the peer's sequence, and a checkpoint signed with this instance's key.
Import verifies the bundle (signature, body, key history, that it extends what was accepted
before) and, in one append, records it and applies its new events, each with its origin,
the position and hash it has there: the projections consume them like any event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from consultations.adapters.eventlog import EventLog, EventMapper, RecordedEvent, UnknownEventType
from consultations.adapters.eventlog.hash_chain import instant
from consultations.adapters.peer_http import post
from consultations.adapters.signing import SigningKey, verifies
from consultations.domain import exchange, minutes, peers
from consultations.domain.aggregates import (
    AMENDMENT,
    AREA,
    MEETING,
    PARTY,
    PEER,
    PROPOSAL,
    RECEIVED,
    SENT,
    TRACK,
    named,
    of_stream,
)
from consultations.domain.errors import DomainError, NotAllowed, UnknownId, VerificationFailed
from consultations.domain.events import (
    AmendmentProposed,
    BundleAccepted,
    ChangeProposed,
    DomainEvent,
    EntriesExported,
    MeetingAmended,
    MeetingPlanned,
    MinutesRecorded,
    PeerAdded,
    PeerKeyLearned,
    PeerRemoved,
    TrackAmended,
)
from consultations.domain.exchange import (
    EXCHANGED,
    ORIGIN,
    PULL_PATH,
    Bundle,
    Checkpoint,
    Difference,
    Entry,
    Header,
    differences,
    in_peer_scope,
    judge,
    local_only,
    meeting_digest,
    origin_line,
    pull_statement,
    references,
    withheld,
)
from consultations.domain.identity import KeyPeriod, key_at, rotation_statement
from consultations.domain.meeting_proposals import Proposal
from consultations.domain.meetings import Meeting
from consultations.domain.peers import Peer
from consultations.domain.signed_note import NoteSignature, VerifierKey
from consultations.domain.track_amendments import Amendment, check_received
from consultations.domain.tracks import Track
from consultations.service_layer.handlers import convener_of
from consultations.service_layer.identity import key_history, require_identity, signing_key
from consultations.service_layer.services import CommandService, Provenance
from consultations.service_layer.unit_of_work import UnitOfWork
from consultations.service_layer.wording import describe_time, plural

_KEPT_METADATA = ("command", "reason")  # what an entry tells of how its event came about


class Shared(Protocol):
    """What the read models say a peer may see (scope ``peer:P``)."""

    def shared_with(self, peer: str) -> dict[str, list[str]]:
        """The ids of the tracks, meetings, proposals, … shared with ``peer``, by aggregate."""

    def joint_schedule(self, peer: str) -> list[dict[str, Any]]:
        """The schedule rows of the meetings shared with ``peer``."""


@dataclass(frozen=True, slots=True)
class Exported:
    """A bundle written for a peer: its text, which entries it holds, how many are new."""

    peer: str
    text: str
    first: int
    size: int
    new: int


@dataclass(frozen=True, slots=True)
class Imported:
    """What importing a bundle did (``recorded`` False: it added nothing, nothing was written)."""

    peer: str
    first: int  # the first entry accepted now (size + 1 when none)
    size: int  # the peer's sequence accepted so far
    applied: int  # events of those entries recorded in this log; the others set aside
    set_aside: tuple[str, ...]  # streams set aside for the first time
    acknowledged: int  # how much of what this instance sent the peer has accepted
    recorded: bool
    why: Mapping[str, str] = field(default_factory=dict)  # see ``_Applying.why``
    restored: tuple[str, ...] = ()  # streams set aside before, applied now


# --- export -----------------------------------------------------------------------------------


def export_bundle(
    commands: CommandService,
    shared: Shared,
    key_file: Path,
    peer_id: str,
    provenance: Provenance,
) -> Exported:
    """Extend the sequence sent to ``peer_id`` and write what it has not acknowledged."""
    store = commands.store
    identity, key = signing_key(store, key_file)
    uow = UnitOfWork(store)
    _active_peer(uow, peer_id)
    sent_stream = SENT.stream_id(peer_id)
    sent = uow.folded(sent_stream, exchange.sent)
    received = uow.folded(RECEIVED.stream_id(peer_id), exchange.received)
    new = [
        event
        for event in _events_shared(store, shared, peer_id)
        if event.position not in sent.positions
    ]
    entries = tuple(
        _entry(store.mapper, sent.size + number, event) for number, event in enumerate(new, 1)
    )
    if entries:
        positions = tuple(event.position for event in new)
        uow.record(sent_stream, [EntriesExported(peer_id, entries, positions)])
        uow.commit(provenance.metadata("ExportBundle"))
        sent = sent.extended(entries, positions)
    first = received.acknowledged + 1
    header = Header(
        sender=identity.party_id,
        receiver=peer_id,
        first=first,
        size=sent.size,
        keys=key_history(store),
        acknowledged=received.sequence.size,
        acknowledged_head=received.sequence.head,
        schedule=joint_digests(shared, peer_id),
    )
    bundle = Bundle.of(header, sent.entries[first - 1 :])
    checkpoint = Checkpoint(
        origin_line(identity.party_id, peer_id),
        sent.size,
        sent.head,
        store.head()[0],
        hashlib.sha256(bundle.body.encode("utf-8")).digest(),
    )
    signed = Bundle.of(header, bundle.entries, key.sign_note(checkpoint.text()))
    return Exported(peer_id, signed.text(), first, sent.size, len(entries))


def joint_digests(shared: Shared, peer_id: str) -> dict[str, str]:
    """The digest of each meeting of the joint schedule with ``peer_id``, by id."""
    return {row["meeting_id"]: meeting_digest(row) for row in shared.joint_schedule(peer_id)}


def _active_peer(uow: UnitOfWork, peer_id: str) -> Peer:
    peer: Peer | None = uow.state(PEER, peer_id)
    if peer is None:
        raise UnknownId("peer", peer_id, hint="register it with `peer add`")
    if peer.removed:
        raise NotAllowed("peer", f"{peer_id} was removed; `peer add` registers it again")
    return peer


def shared_streams(store: EventLog, shared: Shared, peer_id: str) -> dict[str, list[RecordedEvent]]:
    """Every stream the peer may see now, with its events.

    The tracks it is a party of and the amendments proposed of them, their meetings, its
    ad-hoc meetings, the proposals about these meetings and the minutes of them, and the
    parties and areas these name (not the peer's own party record, which is its to keep).
    """
    streams: dict[str, list[RecordedEvent]] = store.read_streams(
        named(name).stream_id(id_)
        for name, ids in shared.shared_with(peer_id).items()
        for id_ in ids
    )
    parties: set[str] = set()
    areas: set[str] = set()
    for event in _own(e for events in streams.values() for e in events):
        named_parties, named_areas = references(event.event)
        parties |= named_parties
        areas |= named_areas
    parties.discard(peer_id)
    streams.update(
        store.read_streams(
            [PARTY.stream_id(p) for p in parties] + [AREA.stream_id(a) for a in areas]
        )
    )
    return streams


def _events_shared(store: EventLog, shared: Shared, peer_id: str) -> list[RecordedEvent]:
    """The events recorded here of the streams shared with the peer, in log order.

    Not a change of nothing but reminder offsets, which are each instance's own.
    """
    streams = shared_streams(store, shared, peer_id)
    recorded = _own(e for events in streams.values() for e in events)
    return sorted((e for e in recorded if not _local(e.event)), key=_position)


def _local(event: DomainEvent) -> bool:
    return isinstance(event, TrackAmended | MeetingAmended) and local_only(event)


def _position(event: RecordedEvent) -> int:
    return event.position


def _own(events: Iterable[RecordedEvent]) -> Iterable[RecordedEvent]:
    """Events recorded here, not received from another instance."""
    return (event for event in events if ORIGIN not in event.metadata)


def _entry(mapper: EventMapper, seq: int, recorded: RecordedEvent) -> str:
    event_type, payload, schema = mapper.to_stored(withheld(recorded.event))
    metadata = {k: recorded.metadata[k] for k in _KEPT_METADATA if recorded.metadata.get(k)}
    return Entry(
        seq=seq,
        position=recorded.position,
        hash=recorded.hash,
        stream=recorded.stream_id,
        version=recorded.stream_version,
        type=event_type,
        schema=schema,
        payload=payload,
        occurred_at=instant(recorded.occurred_at),
        recorded_at=instant(recorded.recorded_at),
        metadata=metadata,
    ).text()


# --- import -----------------------------------------------------------------------------------


@dataclass
class _Applying:
    """The new entries of one bundle being applied: where each stream came from."""

    peer: str
    own_party: str
    uow: UnitOfWork
    set_aside: set[str] = field(default_factory=set)
    why: dict[str, str] = field(default_factory=dict)  # why a stream was set aside, if not
    applied: int = 0  # because its id is used here already


def import_bundle(commands: CommandService, data: bytes, provenance: Provenance) -> Imported:
    """Verify a bundle and apply what it adds, in one append (or refuse it, writing nothing)."""
    store = commands.store
    identity = require_identity(store)
    bundle = Bundle.parse(data)
    header = bundle.header
    uow = UnitOfWork(store)
    peer = uow.state(PEER, header.sender)
    if peer is None or peer.removed:
        raise VerificationFailed(
            "bundle", f"it is signed for {header.sender}, which is not a registered peer"
        )
    checkpoint, text, signatures = bundle.checkpoint()
    learned = _verify_keys(peer, header, checkpoint, text, signatures)
    if hashlib.sha256(bundle.body.encode("utf-8")).digest() != checkpoint.body:
        raise VerificationFailed("bundle", "its content does not match its signed checkpoint")
    if (
        checkpoint.origin != origin_line(header.sender, header.receiver)
        or checkpoint.size != header.size
    ):
        raise VerificationFailed("bundle", "its header does not match its signed checkpoint")
    if header.receiver != identity.party_id:
        raise NotAllowed(
            "bundle",
            f"it is for {header.receiver}; this instance speaks for {identity.party_id}",
        )
    received_stream = RECEIVED.stream_id(peer.id)
    received = uow.folded(received_stream, exchange.received)
    new = judge(received, peer.id, header.first, bundle.entries, checkpoint)
    sent = uow.folded(SENT.stream_id(peer.id), exchange.sent)
    if (
        header.acknowledged > sent.size
        or sent.head_at(header.acknowledged) != header.acknowledged_head
    ):
        raise VerificationFailed(
            "bundle", f"{peer.id} acknowledges entries of ours that were never sent to it"
        )
    newly_acknowledged = header.acknowledged > received.acknowledged
    if not new and not newly_acknowledged and not learned:
        size = received.sequence.size
        return Imported(peer.id, size + 1, size, 0, (), received.acknowledged, recorded=False)
    applying = _Applying(peer.id, identity.party_id, uow, set(received.set_aside))
    _apply(store.mapper, applying, received.sequence.size, new)
    restored = _restore(store.mapper, applying, (*received.sequence.entries, *new))
    set_aside = tuple(sorted(applying.set_aside - received.set_aside))
    if learned:  # before the bundle: the key it was signed with is known from here on
        uow.record(PEER.stream_id(peer.id), learned)
    uow.record(
        received_stream,
        [
            BundleAccepted(
                peer.id,
                bundle.header_line,
                bundle.note,
                new,
                header.acknowledged,
                set_aside,
                restored or None,
            )
        ],
    )
    uow.commit(provenance.metadata("ImportBundle"))
    return Imported(
        peer.id,
        received.sequence.size + 1,
        received.sequence.size + len(new),
        applying.applied,
        set_aside,
        max(header.acknowledged, received.acknowledged),
        recorded=True,
        why=applying.why,
        restored=restored,
    )


def _verify_keys(
    peer: Peer,
    header: Header,
    checkpoint: Checkpoint,
    text: str,
    signatures: list[NoteSignature],
) -> list[PeerKeyLearned]:
    """Check the sender's key history against the keys known and the checkpoint's signature.

    Returns the keys the history hands over to that were not known yet. The checkpoint must
    be signed by the key valid at its position: a signature by an earlier key is a revoked
    key's, by none known an unknown key's.
    """
    keys = [statement.key for statement in header.keys]
    known = [period.public_key for period in peer.keys]
    if known[0] not in keys:
        raise VerificationFailed("bundle", f"it is not signed by the key registered for {peer.id}")
    history = header.keys[keys.index(known[0]) :]
    for statement, period in zip(history[1:], peer.keys[1:], strict=False):
        if (statement.key, statement.valid_from) != (period.public_key, period.valid_from):
            raise VerificationFailed(
                "bundle", f"its key history differs from the one {peer.id} showed before"
            )
    learned = []
    for previous, statement in zip(history[len(known) - 1 :], history[len(known) :], strict=False):
        handed_over = _base64(statement.signature or "")
        previous_key = VerifierKey.parse(previous.key)
        if (
            VerifierKey.parse(statement.key).name != peer.id
            or statement.valid_from <= previous.valid_from
            or not verifies(
                previous_key, rotation_statement(previous.key, statement.key), handed_over
            )
        ):
            raise VerificationFailed("bundle", f"a key hand-over of {peer.id} does not verify")
        learned.append(
            PeerKeyLearned(
                peer.id,
                statement.key,
                previous.key,
                statement.signature or "",
                statement.valid_from,
            )
        )
    periods = [*peer.keys, *(KeyPeriod(k.public_key, k.valid_from) for k in learned)]
    valid = key_at(periods, checkpoint.position)
    signers = {(s.name, s.key_id): s for s in signatures}
    if valid is not None:
        key = VerifierKey.parse(valid.public_key)
        signature = signers.get((key.name, key.key_id))
        if signature is not None:
            if not verifies(key, text.encode("utf-8"), signature.signature):
                raise VerificationFailed("bundle", "its checkpoint signature does not verify")
            return learned
    for period in periods:
        key = VerifierKey.parse(period.public_key)
        if (key.name, key.key_id) in signers:
            raise VerificationFailed(
                "bundle",
                f"it is signed by a revoked key of {peer.id} ({key.fingerprint}), "
                f"not by the key valid at its position {checkpoint.position}",
            )
    raise VerificationFailed("bundle", f"it is signed by an unknown key, not {peer.id}'s")


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return b""


def _apply(mapper: EventMapper, applying: _Applying, before: int, entries: Iterable[str]) -> None:
    """Record each entry's event in its stream, or set it aside (see :func:`_verdict`)."""
    parsed = [Entry.parse(text) for text in entries]
    applying.uow.preload(entry.stream for entry in parsed)
    for seq, entry in enumerate(parsed, before + 1):
        if entry.seq != seq:
            raise VerificationFailed("bundle", f"entry {seq} is numbered {entry.seq}")
        event = _decoded(mapper, applying.peer, entry)
        kept_out = _verdict(applying, entry, event)
        if kept_out is None:
            _record(applying, entry, event)
            continue
        if entry.stream not in applying.set_aside and kept_out:
            applying.why[entry.stream] = kept_out
        applying.set_aside.add(entry.stream)
    _check_whole(applying, {entry.stream for entry in parsed} - applying.set_aside)


def _verdict(applying: _Applying, entry: Entry, event: DomainEvent) -> str | None:
    """None if the entry's event is applied; else why it is kept out ("": said before).

    Refuses (NotAllowed) what no honest sender sends (see :func:`_check_sender_may`).
    """
    where = f"entry {entry.seq} from {applying.peer}"
    if entry.stream in applying.set_aside:
        return ""
    if _of_what_is_set_aside(applying, event):
        return "it is of a track or meeting kept in a bundle only"
    if not _applies(applying, entry.stream, event):
        if PROPOSAL.owns(entry.stream) or AMENDMENT.owns(entry.stream):
            return f"{where} settles what {applying.peer} does not settle"
        if PARTY.owns(entry.stream):
            return ""  # this instance's own record, or a record kept here
        if entry.version > 1:
            raise NotAllowed(
                "bundle", f"{where} changes {entry.stream}, which {applying.peer} did not start"
            )
        return "the id is used here already"
    return _check_sender_may(applying, where, event)


def _record(applying: _Applying, entry: Entry, event: DomainEvent) -> None:
    metadata: dict[str, Any] = {
        ORIGIN: applying.peer,
        "origin_seq": entry.seq,
        "origin_position": entry.position,
        "origin_hash": entry.hash,
        "source": f"peer:{applying.peer}",
        **{k: v for k, v in entry.metadata.items() if k in _KEPT_METADATA},
    }
    applying.uow.record_received(entry.stream, event, metadata)
    applying.applied += 1


def _check_whole(applying: _Applying, stream_ids: Iterable[str]) -> None:
    """Each stream's events, those received after those here, must make a whole."""
    for stream_id in stream_ids:
        try:
            applying.uow.folded(stream_id, of_stream(stream_id).fold)
        except ValueError as error:
            raise NotAllowed(
                "bundle", f"the entries from {applying.peer} for {stream_id} do not apply: {error}"
            ) from None


def _restore(mapper: EventMapper, applying: _Applying, kept: Sequence[str]) -> tuple[str, ...]:
    """Apply the streams set aside before that apply now (shared with the peer since).

    ``kept``: the entries accepted from the peer, this bundle's included. A stream whose id
    is used here stays aside; another is restored whole or not at all: each of its entries
    must apply, in order.
    """
    earlier = applying.set_aside - applying.why.keys()
    applying.uow.preload(earlier)
    candidates = {s for s in earlier if _started_by(applying, s) is None}
    if not candidates:
        return ()
    by_stream: dict[str, list[Entry]] = {}
    for text in kept:
        stream = next((s for s in candidates if f'"stream":{json.dumps(s)}' in text), None)
        if stream is not None:
            by_stream.setdefault(stream, []).append(Entry.parse(text))
    restored = []
    for stream_id, entries in sorted(by_stream.items(), key=lambda item: item[1][0].seq):
        applying.set_aside.discard(stream_id)
        events = [_decoded(mapper, applying.peer, entry) for entry in entries]
        try:
            verdicts = [_verdict(applying, e, ev) for e, ev in zip(entries, events, strict=True)]
        except NotAllowed:
            verdicts = ["refused"]
        if any(verdict is not None for verdict in verdicts) or not _whole(stream_id, events):
            applying.set_aside.add(stream_id)
            continue
        for entry, event in zip(entries, events, strict=True):
            _record(applying, entry, event)
        restored.append(stream_id)
    return tuple(restored)


def _whole(stream_id: str, events: Sequence[DomainEvent]) -> bool:
    """Whether a stream's events, all of it, make a whole."""
    try:
        of_stream(stream_id).fold(events)
    except ValueError:
        return False
    return True


def _decoded(mapper: EventMapper, peer: str, entry: Entry) -> DomainEvent:
    """The entry's event, checked to belong to its stream, of a kind that is exchanged."""
    where = f"entry {entry.seq} from {peer}"
    try:
        aggregate = of_stream(entry.stream)
    except ValueError:
        aggregate = None
    if aggregate is None or aggregate.name not in EXCHANGED:
        raise NotAllowed("bundle", f"{where} is for {entry.stream!r}, which is never exchanged")
    try:
        event: DomainEvent = mapper.from_stored(entry.type, entry.schema, entry.payload)
    except (UnknownEventType, ValueError, KeyError) as error:
        raise NotAllowed(
            "bundle", f"{where} cannot be read by this version ({error}); upgrade it"
        ) from None
    if getattr(event, aggregate.id_field, None) != aggregate.id_of(entry.stream):
        raise NotAllowed("bundle", f"{where} does not belong to its stream {entry.stream!r}")
    return event


def _applies(applying: _Applying, stream_id: str, event: DomainEvent) -> bool:
    """Whether a received event goes into this log, or is set aside (kept in the bundle only).

    A stream started by the sender (or new) takes the sender's events. A party's own record
    comes from its own instance: the sender's record of itself replaces a provisional one,
    and nobody's record replaces this instance's own party. A stream started here or by
    another instance keeps its events, and a meeting of a track set aside is set aside too,
    as are minutes of a meeting set aside.
    """
    if stream_id in applying.set_aside:
        return False
    if PROPOSAL.owns(stream_id) or AMENDMENT.owns(stream_id):
        return _proposal_applies(applying, stream_id, event)
    if PARTY.owns(stream_id):
        party = PARTY.id_of(stream_id)
        if party == applying.own_party:
            return False
        if party == applying.peer:
            return True
    return _started_by(applying, stream_id) in (None, applying.peer)


def _of_what_is_set_aside(applying: _Applying, event: DomainEvent) -> bool:
    """A meeting of a track set aside, or minutes of a meeting set aside (another one's)."""
    if isinstance(event, MeetingPlanned) and event.track_id is not None:
        return TRACK.stream_id(event.track_id) in applying.set_aside
    if isinstance(event, MinutesRecorded):
        return MEETING.stream_id(event.meeting_id) in applying.set_aside
    return False


def _proposal_applies(applying: _Applying, stream_id: str, event: DomainEvent) -> bool:
    """Each side makes its own proposals; the convener or the track's creator settles them.

    A proposal about a meeting is settled by its convener, an amendment by the track's
    creator: as the proposal here names them, whatever the settlement says.
    """
    if isinstance(event, ChangeProposed | AmendmentProposed):
        return event.proposer == applying.peer and _started_by(applying, stream_id) is None
    if AMENDMENT.owns(stream_id):
        amendment: Amendment | None = applying.uow.state(AMENDMENT, AMENDMENT.id_of(stream_id))
        if amendment is None or getattr(event, "track_id", None) != amendment.track_id:
            return False
        settler = _started_by(applying, TRACK.stream_id(amendment.track_id))
    else:
        proposal: Proposal | None = applying.uow.state(PROPOSAL, PROPOSAL.id_of(stream_id))
        if proposal is None or getattr(event, "meeting_id", None) != proposal.meeting_id:
            return False
        settler = convener_of(applying.uow, proposal.meeting_id)
    return settler == applying.peer


def _check_sender_may(applying: _Applying, where: str, event: DomainEvent) -> str | None:
    """Refuse (NotAllowed) an entry no honest sender sends; say why one is kept out instead.

    Never sent by an honest peer: what is never shared (reminder offsets, an e-mail
    address), a meeting another party convenes, a proposal or amendment under an id not of
    the sender's (``<P>-<n>``) or that its own rules refuse, minutes of another party.
    Kept out (set aside, with the reason returned), because a change that crossed it in
    transit can cause it: a meeting outside the sender's scope as seen here (``peer:P``: a
    track it is a party of, or an ad-hoc meeting it hosts or takes part in), a proposal or
    minutes of a meeting not here or not in that scope, an amendment of a track not here,
    not shared with the sender, or added by the sender itself. None: it applies.
    """
    if withheld(event) != event:
        raise NotAllowed(
            "bundle", f"{where} carries what is never sent (reminder offsets, an e-mail address)"
        )
    if isinstance(event, ChangeProposed | AmendmentProposed):
        return _check_proposal(applying, where, event)
    if isinstance(event, MinutesRecorded):
        if event.party != applying.peer:
            raise NotAllowed(
                "bundle",
                f"{where} records minutes of {event.party}; {applying.peer} records only its own",
            )
        try:
            minutes.check_received(event, convener_of(applying.uow, event.meeting_id))
        except DomainError as error:
            raise NotAllowed(
                "bundle", f"{where} records minutes that are refused: {error}"
            ) from None
        return _unshared_meeting(applying, event.meeting_id, "its minutes are of")
    if isinstance(event, MeetingPlanned):
        if event.convener not in {None, applying.peer}:
            raise NotAllowed(
                "bundle",
                f"{where} plans meeting {event.meeting_id} convened by {event.convener}; "
                f"{applying.peer} sends only meetings it convenes",
            )
        if not _in_scope_of_sender(applying, event):
            return (
                f"meeting {event.meeting_id} is outside what {applying.peer} takes part in "
                f"here (track {event.track_id or '(ad hoc)'})"
            )
    return None


def _check_proposal(
    applying: _Applying, where: str, event: ChangeProposed | AmendmentProposed
) -> str | None:
    """A proposal or amendment under an id of the sender's, of what it shares with it here."""
    peer = applying.peer
    proposal_id = event.proposal_id if isinstance(event, ChangeProposed) else event.amendment_id
    number = proposal_id.removeprefix(f"{peer}-")
    if number == proposal_id or not (number.isascii() and number.isdigit()):
        raise NotAllowed("bundle", f"{where} proposes {proposal_id}, not an id of {peer}'s")
    if isinstance(event, ChangeProposed):
        return _unshared_meeting(applying, event.meeting_id, f"proposal {proposal_id} is about")
    try:
        check_received(event)
    except DomainError as error:
        raise NotAllowed(
            "bundle", f"{where} proposes {proposal_id}, which is refused: {error}"
        ) from None
    track: Track | None = applying.uow.state(TRACK, event.track_id)
    if track is None or peer not in track.parties:
        return f"amendment {proposal_id} is of track {event.track_id}, not one shared with {peer}"
    if _started_by(applying, TRACK.stream_id(event.track_id)) == peer:
        return f"amendment {proposal_id} is of track {event.track_id}, which {peer} added itself"
    return None


def _unshared_meeting(applying: _Applying, meeting_id: str, what: str) -> str | None:
    """Why ``what`` a meeting is kept out: the meeting is not here, or not shared."""
    meeting: Meeting | None = applying.uow.state(MEETING, meeting_id)
    if meeting is None or not _in_scope_of_sender(applying, meeting):
        return f"{what} meeting {meeting_id}, not one shared with {applying.peer} here"
    return None


def _in_scope_of_sender(applying: _Applying, meeting: MeetingPlanned | Meeting) -> bool:
    """Whether a meeting is in scope ``peer:P`` of the sender P, as this instance knows it."""
    if meeting.track_id is None:
        track_parties = None
    else:
        track: Track | None = applying.uow.state(TRACK, meeting.track_id)
        if track is None:
            return False
        track_parties = track.parties
    return in_peer_scope(applying.peer, track_parties, meeting.host, meeting.participants)


def _started_by(applying: _Applying, stream_id: str) -> str | None:
    """Who recorded a stream's first event: a peer, this instance (``""``), or None if new.

    A stream new to the log whose first event this bundle brings is the sender's.
    """
    stored = applying.uow.recorded.get(stream_id, ())
    if stored:
        origin = stored[0].metadata.get(ORIGIN)
        return str(origin) if origin else ""
    return applying.peer if applying.uow.events(stream_id) else None


# --- verification after the fact ---------------------------------------------------------------


def verify_received(store: EventLog, peer_ids: Iterable[str]) -> list[str]:
    """Re-check what was accepted from each peer, one line per problem found.

    Each stored checkpoint must be signed by the key of the peer valid at its position (as
    the peer was registered when it was accepted), and the entries kept must chain to its
    head at its size.
    """
    problems = []
    for peer_id in peer_ids:
        streams = store.read_streams([PEER.stream_id(peer_id), RECEIVED.stream_id(peer_id)])
        peer: Peer | None = None
        sequence = exchange.EntrySequence()
        for recorded in sorted((e for s in streams.values() for e in s), key=_position):
            event = recorded.event
            if isinstance(event, PeerAdded | PeerRemoved | PeerKeyLearned):
                peer = peers.evolve(peer, event)
            if not isinstance(event, BundleAccepted):
                continue
            sequence = sequence.extended(event.entries)
            where = f"{peer_id}'s bundle accepted at position {recorded.position}"
            problem = _checkpoint_problem(peer, sequence, event)
            if problem is not None:
                problems.append(f"{where}: {problem}")
    return problems


def _checkpoint_problem(
    peer: Peer | None, sequence: exchange.EntrySequence, accepted: BundleAccepted
) -> str | None:
    """What is wrong with a bundle accepted, given what was accepted up to it (None: nothing)."""
    try:
        checkpoint, text, signatures = exchange.open_checkpoint(accepted.checkpoint)
    except VerificationFailed as error:
        return error.problem
    # A bundle that brought entries ends the sequence; one that did not may be older.
    ends = (
        checkpoint.size == sequence.size if accepted.entries else checkpoint.size <= sequence.size
    )
    if not ends or sequence.head_at(checkpoint.size) != checkpoint.head:
        return "the entries kept do not match its checkpoint"
    valid = None if peer is None else key_at(peer.keys, checkpoint.position)
    key = None if valid is None else VerifierKey.parse(valid.public_key)
    if key is None or not any(
        (s.name, s.key_id) == (key.name, key.key_id)
        and verifies(key, text.encode("utf-8"), s.signature)
        for s in signatures
    ):
        return "its checkpoint signature does not verify"
    return None


# --- where each exchange stands ----------------------------------------------------------------


class ExchangeReads(Shared, Protocol):
    """What `sync status` reads: the peers, the proposals, the joint schedules."""

    def peers(self) -> list[dict[str, Any]]:
        """Every peer, with where the exchange with it stands."""

    def proposals(self, meeting_id: str | None = None) -> list[dict[str, Any]]:
        """Every proposal (of one meeting)."""

    def amendments(self, track_id: str | None = None) -> list[dict[str, Any]]:
        """Every amendment (of one track)."""


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """Where the exchange with one peer stands, and whether the joint schedules agree."""

    peer: str
    active: bool
    sent: int  # entries in the sequence sent to it
    acknowledged: int  # of those, how many it has accepted
    received: int  # entries accepted from it
    received_at: datetime | None  # when its last bundle was accepted
    awaiting_here: int  # open proposals and amendments it made, to be settled here
    awaiting_there: int  # open ones made here about meetings and tracks shared with it
    differences: tuple[Difference, ...] | None  # None until a bundle was received

    @property
    def agreement(self) -> str:
        """In words: in agreement as of when, or how many meetings differ."""
        if self.differences is None or self.received_at is None:
            return "nothing received yet"
        if not self.differences:
            return f"in agreement as of {describe_time(self.received_at)}"
        return f"{plural(len(self.differences), 'meeting')} not in agreement"


def exchange_status(
    reads: ExchangeReads, store: EventLog, own_party: str | None
) -> list[PeerStatus]:
    """Where the exchange with every peer stands (removed ones too)."""
    open_proposals = [p for p in reads.proposals() if p["status"] == "open"]
    open_amendments = [a for a in reads.amendments() if a["status"] == "open"]
    statuses = []
    for row in reads.peers():
        peer = row["peer_id"]
        there = row["schedule"]
        here = joint_digests(reads, peer)
        shared = reads.shared_with(peer) if open_amendments else {"track": []}
        found = None if there is None else differences(here, there)
        if found:
            found = _in_transit(store, peer, row["acknowledged"], found)
        statuses.append(
            PeerStatus(
                peer=peer,
                active=row["removed_at"] is None,
                sent=row["sent"],
                acknowledged=row["acknowledged"],
                received=row["received"],
                received_at=row["received_at"],
                awaiting_here=sum(p["proposer"] == peer for p in open_proposals + open_amendments),
                awaiting_there=sum(
                    p["proposer"] == own_party and p["meeting_id"] in here for p in open_proposals
                )
                + sum(
                    a["proposer"] == own_party and a["track_id"] in shared["track"]
                    for a in open_amendments
                ),
                differences=None if found is None else tuple(found),
            )
        )
    return statuses


def _in_transit(
    store: EventLog, peer: str, acknowledged: int, found: list[Difference]
) -> list[Difference]:
    """Mark the meetings with events of this instance the peer has not acknowledged yet."""
    exported = (e.event for e in store.read_stream(SENT.stream_id(peer)))
    ordered = [
        position
        for event in exported
        if isinstance(event, EntriesExported)
        for position in event.positions
    ]
    accepted = set(ordered[:acknowledged])
    streams = store.read_streams(MEETING.stream_id(d.meeting_id) for d in found if d.here)
    changed = {
        MEETING.id_of(stream_id)
        for stream_id, events in streams.items()
        if any(event.position not in accepted for event in _own(events))
    }
    return [replace(d, in_transit=d.meeting_id in changed) for d in found]


# --- pulls over HTTP -----------------------------------------------------------------------------

PULL_WINDOW = timedelta(minutes=5)
"""How far a pull's timestamp may be from the clock of the instance that answers it."""
PEER_HEADER = "Consultations-Peer"
TIMESTAMP_HEADER = "Consultations-Timestamp"
SIGNATURE_HEADER = "Consultations-Signature"
NONCE_HEADER = "Consultations-Nonce"


class PullRefused(Exception):
    """A pull that is not answered: an unknown peer, a bad signature, a stale or replayed one.

    ``str()`` is the reason answered; ``detail`` the one logged. Until the signature is
    verified the reason is :data:`NOT_AUTHENTICATED` whatever went wrong, so that nobody
    learns which peers are registered.
    """

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.detail = detail or reason


NOT_AUTHENTICATED = "not a signed pull of a registered peer"


class RequestLog(Protocol):
    """The signed requests answered lately."""

    def first_sight(self, request_id: str, now: datetime, forget_before: datetime) -> bool:
        """Record a request; False if it was seen already."""


def pull_headers(
    key: SigningKey,
    *,
    party: str,
    receiver: str,
    method: str,
    path: str,
    body: bytes,
    now: datetime,
) -> dict[str, str]:
    """The headers that sign a pull by ``party``'s instance from ``receiver``'s."""
    timestamp = int(now.timestamp())
    nonce = secrets.token_hex(16)
    signature = key.sign(pull_statement(party, receiver, method, path, body, timestamp, nonce))
    return {
        PEER_HEADER: party,
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
    }


def answer_pull(
    commands: CommandService,
    shared: Shared,
    key_file: Path,
    seen: RequestLog,
    request: tuple[str, str, Mapping[str, str], bytes],
) -> str:
    """The bundle for the peer that signed ``request`` (method, path, headers, body).

    Refused (PullRefused) unless the peer is registered, the signature is its current key's
    over this instance's party, the method, path, body digest and timestamp, the timestamp is
    within :data:`PULL_WINDOW` of this instance's clock, and the same request was not answered
    before.
    """
    method, path, headers, body = request
    party = headers.get(PEER_HEADER, "")
    peer: Peer | None = (
        PEER.fold(e.event for e in commands.store.read_stream(PEER.stream_id(party)))
        if _is_party(party)
        else None
    )
    if peer is None or peer.removed:
        raise PullRefused(NOT_AUTHENTICATED, f"{party or 'nobody'} is not a registered peer")
    try:
        timestamp = int(headers.get(TIMESTAMP_HEADER, ""))
    except ValueError:
        raise PullRefused(NOT_AUTHENTICATED, "the timestamp is missing or not a number") from None
    signature = _base64(headers.get(SIGNATURE_HEADER, ""))
    nonce = headers.get(NONCE_HEADER, "")
    own_party = require_identity(commands.store).party_id
    statement = pull_statement(party, own_party, method, path, body, timestamp, nonce)
    if not verifies(VerifierKey.parse(peer.public_key), statement, signature):
        raise PullRefused(NOT_AUTHENTICATED, f"the signature is not {party}'s")
    now = commands.clock()
    if abs(now.timestamp() - timestamp) > PULL_WINDOW.total_seconds():
        raise PullRefused("the timestamp is outside the clock window")
    request_id = hashlib.sha256(signature).hexdigest()
    if not seen.first_sight(request_id, now, now - 2 * PULL_WINDOW):
        raise PullRefused("this request was answered already (a replay)")
    provenance = Provenance(actor=party, source="sync")
    return export_bundle(commands, shared, key_file, party, provenance).text


def _is_party(text: str) -> bool:
    return bool(text) and len(text) <= 64 and all(c.isalnum() or c in "._-" for c in text)


def pull(
    commands: CommandService,
    key_file: Path,
    peer_id: str,
    provenance: Provenance,
    *,
    client: Any = None,
) -> Imported:
    """Pull the peer's bundle over HTTP (signed by this instance) and import it."""
    identity, key = signing_key(commands.store, key_file)
    uow = UnitOfWork(commands.store)
    peer = _active_peer(uow, peer_id)
    if peer.url is None:
        raise NotAllowed("peer", f"{peer_id} has no URL; register it with `peer add … --url`")
    url = peer.url + PULL_PATH
    headers = pull_headers(
        key,
        party=identity.party_id,
        receiver=peer_id,
        method="POST",
        path=urlsplit(url).path,
        body=b"",
        now=commands.clock(),
    )
    data = post(url, b"", headers, client)
    return import_bundle(commands, data, provenance)
