"""Working calendars: each party's country (public holidays) and its closures.

``parties.country`` is nullable and empty, and ``party_closures`` starts empty: no event
before this revision carries a country or a closure, so the directory's rows are already
right without a rebuild.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("parties", sa.Column("country", sa.String(2), nullable=True))
    op.create_table(
        "party_closures",
        sa.Column("position", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("party_id", sa.String(64), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_party_closures")),
    )
    op.create_index(
        op.f("ix_party_closures_party_id"), "party_closures", ["party_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_party_closures_party_id"), table_name="party_closures")
    op.drop_table("party_closures")
    op.drop_column("parties", "country")
