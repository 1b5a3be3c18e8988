"""alert mutes: an organization not told of one rule's series for a while

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rsn.store.db

revision = "0026"
down_revision = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_mutes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("series", sa.String(300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", rsn.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index(
        "ix_alert_mutes_org_rule_series", "alert_mutes", ["organization_id", "rule", "series"]
    )


def downgrade() -> None:
    op.drop_index("ix_alert_mutes_org_rule_series", table_name="alert_mutes")
    op.drop_table("alert_mutes")
