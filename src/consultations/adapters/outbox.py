"""The delivery outbox: due notifications, claimed with a lease, marked sent, failed or dead.

PostgreSQL: several daemons claim with ``FOR UPDATE SKIP LOCKED`` and a lease, so each
row goes to one of them at a time; a daemon that dies loses its claims when the lease
runs out. SQLite: one daemon at a time (a file lock, see ``entrypoints/daemon.py``).
Delivery is at least once: a crash between sending and recording sends again, with the
same ``delivery_id`` for the receiver to deduplicate.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from consultations.adapters.database import database_unavailable, write_transaction
from consultations.adapters.orm import deliveries, reminders, schedule, tracks
from consultations.domain.compliance import RECORD_PENDING, awaiting_record
from consultations.domain.vocabulary import DeliveryKind, DeliveryStatus

RETRYABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
REDRIVABLE = frozenset({DeliveryStatus.FAILED, DeliveryStatus.DEAD})
NUDGE_TYPE = "meeting.awaiting_record"
# The meeting columns a reminder or nudge records when it falls due (see _meeting_subject).
_MEETING_COLUMNS = (
    schedule.c.title,
    schedule.c.start_local,
    schedule.c.end_local,
    schedule.c.tz,
    schedule.c.venue,
    schedule.c.host,
    schedule.c.track_id,
    schedule.c.classification,
    tracks.c.title.label("track_title"),
)


def delivery_id(source_id: str, channel: str) -> str:
    """The idempotency key of one notification on one channel."""
    return hashlib.sha256(f"{source_id}|{channel}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this daemon holds the lease of."""

    delivery_id: str
    kind: str
    source_id: str
    channel: str
    type: str
    subject: dict[str, Any]
    attempts: int
    due_at: datetime


def owner_id() -> str:
    """Who holds a lease: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SqlOutbox:
    """Outbox operations for one daemon (``owner``) on one database."""

    def __init__(self, engine: Engine, owner: str) -> None:
        self.engine = engine
        self.owner = owner

    # -- filling -------------------------------------------------------------------------

    def materialize_reminders(self, now: datetime, channels: Sequence[str]) -> int:
        """Create a delivery per channel for every reminder now due; return how many.

        A reminder whose meeting has already started (the daemon was down) is ``skipped``.
        A reminder whose delivery was superseded and that is wanted again (its meeting moved
        away and back to the same start) gets that delivery reopened.
        """
        query = (
            sa.select(reminders, *_MEETING_COLUMNS)
            .join(schedule, schedule.c.meeting_id == reminders.c.meeting_id)
            .outerjoin(tracks, tracks.c.track_id == schedule.c.track_id)
            .where(
                reminders.c.due_at <= now,
                _undelivered(reminders.c.reminder_id, DeliveryKind.REMINDER),
            )
        )
        with self.engine.connect() as connection:
            due = list(connection.execute(query).mappings())
        rows = [
            {
                "delivery_id": delivery_id(row["reminder_id"], channel),
                "kind": DeliveryKind.REMINDER,
                "source_id": row["reminder_id"],
                "channel": channel,
                "type": "reminder.due",
                "subject": {"meeting": _meeting_subject(row, offset=row["offset"])},
                "status": (
                    DeliveryStatus.SKIPPED if row["start_utc"] <= now else DeliveryStatus.PENDING
                ),
                "attempts": 0,
                "due_at": row["due_at"],
                "next_attempt_at": row["due_at"],
                "created_at": now,
            }
            for row in due
            for channel in channels
        ]
        return self.enqueue(rows, reopen_superseded=True)

    def materialize_nudges(
        self, now: datetime, channels: Sequence[str], *, after: timedelta, lookback: timedelta
    ) -> int:
        """Create a delivery per channel nudging to record each meeting awaiting record.

        A meeting is nudged ``after`` its end if it is still awaiting record then, once per
        channel (its delivery is keyed by the meeting alone). Only nudges that fell due
        within ``lookback`` are created, so a first start does not nudge about the whole
        history. A nudge superseded because the meeting moved into the future is reopened
        when it ends unrecorded again.
        """
        query = (
            sa.select(schedule.c.meeting_id, schedule.c.start_utc, schedule.c.end_utc)
            .add_columns(*_MEETING_COLUMNS)
            .outerjoin(tracks, tracks.c.track_id == schedule.c.track_id)
            .where(
                schedule.c.status.in_(sorted(RECORD_PENDING)),
                schedule.c.end_utc <= now - after,
                schedule.c.end_utc > now - after - lookback,
                _undelivered(schedule.c.meeting_id, DeliveryKind.NUDGE),
            )
        )
        with self.engine.connect() as connection:
            due = list(connection.execute(query).mappings())
        rows = [
            {
                "delivery_id": delivery_id(f"{DeliveryKind.NUDGE}|{row['meeting_id']}", channel),
                "kind": DeliveryKind.NUDGE,
                "source_id": row["meeting_id"],
                "channel": channel,
                "type": NUDGE_TYPE,
                "subject": {"meeting": _meeting_subject(row)},
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "due_at": row["end_utc"] + after,
                "next_attempt_at": row["end_utc"] + after,
                "created_at": now,
            }
            for row in due
            for channel in channels
        ]
        return self.enqueue(rows, reopen_superseded=True)

    def enqueue(self, rows: Sequence[dict[str, Any]], *, reopen_superseded: bool = False) -> int:
        """Insert deliveries that do not exist yet (by id); return how many were written.

        With ``reopen_superseded`` an existing ``superseded`` delivery of the same id starts
        afresh from the new row; any other existing delivery is left as it is.
        """
        if not rows:
            return 0
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(
            deliveries
        )
        statement = insert.on_conflict_do_nothing()
        if reopen_superseded:
            fresh = ("status", "attempts", "subject", "due_at", "next_attempt_at", "created_at")
            statement = insert.on_conflict_do_update(
                index_elements=[deliveries.c.delivery_id],
                set_={
                    **{name: insert.excluded[name] for name in fresh},
                    "lease_owner": None,
                    "lease_until": None,
                    "last_error": None,
                },
                where=deliveries.c.status == DeliveryStatus.SUPERSEDED,
            )
        with write_transaction(self.engine) as connection:
            result = connection.execute(statement, list(rows))
            return max(result.rowcount, 0)

    # -- claiming and recording ----------------------------------------------------------

    def release_stale_claims(self) -> int:
        """Forget every lease (safe only when this daemon is the only one: SQLite)."""
        with write_transaction(self.engine) as connection:
            result = connection.execute(
                deliveries.update()
                .where(deliveries.c.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None)
            )
            return result.rowcount

    def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[Claimed]:
        """Take the lease of up to ``limit`` due deliveries nobody holds."""
        candidates = (
            sa.select(deliveries.c.delivery_id)
            .where(
                deliveries.c.status.in_(RETRYABLE),
                deliveries.c.next_attempt_at <= now,
                sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
            )
            .order_by(deliveries.c.next_attempt_at, deliveries.c.delivery_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            deliveries.update()
            .where(deliveries.c.delivery_id.in_(candidates.scalar_subquery()))
            .values(
                lease_owner=self.owner, lease_until=lease_until, attempts=deliveries.c.attempts + 1
            )
            .returning(*deliveries.c)
        )
        with write_transaction(self.engine) as connection:
            rows = list(connection.execute(statement).mappings())
        return [
            Claimed(
                row["delivery_id"],
                row["kind"],
                row["source_id"],
                row["channel"],
                row["type"],
                dict(row["subject"]),
                row["attempts"],
                row["due_at"],
            )
            for row in sorted(rows, key=lambda r: (r["next_attempt_at"], r["delivery_id"]))
        ]

    def release(self, items: Sequence[Claimed]) -> None:
        """Give back claims not yet attempted (their attempt is not counted)."""
        if not items:
            return
        with write_transaction(self.engine) as connection:
            connection.execute(
                deliveries.update()
                .where(
                    deliveries.c.delivery_id.in_([item.delivery_id for item in items]),
                    deliveries.c.lease_owner == self.owner,
                )
                .values(lease_owner=None, lease_until=None, attempts=deliveries.c.attempts - 1)
            )

    def still_wanted(self, claimed: Claimed, now: datetime) -> bool:
        """Whether the delivery should still go out at ``now``.

        Not when a reminder was superseded (rescheduled) or its meeting held or cancelled,
        nor when the meeting a nudge is about is no longer awaiting record.
        """
        if claimed.kind == DeliveryKind.NUDGE:
            query = sa.select(schedule.c.status, schedule.c.end_utc).where(
                schedule.c.meeting_id == claimed.source_id
            )
            with self.engine.connect() as connection:
                meeting = connection.execute(query).first()
            return meeting is not None and awaiting_record(meeting.status, meeting.end_utc, now)
        if claimed.kind != DeliveryKind.REMINDER:
            return True
        query = sa.select(reminders.c.reminder_id).where(
            reminders.c.reminder_id == claimed.source_id
        )
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def record(
        self,
        claimed: Claimed,
        status: DeliveryStatus,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Record the outcome, if this daemon still holds the lease; True if recorded."""
        values: dict[str, Any] = {"status": status, "lease_owner": None, "lease_until": None}
        if status == DeliveryStatus.SENT:
            values["sent_at"] = now
        if error is not None:
            values["last_error"] = error[:2000]
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        with write_transaction(self.engine) as connection:
            result = connection.execute(
                deliveries.update()
                .where(
                    deliveries.c.delivery_id == claimed.delivery_id,
                    deliveries.c.lease_owner == self.owner,
                )
                .values(**values)
            )
            return result.rowcount == 1

    # -- reading and re-driving ----------------------------------------------------------

    def next_due(self, now: datetime, nudge_after: timedelta) -> datetime | None:
        """When something next needs doing: a reminder, a nudge, a retry, or a lease running out.

        ``nudge_after``: how long after a meeting's end it is nudged if still not recorded.
        """
        with self.engine.connect() as connection:
            reminder = connection.execute(
                sa.select(sa.func.min(reminders.c.due_at)).where(reminders.c.due_at > now)
            ).scalar()
            ending = connection.execute(
                sa.select(sa.func.min(schedule.c.end_utc)).where(
                    schedule.c.status.in_(sorted(RECORD_PENDING)),
                    schedule.c.end_utc > now - nudge_after,
                )
            ).scalar()
            retry = connection.execute(
                sa.select(
                    sa.func.min(
                        sa.func.coalesce(deliveries.c.lease_until, deliveries.c.next_attempt_at)
                    )
                ).where(deliveries.c.status.in_(RETRYABLE))
            ).scalar()
        nudge = None if ending is None else ending + nudge_after
        found = [moment for moment in (reminder, nudge, retry) if moment is not None]
        return min(found) if found else None

    def upcoming(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """The next reminders to fall due, with their meeting's title, classification and start."""
        query = (
            sa.select(
                reminders.c.due_at,
                reminders.c.offset,
                schedule.c.title,
                schedule.c.start_local,
                schedule.c.tz,
                schedule.c.classification,
            )
            .join(schedule, schedule.c.meeting_id == reminders.c.meeting_id)
            .where(reminders.c.due_at > now)
            .order_by(reminders.c.due_at, reminders.c.reminder_id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def undelivered_reminders(self) -> list[dict[str, Any]]:
        """Reminders the schedule calls for that no delivery was created for yet, soonest first.

        Each with what its delivery will record of its meeting. Those not yet due are the
        upcoming ones; a due one waits for the daemon's next sweep.
        """
        query = (
            sa.select(reminders, *_MEETING_COLUMNS)
            .join(schedule, schedule.c.meeting_id == reminders.c.meeting_id)
            .outerjoin(tracks, tracks.c.track_id == schedule.c.track_id)
            .where(_undelivered(reminders.c.reminder_id, DeliveryKind.REMINDER))
            .order_by(reminders.c.due_at, reminders.c.reminder_id)
        )
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def list(self, status: DeliveryStatus | None = None) -> list[dict[str, Any]]:
        """Deliveries, newest due first, optionally of one status."""
        query = sa.select(deliveries).order_by(deliveries.c.due_at.desc(), deliveries.c.delivery_id)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def retry(self, delivery: str, now: datetime) -> str | None:
        """Re-drive a failed or dead delivery now; return its previous status (None: unknown)."""
        with write_transaction(self.engine) as connection:
            status = connection.execute(
                sa.select(deliveries.c.status).where(deliveries.c.delivery_id == delivery)
            ).scalar()
            if status in REDRIVABLE:
                connection.execute(
                    deliveries.update()
                    .where(deliveries.c.delivery_id == delivery)
                    .values(
                        status=DeliveryStatus.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        lease_owner=None,
                        lease_until=None,
                    )
                )
            return status


def _undelivered(source: sa.ColumnElement[Any], kind: DeliveryKind) -> Any:
    """No delivery of ``kind`` (other than a superseded one) exists for ``source``."""
    return ~sa.exists().where(
        deliveries.c.kind == kind,
        deliveries.c.source_id == source,
        deliveries.c.status != DeliveryStatus.SUPERSEDED,
    )


def _meeting_subject(row: Any, **extra: Any) -> dict[str, Any]:
    """What a delivery records of its meeting when it falls due (``extra`` last)."""
    return {
        "meeting_id": row["meeting_id"],
        "title": row["title"],
        "start_utc": row["start_utc"].isoformat(),
        "start_local": row["start_local"],
        "end_local": row["end_local"],
        "tz": row["tz"],
        "venue": row["venue"],
        "host": row["host"],
        "track_id": row["track_id"],
        "track_title": row["track_title"],
        "classification": row["classification"],
        **extra,
    }


class RetainingOutbox(SqlOutbox):
    """An outbox that keeps the outcomes it could not record, to record them later.

    A delivery sent just before the database went away would otherwise stay leased and be
    sent again when the lease runs out. Recording is idempotent and guarded by the lease
    owner, so replaying an outcome that did commit, or whose lease went to another daemon
    meanwhile, changes nothing.
    """

    def __init__(self, engine: Engine, owner: str) -> None:
        super().__init__(engine, owner)
        self.unrecorded: list[
            tuple[Claimed, DeliveryStatus, datetime, str | None, datetime | None]
        ] = []

    def record(
        self,
        claimed: Claimed,
        status: DeliveryStatus,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Record the outcome; when the database is unreachable keep it, then re-raise."""
        try:
            return super().record(claimed, status, now, error=error, retry_at=retry_at)
        except DBAPIError as failure:
            if database_unavailable(failure):
                self.unrecorded.append((claimed, status, now, error, retry_at))
            raise

    def record_retained(self) -> int:
        """Record the outcomes kept during an outage, oldest first; how many were recorded."""
        recorded = 0
        while self.unrecorded:
            claimed, status, now, error, retry_at = self.unrecorded[0]
            try:
                if super().record(claimed, status, now, error=error, retry_at=retry_at):
                    recorded += 1
            except DBAPIError as failure:
                if not database_unavailable(failure):
                    self.unrecorded.pop(0)  # not an outage: the lease will decide instead
                raise
            self.unrecorded.pop(0)
        return recorded
