"""One sweep of the reminder daemon: fill the outbox, claim, deliver, record.

The database is the record: this class keeps no state between sweeps, so a daemon that
stops, crashes or restarts loses nothing (see ``adapters/outbox.py``).

Every notification is built for the channel it goes to: its subject data first pass
through :func:`~consultations.domain.disclosure.for_channel`, and the subject line, body,
webhook fields and calendar are all derived from what that returns, so a channel that is not
cleared for restricted details never receives them in any form.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consultations.adapters.channels import (
    Channel,
    DeliveryFailed,
    Notification,
    meeting_calendar,
)
from consultations.adapters.outbox import NUDGE_TYPE, Claimed, SqlOutbox, delivery_id
from consultations.adapters.read_models import ReadModels
from consultations.domain.disclosure import RESTRICTED, for_channel, meeting_for_channel
from consultations.domain.vocabulary import DeliveryKind, DeliveryStatus
from consultations.service_layer.feeds import feed_meeting
from consultations.service_layer.reports import compliance_report
from consultations.service_layer.retry import backoff
from consultations.service_layer.wording import describe_length
from consultations.settings import DEFAULT_NUDGE_AFTER

log = logging.getLogger("consultations.daemon")

ALERTED = {"at_risk": "cadence.at_risk", "missed": "cadence.missed"}
# A window that closed short within this gets its alert; a nudge that fell due within it
# is sent. A first start does not go through the whole history.
ALERT_LOOKBACK = timedelta(days=31)
LATE_AFTER = timedelta(minutes=1)  # a delivery sent this long after it fell due says so


@dataclass
class SweepReport:
    """What one sweep did."""

    claimed: int = 0
    outcomes: dict[DeliveryStatus, int] = field(default_factory=dict)

    def count(self, status: DeliveryStatus) -> None:
        """Add one outcome."""
        self.outcomes[status] = self.outcomes.get(status, 0) + 1


class Dispatcher:
    """Delivers due notifications on every configured channel, at least once each."""

    def __init__(
        self,
        outbox: SqlOutbox,
        read_models: ReadModels,
        channels: Sequence[Channel],
        clock: Callable[[], datetime],
        *,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 50,
        max_attempts: int = 8,
        rng: random.Random | None = None,
        nudge_after: timedelta = DEFAULT_NUDGE_AFTER,
    ) -> None:
        self.outbox = outbox
        self.read_models = read_models
        self.channels = {channel.name: channel for channel in channels}
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.max_attempts = max_attempts
        self.rng = rng or random.Random()
        self.nudge_after = nudge_after
        self.stopping = threading.Event()

    def sweep(self) -> SweepReport:
        """Fill the outbox from the schedule and the cadences, then deliver what is due."""
        report = SweepReport()
        now = self.clock()
        self.outbox.materialize_reminders(now, list(self.channels))
        self.outbox.materialize_nudges(
            now, list(self.channels), after=self.nudge_after, lookback=ALERT_LOOKBACK
        )
        self.enqueue_cadence_alerts(now)
        while not self.stopping.is_set():
            now = self.clock()
            claimed = self.outbox.claim(now, self.batch, now + self.lease)
            if not claimed:
                break
            report.claimed += len(claimed)
            for index, item in enumerate(claimed):
                if self.stopping.is_set():  # hand back what was claimed but not started
                    self.outbox.release(claimed[index:])
                    break
                report.count(self.deliver(item))
        return report

    def deliver(self, item: Claimed) -> DeliveryStatus:
        """Send one claimed delivery and record the outcome; return its new status."""
        now = self.clock()
        if not self.outbox.still_wanted(item, now):
            self.outbox.record(item, DeliveryStatus.SUPERSEDED, now)
            return DeliveryStatus.SUPERSEDED
        channel = self.channels.get(item.channel)
        if channel is None:
            self.outbox.record(
                item, DeliveryStatus.DEAD, now, error=f"channel {item.channel!r} is not configured"
            )
            return DeliveryStatus.DEAD
        try:
            channel.send(self.notification(item, cleared=is_cleared(channel)))
        except DeliveryFailed as failure:
            return self._failed(item, failure)
        self.outbox.record(item, DeliveryStatus.SENT, self.clock())
        return DeliveryStatus.SENT

    def _failed(self, item: Claimed, failure: DeliveryFailed) -> DeliveryStatus:
        now = self.clock()
        if failure.permanent or item.attempts >= self.max_attempts:
            log.warning("delivery %s on %s is dead: %s", item.delivery_id, item.channel, failure)
            self.outbox.record(item, DeliveryStatus.DEAD, now, error=str(failure))
            return DeliveryStatus.DEAD
        wait = max(backoff(item.attempts, rng=self.rng), failure.retry_after or 0.0)
        log.info(
            "delivery %s on %s failed, retry in %.0fs: %s",
            item.delivery_id,
            item.channel,
            wait,
            failure,
        )
        self.outbox.record(
            item,
            DeliveryStatus.FAILED,
            now,
            error=str(failure),
            retry_at=now + timedelta(seconds=wait),
        )
        return DeliveryStatus.FAILED

    def notification(self, item: Claimed, *, cleared: bool = False) -> Notification:
        """The message for a delivery, from what was recorded when it fell due.

        ``cleared``: whether the channel may see restricted meetings' details; if not, a
        restricted meeting is described as a busy block (see ``domain/disclosure.py``).
        A delivery sent late says how late, in its subject and body.
        """
        now = self.clock()
        late = how_late(item.due_at, now)
        about = item.subject.get("meeting")
        row = None if about is None else self.read_models.meeting(about["meeting_id"])
        subject_data = disclosed(
            item.subject, None if row is None else row["classification"], cleared=cleared
        )
        subject = subject_line(item.type, subject_data)
        if late:
            subject += f" (sent {late} late)"
        if about is None:  # a cadence alert
            return Notification(item.delivery_id, item.type, subject, subject, subject_data)
        meeting = subject_data["meeting"]
        if item.type == NUDGE_TYPE:
            meeting_id = meeting["meeting_id"]
            what = (
                f"It ended on {_minutes(meeting['end_local'])} ({meeting['tz']}) and was "
                f"recorded neither held nor cancelled: `consultations meeting held {meeting_id}` "
                f"or `consultations meeting cancel {meeting_id} --reason …` records it."
            )
        else:
            what = f"Reminder {meeting['offset']} before the start."
        body = "\n".join(
            line
            for line in (
                subject,
                f"Track: {meeting['track_title']}" if meeting.get("track_title") else "",
                f"Host: {meeting['host']}" if meeting.get("host") else "",
                what,
                f"Due {item.due_at:%Y-%m-%d %H:%M} UTC, sent {late} late." if late else "",
            )
            if line
        )
        calendar = None
        if row is not None and item.type != NUDGE_TYPE:
            shown = meeting_for_channel(
                {**row, "classification": meeting["classification"]}, cleared=cleared
            )
            # Stamped now: an e-mailed object's DTSTAMP is when it was created (RFC 5545).
            calendar = meeting_calendar(feed_meeting(shown), include_restricted=cleared, stamp=now)
        return Notification(item.delivery_id, item.type, subject, body, subject_data, calendar)

    def enqueue_cadence_alerts(self, now: datetime) -> int:
        """One alert per channel when a window turns at risk, one when it closes short."""
        today = now.date()
        rows = []
        windows = compliance_report(
            self.read_models, now=now, since=today - ALERT_LOOKBACK, until=today
        )
        for window in windows:
            alert = ALERTED.get(window["status"])
            if alert is None:
                continue
            source = hashlib.sha256(
                f"{window['track']}|{window['window']}|{alert}".encode()
            ).hexdigest()[:32]
            subject = {"window": {k: _plain(v) for k, v in window.items() if k != "meetings"}}
            rows += [
                {
                    "delivery_id": delivery_id(source, channel),
                    "kind": DeliveryKind.CADENCE,
                    "source_id": source,
                    "channel": channel,
                    "type": alert,
                    "subject": subject,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "due_at": now,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for channel in self.channels
            ]
        return self.outbox.enqueue(rows)

    def next_due(self) -> datetime | None:
        """When the next sweep has work (None: nothing scheduled)."""
        return self.outbox.next_due(self.clock(), self.nudge_after)


def is_cleared(channel: Channel) -> bool:
    """Whether ``channel`` declared itself cleared for restricted details (missing: no)."""
    return getattr(channel, "cleared", False) is True


def subject_line(notification_type: str, subject_data: Mapping[str, Any]) -> str:
    """The one-line subject of a notification, from its subject data as the channel sees it."""
    if "window" in subject_data:
        window = subject_data["window"]
        state = "at risk" if notification_type == "cadence.at_risk" else "missed"
        return (
            f"Cadence {state}: {window['title']}, window {window['window']} "
            f"({window['held']} of {window['required']} held, ends {window['window_end']})"
        )
    meeting = subject_data["meeting"]
    when = f"{_minutes(meeting['start_local'])} ({meeting['tz']})"
    if notification_type == NUDGE_TYPE:
        return f"Awaiting record: {meeting['title']} on {when}, held or cancelled?"
    where = f" at {meeting['venue']}" if meeting.get("venue") else ""
    return f"Reminder: {meeting['title']} on {when}{where}"


def disclosed(
    subject: Mapping[str, Any], classification: str | None, *, cleared: bool
) -> dict[str, Any]:
    """A delivery's recorded subject data as a channel may see it.

    ``classification``: the meeting's current one (None: unknown). A meeting's reminder or
    nudge takes the stricter of the classification recorded when it fell due and the current
    one: deliveries recorded before classifications were have none, and a meeting made
    restricted after its reminder fell due must not go out in full either.
    """
    meeting = subject.get("meeting")
    if isinstance(meeting, Mapping):
        known = [c for c in (classification, meeting.get("classification")) if c is not None]
        strictest = RESTRICTED if not known or RESTRICTED in known else known[0]
        subject = {**subject, "meeting": {**meeting, "classification": strictest}}
    return for_channel(subject, cleared=cleared)


def how_late(due_at: datetime, sent_at: datetime) -> str | None:
    """How late a delivery sent at ``sent_at`` was, in words, if by :data:`LATE_AFTER` or more.

    To the minute, and past a day to the hour: "3 h 20 min", "5 days 2 h".
    """
    late = sent_at - due_at
    if late < LATE_AFTER:
        return None
    unit = timedelta(hours=1) if late >= timedelta(days=1) else timedelta(minutes=1)
    return describe_length(late // unit * unit)


def _minutes(local: str) -> str:
    """``2026-05-14T10:00:00`` as ``2026-05-14 10:00``."""
    return local.replace("T", " ")[:16]


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
