"""Party e-mail: the secretariat's address, the ORGANIZER of the meetings it hosts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and empty: no event before this revision carries an address, so the
    # directory's rows are already right without a rebuild.
    op.add_column("parties", sa.Column("email", sa.String(254), nullable=True))


def downgrade() -> None:
    op.drop_column("parties", "email")
