"""Indexes for per-command work that stays flat as the log grows.

Compliance sessions by track and day, windows by track and start (incremental compliance),
and the schedule by track and start (the latest meeting of a track, for host rotation).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_schedule_track_id"), table_name="schedule")
    op.create_index(op.f("ix_schedule_track_id_start_utc"), "schedule", ["track_id", "start_utc"])
    # The composite index serves every lookup the single-column one did (same prefix).
    op.drop_index(op.f("ix_compliance_sessions_track_id"), table_name="compliance_sessions")
    op.create_index(
        op.f("ix_compliance_sessions_track_id_counted_on"),
        "compliance_sessions",
        ["track_id", "counted_on"],
    )
    op.create_index(
        op.f("ix_compliance_windows_track_id_window_start"),
        "compliance_windows",
        ["track_id", "window_start"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_compliance_windows_track_id_window_start"), table_name="compliance_windows"
    )
    op.drop_index(
        op.f("ix_compliance_sessions_track_id_counted_on"), table_name="compliance_sessions"
    )
    op.create_index(op.f("ix_compliance_sessions_track_id"), "compliance_sessions", ["track_id"])
    op.drop_index(op.f("ix_schedule_track_id_start_utc"), table_name="schedule")
    op.create_index(op.f("ix_schedule_track_id"), "schedule", ["track_id"])
