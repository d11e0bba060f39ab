"""One fixed session of commands: the example plan imported, then a meeting planned, moved, held.

Tests that compare logs (byte identity across versions, the in-memory log against the SQL
one, carried events against decoded ones) play the same session.
"""

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import tomli_w

from consultations.domain.commands import PlanMeeting, RecordMeetingHeld, RescheduleMeeting
from consultations.service_layer.plan_import import import_plan
from consultations.service_layer.services import CommandService, Provenance

EXAMPLE = Path(__file__).parents[2] / "examples" / "tm-az-cooperation.toml"
# The example plan as it was when the session's head hash was recorded (before working
# calendars gave the parties a country and moved two meetings off public holidays).
REFERENCE_PLAN = Path(__file__).with_name("reference-plan.toml")
FOLLOW_UP = ("done", "dropped", "note")


def reference_plan() -> bytes:
    """The example plan as the session was first recorded: no action item done or dropped."""
    return before_follow_up(REFERENCE_PLAN)


def before_follow_up(path: Path) -> bytes:
    """A plan file as it was before anyone followed its action items up."""
    plan = tomllib.loads(path.read_text(encoding="utf-8"))
    for meeting in plan["meetings"].values():
        for item in meeting.get("actions", []):
            for key in FOLLOW_UP:
                item.pop(key, None)
    return tomli_w.dumps(plan).encode()


def play_reference_session(service: CommandService, provenance: Provenance) -> None:
    """Import the reference plan, then plan, reschedule and hold one more meeting."""
    import_plan(service, reference_plan(), provenance)
    start = datetime(2026, 3, 2, 10, 0)
    service.execute(
        PlanMeeting(
            meeting_id="extra",
            title="Extra session",
            start=start,
            track_id="joint-review",
            participants=("TM-MFA",),
        ),
        provenance,
    )
    service.execute(
        RescheduleMeeting(meeting_id="extra", start=start + timedelta(days=1)), provenance
    )
    service.execute(RecordMeetingHeld(meeting_id="extra", attendance=("TM-MFA",)), provenance)
