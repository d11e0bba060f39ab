"""Command handlers: check references, load the aggregate, let the domain decide, record.

Each handler reads what it needs through the unit of work, so commands handled one after
another in one unit of work (a plan import) see each other's decisions before anything is
written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from consultations.domain.aggregates import (
    AREA,
    IDENTITY,
    MEETING,
    PARTY,
    TRACK,
    Aggregate,
    for_command,
    named,
)
from consultations.domain.commands import (
    THIS_INSTANCE,
    AcceptAmendment,
    AcceptProposal,
    AddPartyClosure,
    AddPeer,
    AddTrack,
    AmendMeeting,
    AmendParty,
    AmendTrack,
    CreateFeed,
    DeclineAmendment,
    DeclineProposal,
    DomainCommand,
    PlanMeeting,
    ProposeAmendment,
    ProposeChange,
    RecordMeetingHeld,
    RecordMinutes,
    RetireTrack,
)
from consultations.domain.compliance import TrackRules, never_counted
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import MeetingPlanned, MeetingRescheduled
from consultations.domain.exchange import ORIGIN, local_only
from consultations.domain.feeds import parse_scope
from consultations.domain.meetings import Meeting
from consultations.domain.validation import validate_id
from consultations.domain.wall_time import local_date
from consultations.service_layer.unit_of_work import UnitOfWork


class MeetingDirectory(Protocol):
    """What the handlers ask the read models about what is already in the log."""

    def previous_host(self, track_id: str) -> str | None:
        """The host of the track's most recently planned meeting, if any."""

    def ids(self, kind: str) -> list[str]:
        """Every id of one kind (party, area, track, meeting, feed); [] for other kinds."""


def handle(
    uow: UnitOfWork, command: DomainCommand, now: datetime, directory: MeetingDirectory
) -> str:
    """Decide ``command`` and record its events in ``uow``; return the aggregate's id.

    An id that names nothing is reported with the closest existing one. A decision that
    stands but may not do what the user expects leaves a warning in ``uow``.
    """
    try:
        return _handle(uow, command, now, directory)
    except UnknownId as error:
        if error.known is not None:
            raise
        aggregate = named(error.kind)
        pending = (aggregate.id_of(s) for s in uow.pending if aggregate.owns(s))
        raise error.among([*directory.ids(error.kind), *pending]) from None


def _handle(
    uow: UnitOfWork, command: DomainCommand, now: datetime, directory: MeetingDirectory
) -> str:
    _check_ids(command)
    if isinstance(command, PlanMeeting) and not command.meeting_id:
        command = replace(command, meeting_id=_new_meeting_id(uow, command))
    aggregate = for_command(command)
    target = aggregate.target(command)
    references = _references(command)
    # Read together: the target, what the decision reads, what the command names, and this
    # instance's identity (``_check_authority`` reads it for every command).
    uow.preload(
        ref.aggregate.stream_id(ref.id)
        for ref in (
            Reference(aggregate, target),
            *_context_read_by(command),
            *references,
            Reference(IDENTITY, THIS_INSTANCE),
        )
        if _is_id(ref.id) and not uow.has_read(ref.aggregate.stream_id(ref.id))
    )
    if isinstance(command, AddTrack) and not command.tz:
        command = replace(command, tz=_default_zone(uow, command.parties))
    for ref in references:
        _require(uow, ref)
    # An amendment is judged by what it changes: nothing, or only this instance's reminders,
    # is anyone's to decide.
    amending = isinstance(command, AmendTrack | AmendMeeting)
    if not amending:
        _check_authority(uow, command)
    context = _context(uow, command, directory)
    state = uow.state(aggregate, target)
    events = aggregate.decide(state, command, now, **context)
    if amending and not all(local_only(event) for event in events):
        _check_authority(uow, command)
    uow.record(aggregate.stream_id(target), events)
    for event in events:
        if isinstance(event, MeetingPlanned | MeetingRescheduled):
            _warn_if_never_counted(uow, state, event)
    return target


@dataclass(frozen=True, slots=True)
class Reference:
    """An aggregate a command names: read, and (when ``field`` is set) required to exist."""

    aggregate: Aggregate[Any]
    id: str
    field: str | None = None


def _references(command: DomainCommand) -> tuple[Reference, ...]:
    """What a command names that must exist, in the order problems are reported."""
    match command:
        case AddTrack() | AmendTrack():
            return (
                *_each(PARTY, command.parties or (), "parties"),
                *_each(PARTY, command.host_rotation or (), "host_rotation"),
                *_each(AREA, command.areas or (), "areas"),
            )
        case ProposeAmendment() | AcceptAmendment() | DeclineAmendment():
            amendment = command.amendment if isinstance(command, ProposeAmendment) else None
            changes = () if amendment is None else _references(amendment)
            return (Reference(TRACK, command.track_id, "track"), *changes)
        case PlanMeeting() | AmendMeeting():
            return (
                *_each(PARTY, (command.host,) if command.host else (), "host"),
                *_each(PARTY, command.participants or (), "participants"),
            )
        case RecordMeetingHeld() | RecordMinutes():
            items = command.action_items if isinstance(command, RecordMeetingHeld) else ()
            return (
                *_each(PARTY, command.attendance, "attendance"),
                *_each(PARTY, tuple(item.owner for item in items), "owner"),
            )
        case CreateFeed():
            scope = parse_scope(command.scope)
            return tuple(_each(named(scope.kind), (scope.value,), "scope") if scope.value else ())
        case _:
            return ()


def _context_read_by(command: DomainCommand) -> tuple[Reference, ...]:
    """Other aggregates a decision reads without requiring them (a meeting's track)."""
    if isinstance(command, PlanMeeting) and command.track_id:
        return (Reference(TRACK, command.track_id),)
    return ()


def _each(aggregate: Aggregate[Any], ids: Iterable[str], field: str) -> list[Reference]:
    return [Reference(aggregate, id_, field) for id_ in ids]


def _require(uow: UnitOfWork, ref: Reference) -> None:
    assert ref.field is not None
    validate_id(ref.id, ref.field)
    if not uow.exists(ref.aggregate.stream_id(ref.id)):
        name = ref.aggregate.name
        raise UnknownId(name, ref.id, ref.field, hint=f"register it with `{name} add`")


def _warn_if_never_counted(
    uow: UnitOfWork, before: Meeting | None, event: MeetingPlanned | MeetingRescheduled
) -> None:
    """Warn when a meeting of a track is (re)scheduled on a day that never counts for it."""
    if isinstance(event, MeetingPlanned):
        track_id = event.track_id
    else:
        track_id = None if before is None else before.track_id
    track = None if track_id is None else uow.state(TRACK, track_id)
    if track is None:
        return
    why = never_counted(TrackRules.of(track), local_date(event.start.utc, track.tz))
    if why is not None:
        uow.warn(
            f"meeting {event.meeting_id!r} of track {track.id!r}: {why}; "
            "it will never count for compliance"
        )


def _context(
    uow: UnitOfWork, command: DomainCommand, directory: MeetingDirectory
) -> dict[str, Any]:
    """What a decision needs besides its aggregate (planning: the track and previous host)."""
    if isinstance(command, AddPeer):
        return {"own_party": own_party(uow)}
    if isinstance(command, ProposeChange):
        return {"meeting": uow.state(MEETING, command.meeting_id), "proposer": own_party(uow)}
    if isinstance(command, ProposeAmendment):
        return {"track": uow.state(TRACK, command.track_id), "proposer": own_party(uow)}
    if isinstance(command, RecordMinutes):
        return {"meeting": uow.state(MEETING, command.meeting_id)}
    if not isinstance(command, PlanMeeting):
        return {}
    track = uow.state(TRACK, command.track_id) if command.track_id is not None else None
    previous_host = None
    if track is not None and command.host is None and track.host_rotation:
        previous_host = _previous_host(uow, track.id, directory)
    return {"track": track, "previous_host": previous_host, "convener": own_party(uow)}


def _check_authority(uow: UnitOfWork, command: DomainCommand) -> None:
    """Refuse a change of what another instance owns (once this one has an identity).

    A meeting is changed only by its convener's instance, which alone settles proposals;
    the others propose. A track is changed only by the instance that added it, which alone
    settles amendments; the others propose them. A party's record (its country, its
    closures) is changed only by the instance it came from. Reminder offsets are each
    instance's own.
    """
    own = own_party(uow)
    if isinstance(command, RecordMinutes):
        _check_minutes(uow, command, own)
        return
    if own is None:
        if isinstance(command, ProposeChange | ProposeAmendment):
            raise NotAllowed("identity", "run `identity init --party P` before proposing")
        return  # without an identity, every meeting and track is this instance's
    if isinstance(command, (ProposeChange, AcceptProposal, DeclineProposal, *MEETING.commands)):
        _check_convener(uow, command, own)
    elif isinstance(
        command, ProposeAmendment | AmendTrack | RetireTrack | AcceptAmendment | DeclineAmendment
    ):
        _check_creator(uow, command)
    elif isinstance(command, AmendParty | AddPartyClosure) and _is_id(command.party_id):
        owner = record_owner(uow, command.party_id)
        if owner:
            raise NotAllowed(
                "party",
                f"the record of {command.party_id!r} comes from {owner}; only {owner} changes it",
            )


def _check_convener(uow: UnitOfWork, command: DomainCommand, own: str) -> None:
    """A meeting's changes and settlements are its convener's; the others propose."""
    if isinstance(command, PlanMeeting):
        return
    if isinstance(command, ProposeChange):
        if convener_of(uow, command.meeting_id) in (None, own):
            raise NotAllowed(
                "meeting",
                f"{command.meeting_id!r} is convened here: change it directly, "
                "e.g. with `meeting reschedule`",
            )
        return
    meeting_id = MEETING.target(command)
    convener = convener_of(uow, meeting_id)
    if convener not in (None, own):
        settles = isinstance(command, AcceptProposal | DeclineProposal)
        advice = "it settles proposals" if settles else "use `meeting propose`"
        raise NotAllowed("meeting", f"{meeting_id!r} is convened by {convener}; {advice}")


def _check_creator(
    uow: UnitOfWork,
    command: ProposeAmendment | AmendTrack | RetireTrack | AcceptAmendment | DeclineAmendment,
) -> None:
    """A track's changes and settlements are its creator's; the others propose amendments."""
    creator = started_by(uow, TRACK.stream_id(command.track_id))
    if isinstance(command, ProposeAmendment):
        if not creator:
            raise NotAllowed(
                "track",
                f"{command.track_id!r} was added here: change it directly, without --propose",
            )
    elif creator:
        settles = isinstance(command, AcceptAmendment | DeclineAmendment)
        advice = "it settles amendments" if settles else "propose it with --propose"
        raise NotAllowed(
            "track",
            f"{command.track_id!r} was added by {creator}; only {creator} changes it; {advice}",
        )


def _check_minutes(uow: UnitOfWork, command: RecordMinutes, own: str | None) -> None:
    """Minutes are this instance's party's own, of a meeting another party convenes."""
    if own is None:
        raise NotAllowed("identity", "run `identity init --party P` before recording minutes")
    if command.party != own:
        raise NotAllowed(
            "party", f"this instance records the minutes of {own}, not of {command.party}"
        )
    exists = uow.state(MEETING, command.meeting_id) is not None
    if exists and convener_of(uow, command.meeting_id) in (None, own):
        raise NotAllowed(
            "meeting", f"{command.meeting_id!r} is convened here: record it with `meeting held`"
        )


def convener_of(uow: UnitOfWork, meeting_id: str) -> str | None:
    """The party whose instance alone changes a meeting (None: no such meeting, or anyone).

    Recorded when it was planned; a meeting another instance planned without one is that
    instance's.
    """
    if not _is_id(meeting_id):
        return None
    meeting = uow.state(MEETING, meeting_id)
    if meeting is None:
        return None
    return meeting.convener or started_by(uow, MEETING.stream_id(meeting_id)) or None


def started_by(uow: UnitOfWork, stream_id: str) -> str:
    """The peer whose instance recorded a stream's first event ("" for this instance's)."""
    uow.events(stream_id)
    stored = uow.recorded.get(stream_id, ())
    return str(stored[0].metadata.get(ORIGIN) or "") if stored else ""


def record_owner(uow: UnitOfWork, party_id: str) -> str:
    """The peer a party's record here comes from ("" if this instance keeps it).

    The party's own instance once its record has arrived (it replaced any provisional one),
    else the instance that recorded the record first.
    """
    stream_id = PARTY.stream_id(party_id)
    creator = started_by(uow, stream_id)
    stored = uow.recorded.get(stream_id, ())
    if any(recorded.metadata.get(ORIGIN) == party_id for recorded in stored):
        return party_id
    return creator


def own_party(uow: UnitOfWork) -> str | None:
    """The party this instance speaks for (None until `identity init`)."""
    identity = uow.state(IDENTITY, THIS_INSTANCE)
    return None if identity is None else identity.party_id


def _default_zone(uow: UnitOfWork, party_ids: tuple[str, ...]) -> str:
    """A track's zone defaults to its first party's."""
    if party_ids:
        party = uow.state(PARTY, party_ids[0])
        if party is not None:
            return party.tz
    return "UTC"


def _new_meeting_id(uow: UnitOfWork, command: PlanMeeting) -> str:
    """A readable id from the track (or title) and the date; a suffix keeps it unique."""
    stem = command.track_id or _slug(command.title) or "meeting"
    base = f"{stem[:50]}-{command.start:%Y-%m-%d}"
    candidate, number = base, 1
    while uow.exists(MEETING.stream_id(candidate)):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")


def _previous_host(uow: UnitOfWork, track_id: str, directory: MeetingDirectory) -> str | None:
    # Meetings planned earlier in this unit of work come after everything in the log.
    for events in reversed(list(uow.pending.values())):
        for event in reversed(events):
            if isinstance(event, MeetingPlanned) and event.track_id == track_id and event.host:
                return event.host
    return directory.previous_host(track_id)


def _is_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        validate_id(value)
    except InvalidInput:
        return False
    return True


def _check_ids(command: DomainCommand) -> None:
    """Reject malformed ids before they reach a query (a NUL byte upsets PostgreSQL)."""
    for attribute in ("party_id", "area_id", "track_id", "meeting_id", "feed_id"):
        value = getattr(command, attribute, None)
        if value:
            validate_id(value, attribute.removesuffix("_id"))
