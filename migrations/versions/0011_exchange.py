"""The exchange between instances: the peers this instance knows, proposals, pulls seen.

``peers`` and ``proposals`` are read models (the ``exchange`` projection): every row can be
rebuilt from the log. ``sync_requests`` is operational: the signed pulls answered lately,
so that one replayed within the clock window is refused.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("peer_id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("peer_id", name=op.f("pk_peers")),
    )
    op.create_table(
        "proposals",
        sa.Column("proposal_id", sa.String(64), nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sa.Column("proposer", sa.String(64), nullable=False),
        sa.Column("start_local", sa.String(19), nullable=True),
        sa.Column("end_local", sa.String(19), nullable=True),
        sa.Column("tz", sa.String(64), nullable=True),
        sa.Column("venue", sa.String(200), nullable=True),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decision_reason", sa.String(2000), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_proposals")),
    )
    op.create_index(op.f("ix_proposals_meeting_id"), "proposals", ["meeting_id"])
    op.create_table(
        "sync_requests",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_sync_requests")),
    )


def downgrade() -> None:
    op.drop_table("sync_requests")
    op.drop_index(op.f("ix_proposals_meeting_id"), table_name="proposals")
    op.drop_table("proposals")
    op.drop_table("peers")
