"""Meeting aggregate: one session, planned → (rescheduled)* → held | cancelled.

Action items recorded when a meeting is held live in the meeting's stream.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import assert_never

from consultations.domain.commands import (
    AmendMeeting,
    CancelMeeting,
    CompleteActionItem,
    DropActionItem,
    MeetingCommand,
    PlanMeeting,
    RecordMeetingHeld,
    RescheduleMeeting,
)
from consultations.domain.durations import Duration, parse_exact_duration
from consultations.domain.errors import InvalidInput, NotAllowed, NotFound, UnknownId
from consultations.domain.events import (
    ActionItem,
    ActionItemCompleted,
    ActionItemDropped,
    MeetingAmended,
    MeetingCancelled,
    MeetingEvent,
    MeetingHeld,
    MeetingPlanned,
    MeetingRescheduled,
)
from consultations.domain.optional import changed, map_optional
from consultations.domain.tracks import Track, canonical_reminders
from consultations.domain.validation import (
    require_aware,
    validate_date,
    validate_id,
    validate_ids,
    validate_line,
    validate_lines,
)
from consultations.domain.vocabulary import (
    ActionStatus,
    Classification,
    Kind,
    MeetingStatus,
    parse_choice,
)
from consultations.domain.wall_time import WallTime, local_date, resolve_local, to_local

AD_HOC_DURATION = Duration(hours=2)
MAX_MEETING_LENGTH = timedelta(days=14)
# A meeting may be recorded held up to a day "early" to absorb clock and zone confusion.
HELD_AHEAD_TOLERANCE = timedelta(days=1)
MAX_NOTE_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class HeldSession:
    """When a meeting actually took place, who attended and what came out of it."""

    start: WallTime
    end: WallTime | None
    attendance: tuple[str, ...]
    outcomes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActionItemState:
    """An action item and where it stands; ``note`` is the completion note or drop reason."""

    item_id: str
    text: str
    owner: str
    due: date
    status: ActionStatus
    closed_on: date | None
    note: str | None


@dataclass(frozen=True, slots=True)
class Meeting:
    """Current state of a meeting; ``version`` counts the events folded into it.

    ``start``/``end`` are naive local wall times in ``tz``; ``*_fold`` is set only for wall
    times that occur twice; ``*_utc`` are the instants they denote.
    """

    id: str
    track_id: str | None
    title: str
    kind: Kind
    start: WallTime
    end: WallTime
    tz: str
    venue: str | None
    host: str | None
    participants: tuple[str, ...]
    agenda: tuple[str, ...]
    classification: Classification
    reminders: tuple[str, ...] | None  # None: the track's reminder offsets
    status: MeetingStatus
    cancel_reason: str | None
    held: HeldSession | None
    action_items: tuple[ActionItemState, ...]
    version: int
    convener: str | None = None  # the party whose instance alone changes it (None: any)

    @property
    def is_closed(self) -> bool:
        """True once the meeting was held or cancelled (its lifecycle is over)."""
        return self.status in (MeetingStatus.HELD, MeetingStatus.CANCELLED)


def action_item_id(meeting_id: str, number: int) -> str:
    """Id of the ``number``-th (1-based) action item of a meeting: ``<meeting-id>/<number>``."""
    return f"{meeting_id}/{number}"


def next_host(rotation: tuple[str, ...], previous_host: str | None) -> str | None:
    """Return the host after ``previous_host`` in ``rotation``, wrapping around.

    The first in the rotation when there was no previous host or it is not in the
    rotation; None when there is no rotation.
    """
    if not rotation:
        return None
    if previous_host not in rotation:
        return rotation[0]
    return rotation[(rotation.index(previous_host) + 1) % len(rotation)]


def decide(
    state: Meeting | None,
    command: MeetingCommand,
    now: datetime,
    *,
    track: Track | None = None,
    previous_host: str | None = None,
    convener: str | None = None,
) -> tuple[MeetingEvent, ...]:
    """Decide the events for ``command`` against ``state`` (None = meeting does not exist).

    ``track`` is the state of the meeting's track (needed to plan a meeting in a track;
    the service layer has checked it exists). ``previous_host`` is the host of the track's
    previous meeting, for host rotation. ``convener``: the party a new meeting is convened by
    (this instance's, when it has an identity).
    """
    require_aware(now)
    match command:
        case PlanMeeting():
            return _plan(state, command, track, previous_host, convener)
        case RescheduleMeeting():
            return _reschedule(_open(state, command.meeting_id, "rescheduled"), command)
        case AmendMeeting():
            return _amend(_open(state, command.meeting_id, "amended"), command)
        case CancelMeeting():
            return _cancel(_open(state, command.meeting_id, "cancelled"), command)
        case RecordMeetingHeld():
            return _hold(_open(state, command.meeting_id, "recorded held"), command, now)
        case CompleteActionItem() | DropActionItem():
            return _close_action(_existing(state, command.meeting_id), command, now)
        case _:
            assert_never(command)


def evolve(state: Meeting | None, event: MeetingEvent) -> Meeting:  # noqa: PLR0911 - one return per event
    """Apply one event to the state."""
    if isinstance(event, MeetingPlanned):
        if state is not None:
            raise ValueError(f"meeting {event.meeting_id!r} planned twice in its stream")
        return Meeting(
            id=event.meeting_id,
            track_id=event.track_id,
            title=event.title,
            kind=Kind(event.kind),
            start=event.start,
            end=event.end,
            tz=event.tz,
            venue=event.venue,
            host=event.host,
            participants=event.participants,
            agenda=event.agenda,
            classification=Classification(event.classification),
            reminders=event.reminders,
            status=MeetingStatus.PLANNED,
            cancel_reason=None,
            held=None,
            action_items=(),
            version=1,
            convener=event.convener,
        )
    if state is None:
        raise ValueError(
            f"{type(event).__name__} applied to meeting {event.meeting_id!r} before it was planned"
        )
    match event:
        case MeetingRescheduled():
            return replace(
                state,
                version=state.version + 1,
                start=event.start,
                end=event.end,
                tz=event.tz,
                status=MeetingStatus.RESCHEDULED,
            )
        case MeetingAmended():
            return replace(
                state,
                version=state.version + 1,
                title=event.title or state.title,
                venue=state.venue if event.venue is None else (event.venue or None),
                host=state.host if event.host is None else (event.host or None),
                participants=(
                    state.participants if event.participants is None else event.participants
                ),
                agenda=state.agenda if event.agenda is None else event.agenda,
                classification=(
                    state.classification
                    if event.classification is None
                    else Classification(event.classification)
                ),
                reminders=state.reminders if event.reminders is None else event.reminders,
            )
        case MeetingCancelled():
            return replace(
                state,
                version=state.version + 1,
                status=MeetingStatus.CANCELLED,
                cancel_reason=event.reason,
            )
        case MeetingHeld():
            session = HeldSession(
                start=event.start,
                end=event.end,
                attendance=event.attendance,
                outcomes=event.outcomes,
            )
            items = tuple(
                ActionItemState(
                    item.item_id, item.text, item.owner, item.due, ActionStatus.OPEN, None, None
                )
                for item in event.action_items
            )
            return replace(
                state,
                version=state.version + 1,
                status=MeetingStatus.HELD,
                held=session,
                action_items=items,
            )
        case ActionItemCompleted():
            return _close_item(state, event.item_id, ActionStatus.DONE, event.on, event.note)
        case ActionItemDropped():
            return _close_item(state, event.item_id, ActionStatus.DROPPED, event.on, event.reason)
        case _:
            assert_never(event)


def fold(events: Iterable[MeetingEvent]) -> Meeting | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Meeting | None = None
    for event in events:
        state = evolve(state, event)
    return state


# --- decisions ---------------------------------------------------------------------------


def _plan(
    state: Meeting | None,
    command: PlanMeeting,
    track: Track | None,
    previous_host: str | None,
    convener: str | None,
) -> tuple[MeetingEvent, ...]:
    validate_id(command.meeting_id)
    if state is not None:
        raise NotAllowed("id", f"meeting {command.meeting_id!r} already exists")
    if command.track_id is not None:
        validate_id(command.track_id, "track")
        if track is None:
            raise UnknownId("track", command.track_id)
        if track.id != command.track_id:
            raise ValueError(f"track state {track.id!r} given for track {command.track_id!r}")
    elif track is not None:
        raise ValueError("track state given for an ad-hoc meeting")

    title = validate_line(command.title, "title")
    kind = (
        parse_choice(Kind, command.kind, "kind")
        if command.kind is not None
        else (track.kind if track else Kind.CONSULTATION)
    )
    classification = parse_choice(Classification, command.classification, "classification")
    tz = command.tz if command.tz is not None else (track.tz if track else None)
    if tz is None:
        raise InvalidInput("tz", "a time zone is required for a meeting outside a track")
    default_length = (track.default_duration if track else AD_HOC_DURATION).to_timedelta()
    start, end = _timing(
        command.start,
        end=command.end,
        duration=command.duration,
        tz=tz,
        fold=command.fold,
        default_length=default_length,
    )
    if track is not None and track.retired_on is not None and start.local.date() > track.retired_on:
        raise NotAllowed(
            "track",
            f"{track.id!r} was retired on {track.retired_on}; "
            f"no meetings after that (start {start.local.date()})",
        )
    if command.host is not None:
        host: str | None = validate_id(command.host, "host")
    else:
        host = next_host(track.host_rotation, previous_host) if track else None
    participants = validate_ids(command.participants, "participants")
    if not participants and track is not None:
        participants = track.parties
    return (
        MeetingPlanned(
            meeting_id=command.meeting_id,
            track_id=command.track_id,
            title=title,
            kind=kind.value,
            start=start,
            end=end,
            tz=tz,
            venue=None if command.venue is None else validate_line(command.venue, "venue"),
            host=host,
            participants=participants,
            agenda=validate_lines(command.agenda, "agenda"),
            classification=classification.value,
            reminders=map_optional(command.reminders, canonical_reminders),
            convener=convener,
        ),
    )


def _reschedule(meeting: Meeting, command: RescheduleMeeting) -> tuple[MeetingEvent, ...]:
    tz = meeting.tz if command.tz is None else command.tz
    start, end = _timing(
        command.start,
        end=command.end,
        duration=command.duration,
        tz=tz,
        fold=command.fold,
        default_length=meeting.end.utc - meeting.start.utc,
    )
    reason = _optional_note(command.reason, "reason")
    if (start, end, tz) == (meeting.start, meeting.end, meeting.tz):
        return ()
    return (
        MeetingRescheduled(
            meeting_id=meeting.id,
            start=start,
            end=end,
            tz=tz,
            reason=reason,
        ),
    )


def _amend(meeting: Meeting, command: AmendMeeting) -> tuple[MeetingEvent, ...]:
    title = None if command.title is None else validate_line(command.title, "title")
    # An empty venue or host clears it; None leaves it unchanged.
    venue = None if command.venue is None else _clearable_line(command.venue, "venue")
    host = None if command.host is None else _clearable_id(command.host, "host")
    participants = (
        None if command.participants is None else validate_ids(command.participants, "participants")
    )
    agenda = None if command.agenda is None else validate_lines(command.agenda, "agenda")
    classification = (
        None
        if command.classification is None
        else parse_choice(Classification, command.classification, "classification").value
    )
    amended = MeetingAmended(
        meeting_id=meeting.id,
        title=changed(title, meeting.title),
        venue=changed(venue, meeting.venue or ""),
        host=changed(host, meeting.host or ""),
        participants=changed(participants, meeting.participants),
        agenda=changed(agenda, meeting.agenda),
        classification=changed(classification, meeting.classification.value),
        reminders=changed(map_optional(command.reminders, canonical_reminders), meeting.reminders),
    )
    if amended == MeetingAmended(meeting_id=meeting.id):
        return ()
    return (amended,)


def _cancel(meeting: Meeting, command: CancelMeeting) -> tuple[MeetingEvent, ...]:
    reason = validate_line(command.reason, "reason", max_length=MAX_NOTE_LENGTH)
    return (MeetingCancelled(meeting.id, reason),)


def _hold(meeting: Meeting, command: RecordMeetingHeld, now: datetime) -> tuple[MeetingEvent, ...]:
    if command.on is None:
        start = meeting.start
    else:
        start = resolve_local(command.on, meeting.tz, command.fold, field="on")
    require_took_place(start, meeting.tz, now)
    end: WallTime | None = None
    if command.end is not None:
        end = resolve_local(command.end, meeting.tz, command.fold, field="end")
        _check_length(start, end, "end")
    items = tuple(
        ActionItem(
            item_id=action_item_id(meeting.id, number),
            text=validate_line(spec.text, "action", max_length=MAX_NOTE_LENGTH),
            owner=validate_id(spec.owner, "action"),
            due=validate_date(spec.due, "action"),
        )
        for number, spec in enumerate(command.action_items, start=1)
    )
    attendance = validate_ids(command.attendance, "attendance")  # the parties present
    return (
        MeetingHeld(
            meeting_id=meeting.id,
            start=start,
            end=end,
            attendance=attendance,
            outcomes=validate_lines(command.outcomes, "outcome", max_length=MAX_NOTE_LENGTH),
            action_items=items,
        ),
    )


def _close_action(
    meeting: Meeting, command: CompleteActionItem | DropActionItem, now: datetime
) -> tuple[MeetingEvent, ...]:
    item = _open_item(meeting, command.item_id)
    on = _closing_date(meeting, command.on, now)
    if isinstance(command, CompleteActionItem):
        note = _optional_note(command.note, "note")
        return (ActionItemCompleted(meeting.id, item.item_id, on, note),)
    reason = _optional_note(command.reason, "reason")
    return (ActionItemDropped(meeting.id, item.item_id, on, reason),)


# --- helpers -----------------------------------------------------------------------------


def _existing(state: Meeting | None, meeting_id: str) -> Meeting:
    if state is None:
        raise UnknownId("meeting", meeting_id, "id")
    return state


def require_took_place(start: WallTime, tz: str, now: datetime) -> None:
    """Refuse a record of a meeting that starts more than a day after ``now`` (field ``on``)."""
    if start.utc > now + HELD_AHEAD_TOLERANCE:
        raise InvalidInput(
            "on",
            f"{start.local.isoformat(sep=' ')} ({tz}) is more than a day in the future; "
            "record a meeting as held once it took place",
        )


def not_cancelled(state: Meeting | None, meeting_id: str, verb: str) -> Meeting:
    """Return the meeting if it exists and was not cancelled (``verb``: what it cannot be)."""
    meeting = _existing(state, meeting_id)
    if meeting.status is MeetingStatus.CANCELLED:
        raise NotAllowed("id", f"meeting {meeting.id!r} is cancelled; it cannot be {verb}")
    return meeting


def _open(state: Meeting | None, meeting_id: str, verb: str) -> Meeting:
    """Return the meeting if it exists and is neither held nor cancelled."""
    meeting = not_cancelled(state, meeting_id, verb)
    if meeting.status is MeetingStatus.HELD:
        raise NotAllowed("id", f"meeting {meeting.id!r} was held; it cannot be {verb}")
    return meeting


def _timing(
    start: datetime,
    *,
    end: datetime | None,
    duration: str | None,
    tz: str,
    fold: int | None,
    default_length: timedelta,
) -> tuple[WallTime, WallTime]:
    """Resolve start and end (explicit, or start + duration in elapsed time)."""
    if end is not None and duration is not None:
        raise InvalidInput("duration", "give either an end or a duration, not both")
    begin = resolve_local(start, tz, fold, field="start")
    if end is not None:
        finish = resolve_local(end, tz, fold, field="end")
        _check_length(begin, finish, "end")
        return begin, finish
    length = (
        default_length
        if duration is None
        else parse_exact_duration(duration, "duration", maximum=MAX_MEETING_LENGTH).to_timedelta()
    )
    # Elapsed time: a 2-hour meeting lasts 2 hours even across a DST change.
    finish = to_local(begin.utc + length, tz)
    validate_date(finish.local, "end")
    _check_length(begin, finish, "duration")
    return begin, finish


def _check_length(start: WallTime, end: WallTime, field: str) -> None:
    if end.utc <= start.utc:
        raise InvalidInput(
            field,
            f"{end.local.isoformat(sep=' ')} is not after "
            f"the start {start.local.isoformat(sep=' ')}",
        )
    if end.utc - start.utc > MAX_MEETING_LENGTH:
        raise InvalidInput(field, f"a meeting may last at most 14 days, not {end.utc - start.utc}")


def _clearable_line(value: str, field: str) -> str:
    return "" if not value.strip() else validate_line(value, field)


def _clearable_id(value: str, field: str) -> str:
    return "" if not value.strip() else validate_id(value.strip(), field)


def _optional_note(value: str | None, field: str) -> str | None:
    return None if value is None else validate_line(value, field, max_length=MAX_NOTE_LENGTH)


def _open_item(meeting: Meeting, item_id: str) -> ActionItemState:
    number = item_id.removeprefix(f"{meeting.id}/")
    if number == item_id or not number.isascii() or not number.isdigit():
        raise InvalidInput("action", f"{item_id!r} is not an action item id such as {meeting.id}/1")
    for item in meeting.action_items:
        if item.item_id == item_id:
            if item.status is not ActionStatus.OPEN:
                raise NotAllowed("action", f"{item_id!r} is already {item.status}")
            return item
    raise NotFound("action", f"no action item {item_id!r} in meeting {meeting.id!r}")


def _closing_date(meeting: Meeting, on: date | None, now: datetime) -> date:
    today = local_date(now, meeting.tz)
    if on is None:
        return today
    validate_date(on, "on")
    if on > local_date(now + HELD_AHEAD_TOLERANCE, meeting.tz):
        raise InvalidInput("on", f"{on} is in the future")
    return on


def _close_item(
    meeting: Meeting, item_id: str, status: ActionStatus, on: date, note: str | None
) -> Meeting:
    items = tuple(
        replace(item, status=status, closed_on=on, note=note) if item.item_id == item_id else item
        for item in meeting.action_items
    )
    if items == meeting.action_items:
        raise ValueError(f"no action item {item_id!r} in meeting {meeting.id!r}")
    return replace(meeting, action_items=items, version=meeting.version + 1)
