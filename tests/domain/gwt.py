"""A tiny given/when/then harness for the deciders, plus builders for common events.

given(*events).when(command, now=..., track=...).then(*expected_events)
given(*events).when(command).then_raises(NotAllowed, "id")
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from consultations.domain import tracks
from consultations.domain.aggregates import Aggregate, for_command
from consultations.domain.errors import DomainError
from consultations.domain.events import (
    ActionItem,
    MeetingHeld,
    MeetingPlanned,
    TrackAdded,
)
from consultations.domain.wall_time import WallTime

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class When:
    """A command about to be decided against the given history."""

    history: tuple[Any, ...]
    command: Any
    now: datetime
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def aggregate(self) -> Aggregate[Any]:
        return for_command(self.command)

    def decide(self) -> tuple[Any, ...]:
        state = self.aggregate.fold(self.history)
        return tuple(self.aggregate.decide(state, self.command, self.now, **self.context))

    def then(self, *expected: Any) -> Any:
        """Assert the decided events equal ``expected``; return the state after them."""
        produced = self.decide()
        assert produced == expected
        # The decided events must also apply cleanly to the stream.
        return self.aggregate.fold(self.history + produced)

    def then_nothing(self) -> None:
        """Assert the command is accepted but changes nothing (no events)."""
        assert self.decide() == ()

    def then_raises(self, error: type[DomainError], field: str, match: str = "") -> DomainError:
        """Assert the command is rejected with exactly ``error`` on ``field``."""
        with pytest.raises(DomainError) as info:
            self.decide()
        assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
        assert info.value.field == field, str(info.value)
        assert match in info.value.problem, str(info.value)
        assert "\n" not in str(info.value)
        return info.value


@dataclass(frozen=True)
class Given:
    """Events already in the stream."""

    history: tuple[Any, ...]

    def when(self, command: Any, *, now: datetime = NOW, **context: Any) -> When:
        return When(self.history, command, now, context)


def given(*events: Any) -> Given:
    """Start a scenario from the events already in the stream (none: empty stream)."""
    return Given(events)


# --- builders for given events (every value spelled out, so tests read on their own) -----


def track_added(**overrides: Any) -> TrackAdded:
    """A half-yearly Baku workshop track; override any field."""
    values: dict[str, Any] = {
        "track_id": "strategy-workshop",
        "title": "Bi-annual strategy workshop",
        "kind": "workshop",
        "cadence": "half-year",
        "required": 1,
        "start": date(2026, 1, 1),
        "tz": "Asia/Baku",
        "parties": ("TM-MFA", "AZ-MFA"),
        "areas": ("energy", "security"),
        "priority": "high",
        "default_duration": "PT3H",
        "reminders": ("P14D", "P1D"),
        "host_rotation": ("TM-MFA", "AZ-MFA"),
    }
    return TrackAdded(**(values | overrides))


def track_state(*extra_events: Any, **overrides: Any) -> tracks.Track:
    """State of the track built by :func:`track_added` (plus any further events)."""
    state = tracks.fold((track_added(**overrides), *extra_events))
    assert state is not None
    return state


def meeting_planned(**overrides: Any) -> MeetingPlanned:
    """Workshop m1 in Baku (UTC+4), 2026-09-15 10:00-13:00 local."""
    values: dict[str, Any] = {
        "meeting_id": "m1",
        "track_id": "strategy-workshop",
        "title": "Strategy workshop, autumn 2026",
        "kind": "workshop",
        "start": WallTime(datetime(2026, 9, 15, 10, 0), None, datetime(2026, 9, 15, 6, tzinfo=UTC)),
        "end": WallTime(datetime(2026, 9, 15, 13, 0), None, datetime(2026, 9, 15, 9, tzinfo=UTC)),
        "tz": "Asia/Baku",
        "venue": "Baku",
        "host": "AZ-MFA",
        "participants": ("TM-MFA", "AZ-MFA"),
        "agenda": ("Energy corridor",),
        "classification": "internal",
    }
    return MeetingPlanned(**(values | overrides))


def meeting_held(**overrides: Any) -> MeetingHeld:
    """m1 held as planned with one action item for TM-MFA."""
    values: dict[str, Any] = {
        "meeting_id": "m1",
        "start": WallTime(datetime(2026, 9, 15, 10, 0), None, datetime(2026, 9, 15, 6, tzinfo=UTC)),
        "end": None,
        "attendance": ("TM-MFA", "AZ-MFA"),
        "outcomes": ("Joint statement agreed",),
        "action_items": (ActionItem("m1/1", "Draft the memorandum", "TM-MFA", date(2026, 10, 1)),),
    }
    return MeetingHeld(**(values | overrides))


AFTER_MEETING = datetime(2026, 9, 16, 9, 0, tzinfo=UTC)
