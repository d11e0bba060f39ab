"""Table definitions. Alembic owns the schema; these mirror the migrations exactly.

``tests/migrations`` runs Alembic's autogenerate comparison against this metadata on both
backends, so a model that drifts from the migrations fails the suite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both backends (SQLite stores it naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    # JSON, not JSONB: PostgreSQL keeps the text as written, so the hash chain stays exact.
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("stream_id", "stream_version"),
    sa.CheckConstraint("position > 0", name="position_positive"),
    sa.CheckConstraint("stream_version > 0", name="stream_version_positive"),
)

# One row: the position and hash of the last event. Writers lock it to serialise appends.
event_log_head = sa.Table(
    "event_log_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("id = 1", name="single_row"),
)

# Results of idempotent appends: repeating a key returns these positions, appends nothing.
# ``fingerprint``: a digest of the command the key was first used for (null before 0008).
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("first_position", sa.BigInteger, nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=True),
)

# --- read models (projections). Every row here can be rebuilt from the log. ----------------

projection_checkpoints = sa.Table(
    "projection_checkpoints",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

parties = sa.Table(
    "parties",
    metadata,
    sa.Column("party_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("tz", sa.String(64), nullable=False),
    sa.Column("departments", sa.JSON, nullable=False),
    sa.Column("email", sa.String(254), nullable=True),  # 0007
    sa.Column("country", sa.String(2), nullable=True),  # 0010: ISO 3166, public holidays
)

# Days a party does not work (0010), one row per closure recorded; ``position`` is the
# position of its event in the log.
party_closures = sa.Table(
    "party_closures",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("party_id", sa.String(64), nullable=False, index=True),
    sa.Column("first_day", sa.Date, nullable=False),
    sa.Column("last_day", sa.Date, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
)

areas = sa.Table(
    "areas",
    metadata,
    sa.Column("area_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
)

tracks = sa.Table(
    "tracks",
    metadata,
    sa.Column("track_id", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("cadence", sa.String(64), nullable=False),
    sa.Column("required", sa.Integer, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("retired_on", sa.Date, nullable=True),
    sa.Column("tz", sa.String(64), nullable=False),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("default_duration", sa.String(32), nullable=False),
    sa.Column("reminders", sa.JSON, nullable=False),
    sa.Column("host_rotation", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

track_areas = sa.Table(
    "track_areas",
    metadata,
    sa.Column("track_id", sa.String(64), primary_key=True),
    sa.Column("area_id", sa.String(64), primary_key=True),
)

track_parties = sa.Table(
    "track_parties",
    metadata,
    sa.Column("track_id", sa.String(64), primary_key=True),
    sa.Column("party_id", sa.String(64), primary_key=True),
)

schedule = sa.Table(
    "schedule",
    metadata,
    sa.Column("meeting_id", sa.String(64), primary_key=True),
    sa.Column("track_id", sa.String(64), nullable=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_local", sa.String(19), nullable=False),
    sa.Column("end_local", sa.String(19), nullable=False),
    sa.Column("tz", sa.String(64), nullable=False),
    sa.Column("start_utc", UTCDateTime, nullable=False, index=True),
    sa.Column("end_utc", UTCDateTime, nullable=False),
    sa.Column("venue", sa.String(200), nullable=True),
    sa.Column("host", sa.String(64), nullable=True),
    sa.Column("participants", sa.JSON, nullable=False),
    sa.Column("agenda", sa.JSON, nullable=False),
    sa.Column("classification", sa.String(16), nullable=False),
    sa.Column("reminders", sa.JSON, nullable=True),  # the meeting's own offsets, else NULL
    sa.Column("held_start_utc", UTCDateTime, nullable=True),
    sa.Column("held_end_utc", UTCDateTime, nullable=True),
    sa.Column("outcomes", sa.JSON, nullable=False),
    sa.Column("cancel_reason", sa.String(2000), nullable=True),
    # Significant changes (time, venue, cancellation): the iCalendar SEQUENCE.
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_modified", UTCDateTime, nullable=False),
    # Position of the meeting's latest event: strictly increasing, unlike clock readings.
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_schedule_track_id_start_utc", "track_id", "start_utc"),
)

action_items = sa.Table(
    "action_items",
    metadata,
    sa.Column("item_id", sa.String(80), primary_key=True),
    sa.Column("meeting_id", sa.String(64), nullable=False, index=True),
    sa.Column("text", sa.String(2000), nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("note", sa.String(2000), nullable=True),
)

# Compliance facts that do not depend on the day they are read: the windows of each track
# (from its start to its last session) and the window each session counts in.
compliance_windows = sa.Table(
    "compliance_windows",
    metadata,
    sa.Column("track_id", sa.String(64), primary_key=True),
    sa.Column("window", sa.String(32), primary_key=True),
    sa.Column("window_start", sa.Date, nullable=False),
    sa.Column("window_end", sa.Date, nullable=False),
    sa.Column("required", sa.Integer, nullable=False),
    sa.Column("held", sa.Integer, nullable=False),
    sa.Index("ix_compliance_windows_track_id_window_start", "track_id", "window_start"),
)

compliance_sessions = sa.Table(
    "compliance_sessions",
    metadata,
    sa.Column("meeting_id", sa.String(64), primary_key=True),
    sa.Column("track_id", sa.String(64), nullable=False),
    sa.Column("window", sa.String(32), nullable=False),
    # The day it counts on, in the track's zone: when it was held, else when it is planned.
    sa.Column("counted_on", sa.Date, nullable=False),
    sa.Column("held", sa.Boolean, nullable=False),
    sa.Index("ix_compliance_sessions_track_id_counted_on", "track_id", "counted_on"),
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("feed_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False),
    sa.Column("include_restricted", sa.Boolean, nullable=False),
    sa.Column("days_back", sa.Integer, nullable=False),
    sa.Column("days_ahead", sa.Integer, nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    # The log position and time of the latest event that may have changed what the feed
    # shows; NULL until the feeds projection has filled it (its ETag then needs a query).
    sa.Column("content_position", sa.BigInteger, nullable=True),
    sa.Column("content_changed_at", UTCDateTime, nullable=True),
)

# Reminders the schedule calls for (a projection): one row per meeting still to come and
# reminder offset of its track. Rescheduling changes the start, and so the key.
reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("reminder_id", sa.String(64), primary_key=True),
    sa.Column("meeting_id", sa.String(64), nullable=False, index=True),
    sa.Column("offset", sa.String(32), nullable=False),
    sa.Column("start_utc", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False, index=True),
)

# Delivery bookkeeping (operational, not a projection: a rebuild never touches it). One row
# per notification and channel; ``delivery_id`` is the idempotency key receivers see.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # reminder | cadence | nudge
    # reminder_id, a hash of track/window/type, or the meeting_id a nudge is about
    sa.Column("source_id", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    # reminder.due | cadence.at_risk | cadence.missed | meeting.awaiting_record
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("subject", sa.JSON, nullable=False),  # the meeting or window it concerns
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.String(2000), nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The exchange between instances (a projection): the peers, and where each exchange stands.
peers = sa.Table(
    "peers",
    metadata,
    sa.Column("peer_id", sa.String(64), primary_key=True),
    sa.Column("public_key", sa.String(200), nullable=False),  # the one registered
    sa.Column("url", sa.String(2000), nullable=True),
    sa.Column("added_at", UTCDateTime, nullable=False),
    sa.Column("removed_at", UTCDateTime, nullable=True),
    sa.Column("sent", sa.Integer, nullable=False),  # entries in the sequence sent to it
    sa.Column("sent_at", UTCDateTime, nullable=True),  # when it last grew
    sa.Column("acknowledged", sa.Integer, nullable=False),  # of those, what it accepted
    sa.Column("received", sa.Integer, nullable=False),  # entries accepted from it
    sa.Column("received_at", UTCDateTime, nullable=True),  # its last bundle accepted
    sa.Column("schedule", sa.JSON, nullable=True),  # that bundle's joint schedule digests
)

# Proposed changes of meetings another party convenes, and how each was settled.
proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("proposal_id", sa.String(64), primary_key=True),
    sa.Column("meeting_id", sa.String(64), nullable=False, index=True),
    sa.Column("proposer", sa.String(64), nullable=False),
    sa.Column("start_local", sa.String(19), nullable=True),
    sa.Column("end_local", sa.String(19), nullable=True),
    sa.Column("tz", sa.String(64), nullable=True),
    sa.Column("venue", sa.String(200), nullable=True),
    sa.Column("reason", sa.String(2000), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | accepted | declined
    sa.Column("decision_reason", sa.String(2000), nullable=True),
    sa.Column("proposed_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=True),
)

amendments = sa.Table(
    "amendments",
    metadata,
    sa.Column("amendment_id", sa.String(64), primary_key=True),
    sa.Column("track_id", sa.String(64), nullable=False, index=True),
    sa.Column("proposer", sa.String(64), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),  # the proposed fields by name
    sa.Column("retire_on", sa.Date, nullable=True),
    sa.Column("reason", sa.String(2000), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | accepted | declined
    sa.Column("decision_reason", sa.String(2000), nullable=True),
    sa.Column("proposed_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=True),
)

# Each party's own minutes of a meeting another party convenes (a projection), beside the
# convener's record of it held (``schedule``, ``action_items``).
minutes = sa.Table(
    "minutes",
    metadata,
    sa.Column("meeting_id", sa.String(64), primary_key=True),
    sa.Column("party_id", sa.String(64), primary_key=True),
    sa.Column("attendance", sa.JSON, nullable=False),  # the parties present
    sa.Column("outcomes", sa.JSON, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# Operational (not a projection): the signed pulls answered within the clock window, by the
# SHA-256 of their signature, so that a replayed one is refused.
sync_requests = sa.Table(
    "sync_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False),
)
