"""Track aggregate: an agreed, recurring engagement with a cadence commitment."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, assert_never

from consultations.domain.cadence import Cadence, parse_cadence
from consultations.domain.commands import AddTrack, AmendTrack, RetireTrack, TrackCommand
from consultations.domain.durations import Duration, parse_duration, parse_exact_duration
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import TrackAdded, TrackAmended, TrackEvent, TrackRetired
from consultations.domain.optional import changed, map_optional, or_default
from consultations.domain.validation import (
    require_aware,
    validate_date,
    validate_id,
    validate_ids,
    validate_line,
)
from consultations.domain.vocabulary import Kind, Priority, parse_choice
from consultations.domain.wall_time import parse_zone

MAX_DEFAULT_DURATION = timedelta(days=14)
MAX_REMINDER_OFFSET = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Track:
    """Current state of a track; ``version`` counts the events folded into it."""

    id: str
    title: str
    kind: Kind
    cadence: Cadence
    required: int
    start: date
    tz: str
    parties: tuple[str, ...]
    areas: tuple[str, ...]
    priority: Priority
    default_duration: Duration
    reminders: tuple[Duration, ...]
    host_rotation: tuple[str, ...]
    retired_on: date | None
    version: int


def decide(state: Track | None, command: TrackCommand, now: datetime) -> tuple[TrackEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = track does not exist)."""
    require_aware(now)
    match command:
        case AddTrack():
            return _add(state, command)
        case AmendTrack():
            return _amend(state, command)
        case RetireTrack():
            return _retire(state, command)
        case _:
            assert_never(command)


def evolve(state: Track | None, event: TrackEvent) -> Track:
    """Apply one event to the state."""
    if isinstance(event, TrackAdded):
        if state is not None:
            raise ValueError(f"track {event.track_id!r} added twice in its stream")
        return Track(
            id=event.track_id,
            title=event.title,
            kind=Kind(event.kind),
            cadence=parse_cadence(event.cadence),
            required=event.required,
            start=event.start,
            tz=event.tz,
            parties=event.parties,
            areas=event.areas,
            priority=Priority(event.priority),
            default_duration=parse_duration(event.default_duration),
            reminders=tuple(parse_duration(offset) for offset in event.reminders),
            host_rotation=event.host_rotation,
            retired_on=None,
            version=1,
        )
    if state is None:
        raise ValueError(
            f"{type(event).__name__} applied to track {event.track_id!r} before it was added"
        )
    match event:
        case TrackAmended():
            state = replace(
                state,
                title=or_default(event.title, state.title),
                kind=or_default(map_optional(event.kind, Kind), state.kind),
                cadence=or_default(map_optional(event.cadence, parse_cadence), state.cadence),
                required=or_default(event.required, state.required),
                start=or_default(event.start, state.start),
                tz=or_default(event.tz, state.tz),
                parties=or_default(event.parties, state.parties),
                areas=or_default(event.areas, state.areas),
                priority=or_default(map_optional(event.priority, Priority), state.priority),
                default_duration=or_default(
                    map_optional(event.default_duration, parse_duration), state.default_duration
                ),
                reminders=or_default(
                    map_optional(
                        event.reminders, lambda offsets: tuple(map(parse_duration, offsets))
                    ),
                    state.reminders,
                ),
                host_rotation=or_default(event.host_rotation, state.host_rotation),
            )
        case TrackRetired():
            state = replace(state, retired_on=event.on)
        case _:
            assert_never(event)
    return replace(state, version=state.version + 1)


def fold(events: Iterable[TrackEvent]) -> Track | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Track | None = None
    for event in events:
        state = evolve(state, event)
    return state


# --- decisions ---------------------------------------------------------------------------


def _add(state: Track | None, command: AddTrack) -> tuple[TrackEvent, ...]:
    validate_id(command.track_id)
    if state is not None:
        raise NotAllowed("id", f"track {command.track_id!r} already exists")
    parties = _parties(command.parties)
    rotation = _rotation(command.host_rotation, parties)
    return (
        TrackAdded(
            track_id=command.track_id,
            title=_title(command.title),
            kind=_kind(command.kind),
            cadence=_cadence(command.cadence),
            required=_required(command.required),
            start=_start(command.start),
            tz=_tz(command.tz),
            parties=parties,
            areas=_areas(command.areas),
            priority=_priority(command.priority),
            default_duration=_default_duration(command.default_duration),
            reminders=canonical_reminders(command.reminders),
            host_rotation=rotation,
        ),
    )


def _amend(state: Track | None, command: AmendTrack) -> tuple[TrackEvent, ...]:
    track = _existing(state, command.track_id)
    if track.retired_on is not None:
        raise NotAllowed(
            "id", f"track {track.id!r} was retired on {track.retired_on}; it cannot be amended"
        )
    parties = map_optional(command.parties, _parties)
    rotation = map_optional(
        command.host_rotation,
        lambda hosts: _rotation(hosts, track.parties if parties is None else parties),
    )
    if command.host_rotation is None and parties is not None:
        _rotation(track.host_rotation, parties)  # dropping a party that still hosts
    amended = TrackAmended(
        track_id=track.id,
        title=changed(map_optional(command.title, _title), track.title),
        kind=changed(map_optional(command.kind, _kind), track.kind.value),
        cadence=changed(map_optional(command.cadence, _cadence), str(track.cadence)),
        required=changed(map_optional(command.required, _required), track.required),
        start=changed(map_optional(command.start, _start), track.start),
        tz=changed(map_optional(command.tz, _tz), track.tz),
        parties=changed(parties, track.parties),
        areas=changed(map_optional(command.areas, _areas), track.areas),
        priority=changed(map_optional(command.priority, _priority), track.priority.value),
        default_duration=changed(
            map_optional(command.default_duration, _default_duration), str(track.default_duration)
        ),
        reminders=changed(
            map_optional(command.reminders, canonical_reminders),
            tuple(str(r) for r in track.reminders),
        ),
        host_rotation=changed(rotation, track.host_rotation),
    )
    if amended == TrackAmended(track_id=track.id):
        return ()
    return (amended,)


def _retire(state: Track | None, command: RetireTrack) -> tuple[TrackEvent, ...]:
    track = _existing(state, command.track_id)
    if track.retired_on is not None:
        raise NotAllowed("id", f"track {track.id!r} was already retired on {track.retired_on}")
    validate_date(command.on, "on")
    if command.on < track.start:
        raise InvalidInput("on", f"{command.on} is before the track's start {track.start}")
    return (TrackRetired(track.id, command.on),)


def check_recorded(amended: TrackAmended) -> None:
    """Raise InvalidInput unless each value an amendment sets is one ``decide`` would record.

    For an amendment that comes from elsewhere (proposed by another instance): valid, and
    in its canonical form. Whether it fits the track as it is now is decided on accepting it.
    """
    checks: dict[str, Callable[[Any], object]] = {
        "title": _title, "kind": _kind, "cadence": _cadence, "required": _required,
        "start": _start, "tz": _tz, "parties": _parties, "areas": _areas,
        "priority": _priority, "default_duration": _default_duration,
        "reminders": canonical_reminders,
        "host_rotation": lambda hosts: validate_ids(hosts, "rotation"),
    }  # fmt: skip
    for name, check in checks.items():
        value = getattr(amended, name)
        if value is not None and check(value) != value:
            raise InvalidInput(name, f"{value!r} is not written as it is recorded")


def _existing(state: Track | None, track_id: str) -> Track:
    if state is None:
        raise UnknownId("track", track_id, "id")
    return state


# --- field validation: each returns the canonical stored form ------------------------------


def _title(value: str) -> str:
    return validate_line(value, "title")


def _kind(value: str) -> str:
    return parse_choice(Kind, value, "kind").value


def _priority(value: str) -> str:
    return parse_choice(Priority, value, "priority").value


def _cadence(value: str) -> str:
    return str(parse_cadence(value))


def _required(value: int) -> int:
    if isinstance(value, bool) or value < 1:
        raise InvalidInput("required", f"sessions per window must be at least 1, got {value!r}")
    return value


def _start(value: date) -> date:
    return validate_date(value, "start")


def _tz(value: str) -> str:
    parse_zone(value)
    return value


def _parties(values: tuple[str, ...]) -> tuple[str, ...]:
    return validate_ids(values, "party")


def _areas(values: tuple[str, ...]) -> tuple[str, ...]:
    return validate_ids(values, "area")


def _default_duration(value: str) -> str:
    return str(parse_exact_duration(value, "duration", maximum=MAX_DEFAULT_DURATION))


def canonical_reminders(values: tuple[str, ...]) -> tuple[str, ...]:
    """Validate reminder offsets (exact, positive, at most a year, no repeats); canonical text."""
    offsets = tuple(
        parse_exact_duration(v, "reminders", maximum=MAX_REMINDER_OFFSET) for v in values
    )
    if len({offset.to_timedelta() for offset in offsets}) != len(offsets):
        raise InvalidInput("reminders", "the same reminder offset is listed twice")
    return tuple(str(offset) for offset in offsets)


def _rotation(hosts: tuple[str, ...], parties: tuple[str, ...]) -> tuple[str, ...]:
    validate_ids(hosts, "rotation")
    for host in hosts:
        if host not in parties:
            raise InvalidInput("rotation", f"host {host!r} is not a party of the track")
    return hosts
