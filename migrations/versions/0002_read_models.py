"""Read models (projections) and the analysts' reporting views.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
VIEWS = ("v_action_items", "v_compliance_by_area", "v_compliance_windows", "v_schedule")


def _views(dialect: str) -> dict[str, str]:
    at_risk_from = "date(w.window_end, '-60 days')" if dialect == "sqlite" else "w.window_end - 60"
    return {
        "v_schedule": """
            SELECT s.meeting_id, s.track_id, t.title AS track_title, t.priority, s.title,
                   s.kind, s.status, s.start_local, s.end_local, s.tz, s.start_utc, s.end_utc,
                   s.venue, s.host, s.classification, s.held_start_utc, s.held_end_utc,
                   s.cancel_reason, s.sequence, s.last_modified
            FROM schedule s LEFT JOIN tracks t ON t.track_id = s.track_id""",
        # Status as of today (CURRENT_DATE), by the rules of DESIGN §2 / domain/compliance.py.
        "v_compliance_windows": f"""
            SELECT w.track_id, w.title, w.priority, w.cadence, w."window", w.window_start,
                   w.window_end, w.required, w.held, w.planned, w.unconfirmed,
                   CASE
                     WHEN w.held >= w.required THEN 'satisfied'
                     WHEN w.window_end < CURRENT_DATE THEN
                       CASE WHEN w.held + w.unconfirmed >= w.required
                            THEN 'unconfirmed' ELSE 'missed' END
                     WHEN CURRENT_DATE < w.window_start THEN 'upcoming'
                     WHEN w.held + w.planned + w.unconfirmed >= w.required THEN 'scheduled'
                     WHEN CURRENT_DATE >= {at_risk_from} THEN 'at_risk'
                     ELSE 'open'
                   END AS status
            FROM (
              SELECT cw.track_id, t.title, t.priority, t.cadence, cw."window", cw.window_start,
                     cw.window_end, cw.required, cw.held,
                     (SELECT count(*) FROM compliance_sessions c
                       WHERE c.track_id = cw.track_id AND c."window" = cw."window"
                         AND NOT c.held AND c.counted_on >= CURRENT_DATE) AS planned,
                     (SELECT count(*) FROM compliance_sessions c
                       WHERE c.track_id = cw.track_id AND c."window" = cw."window"
                         AND NOT c.held AND c.counted_on < CURRENT_DATE) AS unconfirmed
              FROM compliance_windows cw JOIN tracks t ON t.track_id = cw.track_id
            ) w""",
        "v_compliance_by_area": """
            SELECT a.area_id, a.name AS area, v.*
            FROM v_compliance_windows v
            JOIN track_areas ta ON ta.track_id = v.track_id
            JOIN areas a ON a.area_id = ta.area_id""",
        "v_action_items": """
            SELECT i.item_id, i.meeting_id, s.title AS meeting_title, s.track_id, i.text,
                   i.owner, i.due, i.status, i.closed_on, i.note,
                   (i.status = 'open' AND i.due < CURRENT_DATE) AS overdue
            FROM action_items i JOIN schedule s ON s.meeting_id = i.meeting_id""",
    }


def upgrade() -> None:
    op.create_table(
        "projection_checkpoints",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projection_checkpoints")),
    )
    op.create_table(
        "parties",
        sa.Column("party_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("party_id", name=op.f("pk_parties")),
    )
    op.create_table(
        "areas",
        sa.Column("area_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("area_id", name=op.f("pk_areas")),
    )
    op.create_table(
        "tracks",
        sa.Column("track_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("cadence", sa.String(64), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("retired_on", sa.Date(), nullable=True),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("default_duration", sa.String(32), nullable=False),
        sa.Column("reminders", sa.JSON(), nullable=False),
        sa.Column("host_rotation", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("track_id", name=op.f("pk_tracks")),
    )
    for link, column in (("track_areas", "area_id"), ("track_parties", "party_id")):
        op.create_table(
            link,
            sa.Column("track_id", sa.String(64), nullable=False),
            sa.Column(column, sa.String(64), nullable=False),
            sa.PrimaryKeyConstraint("track_id", column, name=op.f(f"pk_{link}")),
        )
    op.create_table(
        "schedule",
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sa.Column("track_id", sa.String(64), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_local", sa.String(19), nullable=False),
        sa.Column("end_local", sa.String(19), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("start_utc", UTC_DATETIME, nullable=False),
        sa.Column("end_utc", UTC_DATETIME, nullable=False),
        sa.Column("venue", sa.String(200), nullable=True),
        sa.Column("host", sa.String(64), nullable=True),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("agenda", sa.JSON(), nullable=False),
        sa.Column("classification", sa.String(16), nullable=False),
        sa.Column("held_start_utc", UTC_DATETIME, nullable=True),
        sa.Column("held_end_utc", UTC_DATETIME, nullable=True),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("cancel_reason", sa.String(2000), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_modified", UTC_DATETIME, nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_schedule")),
    )
    op.create_index(op.f("ix_schedule_track_id"), "schedule", ["track_id"])
    op.create_index(op.f("ix_schedule_start_utc"), "schedule", ["start_utc"])
    op.create_table(
        "action_items",
        sa.Column("item_id", sa.String(80), nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sa.Column("text", sa.String(2000), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_action_items")),
    )
    op.create_index(op.f("ix_action_items_meeting_id"), "action_items", ["meeting_id"])
    op.create_table(
        "compliance_windows",
        sa.Column("track_id", sa.String(64), nullable=False),
        sa.Column("window", sa.String(32), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("track_id", "window", name=op.f("pk_compliance_windows")),
    )
    op.create_table(
        "compliance_sessions",
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sa.Column("track_id", sa.String(64), nullable=False),
        sa.Column("window", sa.String(32), nullable=False),
        sa.Column("counted_on", sa.Date(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_compliance_sessions")),
    )
    op.create_index(op.f("ix_compliance_sessions_track_id"), "compliance_sessions", ["track_id"])
    for name, body in _views(op.get_bind().dialect.name).items():
        op.execute(f"CREATE VIEW {name} AS {body}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW {name}")
    for table in (
        "compliance_sessions", "compliance_windows", "action_items", "schedule",
        "track_parties", "track_areas", "tracks", "areas", "parties", "projection_checkpoints",
    ):  # fmt: skip
        op.drop_table(table)
