"""alerts: what early warning raised, the reports each stands on, and its history

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 22:30:00

An alert is a shared item of the kind `alert` (its grants in `sharing_grants`), read by
exactly those who may read every report it links.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rsn.store.db

revision = "0024"
down_revision = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("series", sa.String(300), nullable=False),
        sa.Column("condition", sa.String(64), nullable=False),
        sa.Column("category", sa.String(120)),
        sa.Column("country", sa.String(2)),
        sa.Column("countries", sa.String(120), nullable=False),
        sa.Column("observable", sa.String(2100)),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("tlp", sa.String(20), nullable=False),
        sa.Column("period_start", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("owner_id", sa.String(36), sa.ForeignKey("users.id")),
        sa.Column("close_reason", sa.String(20)),
        sa.Column("created", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", rsn.store.db.UTCDateTime(timezone=True)),
        sa.Column("closed_at", rsn.store.db.UTCDateTime(timezone=True)),
    )
    op.create_index("ix_alerts_condition_status", "alerts", ["condition", "status"])
    op.create_index("ix_alerts_modified", "alerts", ["modified", "id"])
    op.create_table(
        "alert_reports",
        sa.Column(
            "alert_id",
            sa.String(36),
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "report_id",
            sa.String(36),
            sa.ForeignKey("reports.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_alert_reports_report", "alert_reports", ["report_id"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "alert_id",
            sa.String(36),
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(36), sa.ForeignKey("users.id")),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("text", sa.Text()),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_events_alert_id", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_alert_reports_report", table_name="alert_reports")
    op.drop_table("alert_reports")
    op.drop_index("ix_alerts_modified", table_name="alerts")
    op.drop_index("ix_alerts_condition_status", table_name="alerts")
    op.drop_table("alerts")
