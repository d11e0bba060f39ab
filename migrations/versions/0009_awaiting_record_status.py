"""Compliance views: a running window kept up only by unrecorded meetings is awaiting_record.

``v_compliance_windows`` said ``scheduled`` for a running window that reached its
requirement only by counting meetings whose day has passed and that nobody recorded held
or cancelled. It now says ``awaiting_record`` there, as ``domain/compliance.py`` does.
``v_compliance_by_area`` reads it, so both are recreated. Views only: no data changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING_WINDOW_BEFORE = """
                     WHEN w.held + w.planned + w.unconfirmed >= w.required THEN 'scheduled'"""
RUNNING_WINDOW_AFTER = """
                     WHEN w.held + w.planned >= w.required THEN 'scheduled'
                     WHEN w.held + w.planned + w.unconfirmed >= w.required
                       THEN 'awaiting_record'"""


def _compliance_windows(dialect: str, running_window: str) -> str:
    """The body of v_compliance_windows (as in 0002) with the running window's rule."""
    at_risk_from = "date(w.window_end, '-60 days')" if dialect == "sqlite" else "w.window_end - 60"
    return f"""
            SELECT w.track_id, w.title, w.priority, w.cadence, w."window", w.window_start,
                   w.window_end, w.required, w.held, w.planned, w.unconfirmed,
                   CASE
                     WHEN w.held >= w.required THEN 'satisfied'
                     WHEN w.window_end < CURRENT_DATE THEN
                       CASE WHEN w.held + w.unconfirmed >= w.required
                            THEN 'unconfirmed' ELSE 'missed' END
                     WHEN CURRENT_DATE < w.window_start THEN 'upcoming'{running_window}
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
            ) w"""


COMPLIANCE_BY_AREA = """
            SELECT a.area_id, a.name AS area, v.*
            FROM v_compliance_windows v
            JOIN track_areas ta ON ta.track_id = v.track_id
            JOIN areas a ON a.area_id = ta.area_id"""


def _replace_views(running_window: str) -> None:
    op.execute("DROP VIEW v_compliance_by_area")
    op.execute("DROP VIEW v_compliance_windows")
    body = _compliance_windows(op.get_bind().dialect.name, running_window)
    op.execute(f"CREATE VIEW v_compliance_windows AS {body}")
    op.execute(f"CREATE VIEW v_compliance_by_area AS {COMPLIANCE_BY_AREA}")


def upgrade() -> None:
    _replace_views(RUNNING_WINDOW_AFTER)


def downgrade() -> None:
    _replace_views(RUNNING_WINDOW_BEFORE)
