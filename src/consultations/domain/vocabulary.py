"""Closed vocabularies of the domain (kinds, priorities, classifications, statuses).

The delivery terms are here too: the outbox (adapters) stores them and the dispatcher
(service layer) decides them, and adapters never import the service layer.
"""

from enum import StrEnum
from typing import TypeVar

from consultations.domain.errors import InvalidInput


class Kind(StrEnum):
    """Kind of a track or meeting."""

    CONSULTATION = "consultation"
    WORKSHOP = "workshop"
    REVIEW = "review"
    TASK_FORCE = "task_force"
    WORKING_GROUP = "working_group"
    TRAINING = "training"
    CULTURAL_EVENT = "cultural_event"


class Priority(StrEnum):
    """Priority of a track."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Classification(StrEnum):
    """Who may see a meeting's details."""

    PUBLIC = "public"
    INTERNAL = "internal"
    RESTRICTED = "restricted"


class MeetingStatus(StrEnum):
    """Lifecycle of a meeting: planned → (rescheduled)* → held | cancelled."""

    PLANNED = "planned"
    RESCHEDULED = "rescheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class ActionStatus(StrEnum):
    """Status of an action item."""

    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class DeliveryStatus(StrEnum):
    """State of one notification on one channel in the outbox."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"
    SUPERSEDED = "superseded"


class DeliveryKind(StrEnum):
    """What a delivery is about.

    A meeting's reminder, a track's cadence alert, or a nudge to record a meeting that has
    ended as held or cancelled.
    """

    REMINDER = "reminder"
    CADENCE = "cadence"
    NUDGE = "nudge"


E = TypeVar("E", bound=StrEnum)


def parse_choice(enum: type[E], value: str, field: str) -> E:
    """Return the member of ``enum`` whose value is ``value``, or raise InvalidInput."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(field, f"unknown {field} {value!r}; expected one of {allowed}") from None
