"""Feed content versions: the position and time of the last change a feed may show.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: the feeds projection's new version rebuilds it and fills them in.
    op.add_column("feeds", sa.Column("content_position", sa.BigInteger(), nullable=True))
    op.add_column(
        "feeds", sa.Column("content_changed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("feeds", "content_changed_at")
    op.drop_column("feeds", "content_position")
