"""Minutes aggregate: a party's own record of a meeting another party convenes.

The convener's instance records a meeting held (``MeetingHeld``): when it took place, who
attended, its outcomes and action items. That record alone makes the meeting held and
counts for compliance. Every other party records, once, its own minutes of it (who was
present, what came of it as that party saw it) in a stream of its own,
``minutes-<meeting id>@<party>``, which only that party's instance writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

from consultations.domain import meetings
from consultations.domain.commands import MinutesCommand, RecordMinutes
from consultations.domain.errors import InvalidInput, NotAllowed, UnknownId
from consultations.domain.events import MinutesEvent, MinutesRecorded
from consultations.domain.validation import require_aware, validate_id, validate_ids, validate_lines


@dataclass(frozen=True, slots=True)
class Minutes:
    """One party's minutes of a meeting."""

    meeting_id: str
    party: str
    attendance: tuple[str, ...]
    outcomes: tuple[str, ...]
    version: int


def decide(
    state: Minutes | None,
    command: MinutesCommand,
    now: datetime,
    *,
    meeting: meetings.Meeting | None = None,
) -> tuple[MinutesEvent, ...]:
    """Decide the events for ``command`` (``state``: these minutes, None if not recorded yet).

    ``meeting``: the meeting's state. Refused when it was cancelled, or starts more than a
    day from now (the rule of a meeting recorded held), or when the minutes exist already.
    """
    require_aware(now)
    match command:
        case RecordMinutes():
            validate_id(command.party, "party")
            if meeting is None:
                raise UnknownId("meeting", command.meeting_id, "id")
            meetings.not_cancelled(meeting, command.meeting_id, "minuted")
            if state is not None:
                raise NotAllowed(
                    "meeting", f"{command.party}'s minutes of {meeting.id!r} were recorded already"
                )
            took_place = meeting.held.start if meeting.held is not None else meeting.start
            meetings.require_took_place(took_place, meeting.tz, now)
            attendance = validate_ids(command.attendance, "attendance")
            outcomes = validate_lines(
                command.outcomes, "outcome", max_length=meetings.MAX_NOTE_LENGTH
            )
            if not attendance and not outcomes:
                raise InvalidInput(
                    "attendance", "give the parties present (--attendance), an --outcome, or both"
                )
            return (MinutesRecorded(meeting.id, command.party, attendance, outcomes),)
        case _:
            assert_never(command)


def check_received(event: MinutesRecorded, convener: str | None) -> None:
    """Raise a DomainError unless received minutes are ones :func:`decide` could record.

    ``convener``: the meeting's convener, whose record of it held is not minutes.
    """
    validate_id(event.party, "party")
    if event.party == convener:
        raise NotAllowed(
            "party", f"{event.party} convenes {event.meeting_id!r}; it records it held"
        )
    attendance = validate_ids(event.attendance, "attendance")
    outcomes = validate_lines(event.outcomes, "outcome", max_length=meetings.MAX_NOTE_LENGTH)
    if (attendance, outcomes) != (event.attendance, event.outcomes):
        raise InvalidInput("attendance", "it is not written as it is recorded")
    if not attendance and not outcomes:
        raise InvalidInput("attendance", "it has neither the parties present nor an outcome")


def evolve(state: Minutes | None, event: MinutesEvent) -> Minutes:
    """Apply one event to the state."""
    match event:
        case MinutesRecorded():
            if state is not None:
                raise ValueError(f"minutes {event.minutes_id!r} recorded twice")
            return Minutes(event.meeting_id, event.party, event.attendance, event.outcomes, 1)
        case _:
            assert_never(event)


def fold(events: Iterable[MinutesEvent]) -> Minutes | None:
    """Rebuild the state from a stream's events (None for an empty stream)."""
    state: Minutes | None = None
    for event in events:
        state = evolve(state, event)
    return state
