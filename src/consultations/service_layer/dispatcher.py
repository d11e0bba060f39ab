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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consultations.adapters.channels import (
    Channel,
    DeliveryFailed,
    Notification,
    meeting_calendar,
)
from consultations.adapters.outbox import Claimed, SqlOutbox, delivery_id
from consultations.adapters.read_models import ReadModels
from consultations.domain.disclosure import RESTRICTED, for_channel, meeting_for_channel
from consultations.domain.vocabulary import DeliveryKind, DeliveryStatus
from consultations.service_layer.feeds import feed_meeting
from consultations.service_layer.reports import compliance_report
from consultations.service_layer.retry import backoff

log = logging.getLogger("consultations.daemon")

ALERTED = {"at_risk": "cadence.at_risk", "missed": "cadence.missed"}
ALERT_LOOKBACK = timedelta(days=31)  # a window that closed short within this gets its alert


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
    ) -> None:
        self.outbox = outbox
        self.read_models = read_models
        self.channels = {channel.name: channel for channel in channels}
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.max_attempts = max_attempts
        self.rng = rng or random.Random()
        self.stopping = threading.Event()

    def sweep(self) -> SweepReport:
        """Fill the outbox from the schedule and the cadences, then deliver what is due."""
        report = SweepReport()
        now = self.clock()
        self.outbox.materialize_reminders(now, list(self.channels))
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
        if not self.outbox.still_wanted(item):
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
        """
        if item.kind == DeliveryKind.REMINDER:
            row = self.read_models.meeting(item.subject["meeting"]["meeting_id"])
            subject_data = for_channel(_classified(item.subject, row), cleared=cleared)
            meeting = subject_data["meeting"]
            where = f" at {meeting['venue']}" if meeting.get("venue") else ""
            subject = (
                f"Reminder: {meeting['title']} on {meeting['start_local'].replace('T', ' ')[:16]}"
                f" ({meeting['tz']}){where}"
            )
            body = "\n".join(
                line
                for line in (
                    subject,
                    f"Track: {meeting['track_title']}" if meeting.get("track_title") else "",
                    f"Host: {meeting['host']}" if meeting.get("host") else "",
                    f"Reminder {meeting['offset']} before the start.",
                )
                if line
            )
            calendar = None
            if row is not None:
                shown = meeting_for_channel(
                    {**row, "classification": meeting["classification"]}, cleared=cleared
                )
                # Stamped now: an e-mailed object's DTSTAMP is when it was created (RFC 5545).
                calendar = meeting_calendar(
                    feed_meeting(shown), include_restricted=cleared, stamp=self.clock()
                )
            return Notification(item.delivery_id, item.type, subject, body, subject_data, calendar)
        window = item.subject["window"]
        state = "at risk" if item.type == "cadence.at_risk" else "missed"
        subject = (
            f"Cadence {state}: {window['title']}, window {window['window']} "
            f"({window['held']} of {window['required']} held, ends {window['window_end']})"
        )
        subject_data = for_channel(item.subject, cleared=cleared)
        return Notification(item.delivery_id, item.type, subject, subject, subject_data)

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
        return self.outbox.next_due(self.clock())


def is_cleared(channel: Channel) -> bool:
    """Whether ``channel`` declared itself cleared for restricted details (missing: no)."""
    return getattr(channel, "cleared", False) is True


def _classified(subject: dict[str, Any], row: dict[str, Any] | None) -> dict[str, Any]:
    """The reminder's subject with the stricter of its recorded and current classification.

    Deliveries recorded before classifications were recorded have none; a meeting made
    restricted after its reminder fell due must not go out in full either.
    """
    meeting = subject["meeting"]
    current = None if row is None else row["classification"]
    known = [c for c in (current, meeting.get("classification")) if c is not None]
    classification = RESTRICTED if not known or RESTRICTED in known else known[0]
    return {**subject, "meeting": {**meeting, "classification": classification}}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
