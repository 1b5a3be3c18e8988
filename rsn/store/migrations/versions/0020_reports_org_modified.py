"""reports: an index by originator organization in list order

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 18:40:00

The dashboard's cross-border panel reads an organization's newest reports; with only
the index by organization it read and sorted all of them (a third of the store for a
large agency) on every dashboard. It serves a look-up by organization alone as well,
so the index on the organization alone goes: a filing keeps up one index, not two.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reports_org_modified", "reports", ["originator_org_id", "modified", "id"])
    op.drop_index("ix_reports_originator_org_id", table_name="reports")


def downgrade() -> None:
    op.create_index("ix_reports_originator_org_id", "reports", ["originator_org_id"])
    op.drop_index("ix_reports_org_modified", table_name="reports")
