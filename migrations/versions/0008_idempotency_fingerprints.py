"""Idempotency key fingerprints: a key repeated with a different command is refused.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: keys recorded before this revision have no fingerprint and keep matching any
    # repetition, as they did. Adding a column fires no row trigger, so the append-only
    # guards stay as they are.
    op.add_column("idempotency_keys", sa.Column("fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("idempotency_keys", "fingerprint")
