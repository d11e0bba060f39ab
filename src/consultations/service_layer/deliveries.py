"""What `reminders list` shows: the reminders still to come, and every delivery so far."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from consultations.adapters.outbox import SqlOutbox
from consultations.adapters.read_models import ReadModels
from consultations.domain.vocabulary import DeliveryStatus
from consultations.service_layer.dispatcher import disclosed, how_late, subject_line

UPCOMING: Final = "upcoming"  # a reminder not due yet: no delivery exists for it
DUE: Final = "due"  # a reminder due that no daemon has taken yet (none swept since)
TO_COME: Final = (UPCOMING, DUE)  # the states of a reminder no delivery exists for yet
LISTED_STATUSES: Final = (*TO_COME, *(status.value for status in DeliveryStatus))
COLUMNS: Final = (
    "delivery_id", "type", "meeting_id", "title", "offset", "channel", "status", "attempts",
    "due_at", "next_attempt_at", "sent_at", "late", "last_error", "subject",
)  # fmt: skip


def list_deliveries(
    outbox: SqlOutbox,
    read_models: ReadModels,
    channels: Mapping[str, bool],
    now: datetime,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Reminders without a delivery yet and every delivery, by the time they fall due.

    ``channels``: each configured channel's name and whether it is cleared for restricted
    details. A reminder not yet delivered is one row for all the channels it will go to
    (``upcoming`` before its time, ``due`` after it); a delivery is one row per channel.
    ``subject`` is the subject line as the channel gets it (a busy block for a restricted
    meeting on a channel not cleared for it); ``late`` says how late a delivery was sent.
    ``status``: only rows in that state.
    """
    rows: list[dict[str, Any]] = []
    if status is None or status in TO_COME:
        everywhere = all(channels.values())  # as every one of its channels may see it
        for reminder in outbox.undelivered_reminders():
            state = UPCOMING if reminder["due_at"] > now else DUE
            if status not in (None, state):
                continue
            rows.append(
                {
                    "type": "reminder.due",
                    "meeting_id": reminder["meeting_id"],
                    "title": reminder["title"],
                    "offset": reminder["offset"],
                    "channel": ", ".join(channels),
                    "status": state,
                    "attempts": 0,
                    "due_at": reminder["due_at"],
                    "subject": _subject(
                        "reminder.due", {"meeting": reminder}, None, cleared=everywhere
                    ),
                }
            )
    if status not in TO_COME:
        wanted = None if status is None else DeliveryStatus(status)
        deliveries = outbox.list(wanted)
        meetings = read_models.meetings(
            d["subject"]["meeting"]["meeting_id"] for d in deliveries if "meeting" in d["subject"]
        )
        current = {meeting_id: row["classification"] for meeting_id, row in meetings.items()}
        rows += [_delivery(row, current, channels) for row in deliveries]
    return sorted(rows, key=lambda row: (row["due_at"], row.get("delivery_id") or ""))


def _delivery(
    row: Mapping[str, Any], current: Mapping[str, str], channels: Mapping[str, bool]
) -> dict[str, Any]:
    """One delivery as listed."""
    meeting = row["subject"].get("meeting")
    if meeting is not None:
        about = {"meeting_id": meeting["meeting_id"], "title": meeting["title"]}
        classification = current.get(meeting["meeting_id"])
    else:
        window = row["subject"]["window"]
        about = {"title": f"{window['title']}, window {window['window']}"}
        classification = None
    late = None
    if row["status"] == DeliveryStatus.SENT and row["sent_at"] is not None:
        late = how_late(row["due_at"], row["sent_at"])
    cleared = channels.get(row["channel"], False)  # a channel no longer configured: not cleared
    return {
        **row,
        **about,
        "offset": None if meeting is None else meeting.get("offset"),
        "late": late,
        "subject": _subject(row["type"], row["subject"], classification, cleared=cleared),
    }


def _subject(
    notification_type: str, subject: Mapping[str, Any], classification: str | None, *, cleared: bool
) -> str:
    return subject_line(notification_type, disclosed(subject, classification, cleared=cleared))
