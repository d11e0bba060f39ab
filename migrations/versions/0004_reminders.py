"""Reminders (projection), deliveries (the daemon's outbox), per-meeting reminder offsets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ALTER TABLE (not a batch copy): the analysts' views depend on ``schedule``.
    op.add_column("schedule", sa.Column("reminders", sa.JSON(), nullable=True))
    op.create_table(
        "reminders",
        sa.Column("reminder_id", sa.String(64), nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sa.Column("offset", sa.String(32), nullable=False),
        sa.Column("start_utc", UTC_DATETIME, nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("reminder_id", name=op.f("pk_reminders")),
    )
    op.create_index(op.f("ix_reminders_meeting_id"), "reminders", ["meeting_id"])
    op.create_index(op.f("ix_reminders_due_at"), "reminders", ["due_at"])
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("subject", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.String(2000), nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_deliveries")),
    )
    op.create_index(op.f("ix_deliveries_status"), "deliveries", ["status"])
    op.create_index(op.f("ix_deliveries_next_attempt_at"), "deliveries", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("reminders")
    op.execute("ALTER TABLE schedule DROP COLUMN reminders")
