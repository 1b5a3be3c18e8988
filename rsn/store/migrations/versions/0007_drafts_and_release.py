"""drafts and release: a report's status, held versions, an organization's setting

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 10:00:00

Every report stored before this is published (the server default); no
organization requires release until it is set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rsn.store.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy on SQLite): other tables' foreign keys point
    # at both tables, and a copy would have to drop them.
    op.add_column(
        "organizations",
        sa.Column("release_required", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "reports",
        sa.Column("status", sa.String(length=12), server_default="published", nullable=False),
    )
    op.add_column("reports", sa.Column("refusal_reason", sa.Text(), nullable=True))
    op.create_index("ix_reports_release_queue", "reports", ["status", "originator_org_id"])
    op.create_table(
        "pending_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("filing", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(length=36), nullable=False),
        sa.Column("submitted_at", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_pending_versions_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["users.id"], name=op.f("fk_pending_versions_submitted_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_versions")),
        sa.UniqueConstraint("report_id", name=op.f("uq_pending_versions_report_id")),
    )


def downgrade() -> None:
    """Back to a schema without drafts; a draft keeps its author's grant and no other.

    Held versions go with their grants; a draft report stays readable by its author
    (its releasers' keys mean nothing to the older code), so nothing opens wider.
    Upgraded again, such a report reads as published but keeps its draft's grants
    until its next version: release drafts before downgrading.
    """
    op.execute("DELETE FROM sharing_grants WHERE item_id IN (SELECT id FROM pending_versions)")
    op.drop_table("pending_versions")
    # ALTER TABLE … DROP COLUMN, which SQLite has since 3.35, for the same reason.
    op.drop_index("ix_reports_release_queue", table_name="reports")
    op.drop_column("reports", "refusal_reason")
    op.drop_column("reports", "status")
    op.drop_column("organizations", "release_required")
