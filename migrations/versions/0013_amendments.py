"""Amendments: changes of a joint track proposed to the party that added it.

``amendments`` is a read model (the ``exchange`` projection): every row can be rebuilt from
the log. ``changes`` holds the proposed fields by name (only those that change).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "amendments",
        sa.Column("amendment_id", sa.String(64), nullable=False),
        sa.Column("track_id", sa.String(64), nullable=False),
        sa.Column("proposer", sa.String(64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("retire_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decision_reason", sa.String(2000), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("amendment_id", name=op.f("pk_amendments")),
    )
    op.create_index(op.f("ix_amendments_track_id"), "amendments", ["track_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_amendments_track_id"), table_name="amendments")
    op.drop_table("amendments")
