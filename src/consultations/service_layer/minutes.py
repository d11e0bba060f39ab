"""`meeting held`: the convener records the meeting held, every other party its own minutes.

Only the convener's instance records when a meeting took place and its action items (its
``MeetingHeld`` makes the meeting held and alone counts for compliance). On the instance of
another party that took part, the same command records that party's own attendance and
outcomes instead (``RecordMinutes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from consultations.domain.commands import RecordMeetingHeld, RecordMinutes
from consultations.domain.errors import NotAllowed
from consultations.service_layer.handlers import convener_of, own_party
from consultations.service_layer.services import CommandService, Outcome, Provenance


@dataclass(frozen=True, slots=True)
class HeldRecorded:
    """What `meeting held` did.

    ``minutes_of``: the party whose minutes it recorded; None when it recorded the meeting
    held (this instance convenes it).
    """

    outcome: Outcome
    minutes_of: str | None


def record_held(
    commands: CommandService,
    command: RecordMeetingHeld,
    provenance: Provenance,
    idempotency_key: str | None = None,
) -> HeldRecorded:
    """Record the meeting held here if this instance convenes it, else this party's minutes.

    A time (``on``, ``end``, ``fold``) or action items given for a meeting another party
    convenes are refused (NotAllowed): its convener records them.
    """
    uow = commands.new_unit_of_work()
    own = own_party(uow)
    convener = convener_of(uow, command.meeting_id)
    if own is None or convener in (None, own):
        return HeldRecorded(commands.execute(command, provenance, idempotency_key), None)
    if (command.on, command.end, command.fold) != (None, None, None) or command.action_items:
        raise NotAllowed(
            "meeting",
            f"{command.meeting_id!r} is convened by {convener}, which records when and action "
            "items; give only --attendance, --outcome",
        )
    minutes = RecordMinutes(
        meeting_id=command.meeting_id,
        party=own,
        attendance=command.attendance,
        outcomes=command.outcomes,
    )
    return HeldRecorded(commands.execute(minutes, provenance, idempotency_key), own)
