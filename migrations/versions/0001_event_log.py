"""Event log: events, log head (append serialisation), idempotency keys, append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultations.adapters.eventlog import guards as log_guards

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64
# The append-only triggers (and on PostgreSQL their function) are described once, in
# log_guards, which `events verify` checks the database against.


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_events")),
        sa.UniqueConstraint(
            "stream_id", "stream_version", name=op.f("uq_events_stream_id_stream_version")
        ),
        sa.CheckConstraint("position > 0", name=op.f("ck_events_position_positive")),
        sa.CheckConstraint("stream_version > 0", name=op.f("ck_events_stream_version_positive")),
    )
    head = op.create_table(
        "event_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_log_head")),
        sa.CheckConstraint("id = 1", name=op.f("ck_event_log_head_single_row")),
    )
    op.bulk_insert(head, [{"id": 1, "position": 0, "hash": GENESIS_HASH, "recorded_at": None}])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    for statement in log_guards.create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in log_guards.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("idempotency_keys")
    op.drop_table("event_log_head")
    op.drop_table("events")
