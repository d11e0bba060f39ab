"""The peer: the same meeting lifecycle modelled with the `eventsourcing` library (9.x).

A ``Meeting`` aggregate with the events planned / rescheduled / held / cancelled, carrying
the same fields as our domain events plus the same metadata (actor, source, command,
correlation id), so both sides store payloads of about the same size. Parties, areas and
tracks are ``Entry`` aggregates with one "registered" event, so an imported plan makes the
same number of events on both sides.

Persistence: eventsourcing's SQLite recorder (``PERSISTENCE_MODULE=eventsourcing.sqlite``)
in WAL mode; the bench sets ``synchronous=FULL`` on its connections explicitly, like ours
(it is also SQLite's default). PostgreSQL: ``eventsourcing.postgres``.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding

from consultations.adapters.eventlog.mapper import encode
from consultations.domain.events import (
    AreaRegistered,
    DomainEvent,
    MeetingCancelled,
    MeetingHeld,
    MeetingPlanned,
    MeetingRescheduled,
    PartyRegistered,
    TrackAdded,
)

NAMESPACE = uuid.UUID("6f1b8a52-3f43-4a0e-9d57-0f0b5b2f7a11")


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Entry(Aggregate):
    """A party, area or track: registered once."""

    @staticmethod
    def create_id(kind: str, key: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"{kind}-{key}")

    @event("Registered")
    def __init__(self, kind: str, key: str, data: dict[str, Any], metadata: dict[str, Any]):
        self.kind, self.key, self.data = kind, key, data


class Meeting(Aggregate):
    """planned → (rescheduled)* → held | cancelled."""

    @staticmethod
    def create_id(meeting_id: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"meeting-{meeting_id}")

    @event("Planned")
    def __init__(  # noqa: PLR0917
        self,
        meeting_id: str,
        track_id: str | None,
        title: str,
        kind: str,
        start: datetime,
        end: datetime,
        tz: str,
        start_fold: int | None,
        end_fold: int | None,
        start_utc: datetime,
        end_utc: datetime,
        venue: str | None,
        host: str | None,
        participants: list[str],
        agenda: list[str],
        classification: str,
        metadata: dict[str, Any],
    ):
        self.meeting_id, self.track_id, self.title = meeting_id, track_id, title
        self.start, self.end, self.tz = start, end, tz
        self.start_utc, self.end_utc = start_utc, end_utc
        self.venue, self.host, self.status = venue, host, "planned"
        self.held_start_utc: datetime | None = None

    def reschedule(
        self, start: datetime, end: datetime, reason: str | None, metadata: dict[str, Any]
    ) -> None:
        if self.status not in ("planned", "rescheduled"):
            raise ValueError(f"cannot reschedule a {self.status} meeting")
        zone = ZoneInfo(self.tz)
        start_utc = start.replace(tzinfo=zone).astimezone(UTC)
        end_utc = end.replace(tzinfo=zone).astimezone(UTC)
        self._rescheduled(start, end, self.tz, None, None, start_utc, end_utc, reason, metadata)

    @event("Rescheduled")
    def _rescheduled(  # noqa: PLR0917
        self,
        start: datetime,
        end: datetime,
        tz: str,
        start_fold: int | None,
        end_fold: int | None,
        start_utc: datetime,
        end_utc: datetime,
        reason: str | None,
        metadata: dict[str, Any],
    ) -> None:
        self.start, self.end, self.start_utc, self.end_utc = start, end, start_utc, end_utc
        self.status = "rescheduled"

    def hold(self, attendance: list[str], outcomes: list[str], metadata: dict[str, Any]) -> None:
        if self.status not in ("planned", "rescheduled"):
            raise ValueError(f"cannot hold a {self.status} meeting")
        if self.start_utc > datetime.now(UTC):
            raise ValueError("a meeting cannot be held in the future")
        self._held(self.start, None, None, None, self.start_utc, None, attendance, outcomes,
                   [], metadata)  # fmt: skip

    @event("Held")
    def _held(  # noqa: PLR0917
        self,
        start: datetime,
        end: datetime | None,
        start_fold: int | None,
        end_fold: int | None,
        start_utc: datetime,
        end_utc: datetime | None,
        attendance: list[str],
        outcomes: list[str],
        action_items: list[dict[str, Any]],
        metadata: dict[str, Any],
    ) -> None:
        self.status, self.held_start_utc = "held", start_utc

    @event("Cancelled")
    def cancel(self, reason: str, metadata: dict[str, Any]) -> None:
        self.status = "cancelled"


class MeetingsApp(Application[uuid.UUID]):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


def sqlite_app(path: Path) -> MeetingsApp:
    """eventsourcing on an SQLite file (WAL, synchronous=FULL)."""
    app = MeetingsApp(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    )
    _force_synchronous_full(app)
    return app


def _force_synchronous_full(app: MeetingsApp) -> None:
    pool = app.recorder.datastore.pool  # type: ignore[attr-defined]
    original = pool._create_connection

    def create() -> Any:
        connection = original()
        connection._sqlite_conn.execute("PRAGMA synchronous=FULL")
        return connection

    pool._create_connection = create
    # Connections already in the pool (the one that created the tables) get it too.
    with app.recorder.datastore.get_connection(commit=False) as connection:  # type: ignore[attr-defined]
        connection._sqlite_conn.execute("PRAGMA synchronous=FULL")


def synchronous_of(app: MeetingsApp) -> int:
    with app.recorder.datastore.get_connection(commit=False) as connection:  # type: ignore[attr-defined]
        return int(connection._sqlite_conn.execute("PRAGMA synchronous").fetchone()[0])


def postgres_app(port: int, dbname: str) -> MeetingsApp:
    return MeetingsApp(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(port),
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "",
        }
    )


# -- from our domain events (the synthetic log) to the peer's aggregates ----------------------


def aggregates_from(
    streams: Iterable[tuple[str, list[DomainEvent]]], metadata: Mapping[str, Any]
) -> list[Aggregate]:
    """The peer's aggregates with the same events as our streams (same fields, same meta)."""
    meta = dict(metadata)
    found: list[Aggregate] = []
    for _stream_id, events in streams:
        aggregate: Any = None
        for domain_event in events:
            match domain_event:
                case PartyRegistered():
                    aggregate = Entry("party", domain_event.party_id, _fields(domain_event), meta)
                case AreaRegistered():
                    aggregate = Entry("area", domain_event.area_id, _fields(domain_event), meta)
                case TrackAdded():
                    aggregate = Entry("track", domain_event.track_id, _fields(domain_event), meta)
                case MeetingPlanned():
                    e = domain_event
                    aggregate = Meeting(
                        e.meeting_id, e.track_id, e.title, e.kind, e.start.local, e.end.local,
                        e.tz, e.start.fold, e.end.fold, e.start.utc, e.end.utc, e.venue, e.host,
                        list(e.participants), list(e.agenda), e.classification, meta,
                    )  # fmt: skip
                case MeetingRescheduled():
                    e = domain_event
                    aggregate._rescheduled(e.start.local, e.end.local, e.tz, e.start.fold,
                                           e.end.fold, e.start.utc, e.end.utc, e.reason,
                                           meta)  # fmt: skip
                case MeetingHeld():
                    e = domain_event
                    end = e.end
                    aggregate._held(e.start.local, end and end.local, e.start.fold,
                                    end and end.fold, e.start.utc, end and end.utc,
                                    list(e.attendance), list(e.outcomes), [], meta)  # fmt: skip
                case MeetingCancelled():
                    aggregate.cancel(domain_event.reason, meta)
                case _:
                    raise TypeError(type(domain_event).__name__)
        found.append(aggregate)
    return found


def _fields(domain_event: DomainEvent) -> dict[str, Any]:
    return encode(domain_event)[1]


# -- the peer's "rebuild": read every event, decode it, rebuild a schedule table -------------

SCHEDULE_DDL = (
    "CREATE TABLE IF NOT EXISTS es_schedule (meeting_id TEXT PRIMARY KEY, track_id TEXT, "
    "title TEXT, status TEXT, start_utc TEXT, end_utc TEXT, held_start_utc TEXT, "
    "venue TEXT, host TEXT, last_position INTEGER)"
)


def rebuild_schedule(app: MeetingsApp, path: Path, page: int = 5000) -> int:
    """Replay the whole notification log into a fresh ``es_schedule`` table; return events."""
    rows: dict[uuid.UUID, list[Any]] = {}
    start, count = 1, 0
    recorder, mapper = app.recorder, app.mapper
    while True:
        notifications = recorder.select_notifications(start, page)
        if not notifications:
            break
        for notification in notifications:
            domain_event: Any = mapper.to_domain_event(notification)
            count += 1
            name = type(domain_event).__name__
            if name == "Planned":
                rows[domain_event.originator_id] = [
                    domain_event.meeting_id, domain_event.track_id, domain_event.title,
                    "planned", domain_event.start_utc.isoformat(),
                    domain_event.end_utc.isoformat(), None, domain_event.venue,
                    domain_event.host, notification.id,
                ]  # fmt: skip
                continue
            row = rows.get(domain_event.originator_id)
            if row is None:  # a party, area or track
                continue
            row[9] = notification.id
            if name == "Rescheduled":
                row[3], row[4] = "rescheduled", domain_event.start_utc.isoformat()
                row[5] = domain_event.end_utc.isoformat()
            elif name == "Held":
                row[3], row[6] = "held", domain_event.start_utc.isoformat()
            elif name == "Cancelled":
                row[3] = "cancelled"
        start = notifications[-1].id + 1
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(SCHEDULE_DDL)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("DELETE FROM es_schedule")
    connection.executemany(
        "INSERT INTO es_schedule VALUES (?,?,?,?,?,?,?,?,?,?)", list(rows.values())
    )
    connection.execute("COMMIT")
    connection.close()
    return count
