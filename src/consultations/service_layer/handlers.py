"""Command handlers: check references, load the aggregate, let the domain decide, record.

Each handler reads what it needs through the unit of work, so commands handled one after
another in one unit of work (a plan import) see each other's decisions before anything is
written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Protocol, cast

from consultations.domain import areas, feeds, meetings, parties, tracks
from consultations.domain.commands import (
    AddTrack,
    AmendTrack,
    CreateFeed,
    DomainCommand,
    PlanMeeting,
    RecordMeetingHeld,
    RegisterArea,
    RegisterParty,
    RetireTrack,
    RevokeFeed,
)
from consultations.domain.errors import InvalidInput, NotFound
from consultations.domain.events import (
    AreaEvent,
    FeedEvent,
    MeetingEvent,
    MeetingPlanned,
    PartyEvent,
)
from consultations.domain.validation import validate_id
from consultations.service_layer.unit_of_work import UnitOfWork


class MeetingDirectory(Protocol):
    """What the handlers ask about meetings already in the log."""

    def previous_host(self, track_id: str) -> str | None:
        """The host of the track's most recently planned meeting, if any."""


def handle(
    uow: UnitOfWork, command: DomainCommand, now: datetime, directory: MeetingDirectory
) -> str:
    """Decide ``command`` and record its events in ``uow``; return the aggregate's id."""
    _check_ids(command)
    uow.preload(
        stream
        for stream, id_ in _streams_read_by(command)
        if not uow.has_read(stream) and _is_id(id_)
    )
    match command:
        case RegisterParty():
            stream = parties.stream_id(command.party_id)
            state = parties.fold(cast(Iterable[PartyEvent], uow.events(stream)))
            uow.record(stream, parties.decide(state, command, now))
            return command.party_id
        case RegisterArea():
            stream = areas.stream_id(command.area_id)
            area = areas.fold(cast(Iterable[AreaEvent], uow.events(stream)))
            uow.record(stream, areas.decide(area, command, now))
            return command.area_id
        case AddTrack() | AmendTrack() | RetireTrack():
            if isinstance(command, AddTrack) and not command.tz:
                command = replace(command, tz=_default_zone(uow, command.parties))
            if not isinstance(command, RetireTrack):
                _require_parties(uow, command.parties or (), "parties")
                _require_parties(uow, command.host_rotation or (), "host_rotation")
                _require_areas(uow, command.areas or ())
            stream = tracks.stream_id(command.track_id)
            uow.record(stream, tracks.decide(_track(uow, command.track_id), command, now))
            return command.track_id
        case PlanMeeting():
            return _plan_meeting(uow, command, now, directory)
        case CreateFeed() | RevokeFeed():
            stream = feeds.stream_id(command.feed_id)
            feed = feeds.fold(cast(Iterable[FeedEvent], uow.events(stream)))
            uow.record(stream, feeds.decide(feed, command, now))
            return command.feed_id
        case _:
            if isinstance(command, RecordMeetingHeld):
                _require_parties(uow, command.attendance, "attendance")
                _require_parties(uow, tuple(item.owner for item in command.action_items), "owner")
            stream = meetings.stream_id(command.meeting_id)
            meeting = meetings.fold(cast(Iterable[MeetingEvent], uow.events(stream)))
            uow.record(stream, meetings.decide(meeting, command, now))
            return command.meeting_id


def _plan_meeting(
    uow: UnitOfWork, command: PlanMeeting, now: datetime, directory: MeetingDirectory
) -> str:
    if not command.meeting_id:
        command = replace(command, meeting_id=_new_meeting_id(uow, command))
    track = previous_host = None
    if command.track_id is not None:
        track = _track(uow, command.track_id)
        if track is not None and command.host is None and track.host_rotation:
            previous_host = _previous_host(uow, command.track_id, directory)
    if command.host:
        _require_parties(uow, (command.host,), "host")
    _require_parties(uow, command.participants, "participants")
    stream = meetings.stream_id(command.meeting_id)
    meeting = meetings.fold(cast(Iterable[MeetingEvent], uow.events(stream)))
    uow.record(
        stream,
        meetings.decide(meeting, command, now, track=track, previous_host=previous_host),
    )
    return command.meeting_id


def _default_zone(uow: UnitOfWork, party_ids: tuple[str, ...]) -> str:
    """A track's zone defaults to its first party's."""
    if party_ids:
        party = parties.fold(
            cast(Iterable[PartyEvent], uow.events(parties.stream_id(party_ids[0])))
        )
        if party is not None:
            return party.tz
    return "UTC"


def _new_meeting_id(uow: UnitOfWork, command: PlanMeeting) -> str:
    """A readable id from the track (or title) and the date; a suffix keeps it unique."""
    stem = command.track_id or _slug(command.title) or "meeting"
    base = f"{stem[:50]}-{command.start:%Y-%m-%d}"
    candidate, number = base, 1
    while uow.exists(meetings.stream_id(candidate)):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")


def _track(uow: UnitOfWork, track_id: str) -> tracks.Track | None:
    return uow.folded(tracks.stream_id(track_id), tracks.fold)


def _previous_host(uow: UnitOfWork, track_id: str, directory: MeetingDirectory) -> str | None:
    # Meetings planned earlier in this unit of work come after everything in the log.
    for events in reversed(list(uow.pending.values())):
        for event in reversed(events):
            if isinstance(event, MeetingPlanned) and event.track_id == track_id and event.host:
                return event.host
    return directory.previous_host(track_id)


def _streams_read_by(command: DomainCommand) -> list[tuple[str, str]]:
    """(stream, id) of each stream that handling ``command`` reads, when it reads several.

    They are loaded with one query up front, leaving out malformed ids: the handler rejects
    those where it always has, so the first problem reported does not change.
    """
    match command:
        case AddTrack() | AmendTrack():
            return [
                (tracks.stream_id(command.track_id), command.track_id),
                *_party_streams(command.parties or ()),
                *_party_streams(command.host_rotation or ()),
                *((areas.stream_id(area), area) for area in command.areas or ()),
            ]
        case PlanMeeting():
            streams = _party_streams(
                (*((command.host,) if command.host else ()), *command.participants)
            )
            if command.track_id:
                streams.append((tracks.stream_id(command.track_id), command.track_id))
            if command.meeting_id:
                streams.append((meetings.stream_id(command.meeting_id), command.meeting_id))
            return streams
        case RecordMeetingHeld():
            return [
                (meetings.stream_id(command.meeting_id), command.meeting_id),
                *_party_streams(command.attendance),
                *_party_streams(tuple(item.owner for item in command.action_items)),
            ]
        case _:
            return []


def _party_streams(party_ids: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(parties.stream_id(party_id), party_id) for party_id in party_ids]


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


def _require_parties(uow: UnitOfWork, party_ids: Iterable[str], field: str) -> None:
    for party_id in party_ids:
        validate_id(party_id, field)
        if not uow.exists(parties.stream_id(party_id)):
            raise NotFound(field, f"no party {party_id!r}; register it with `party add`")


def _require_areas(uow: UnitOfWork, area_ids: Iterable[str]) -> None:
    for area_id in area_ids:
        validate_id(area_id, "areas")
        if not uow.exists(areas.stream_id(area_id)):
            raise NotFound("areas", f"no area {area_id!r}; register it with `area add`")
