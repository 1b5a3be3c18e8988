"""drop two indexes only writes paid for

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:40:00

`visible()` asks for an item's grants by (item_id, key), the primary key; no query
plan on either store used the index by (key, item_id). The correlation index's index
by report served only edits and revocations (which now delete rows by their whole
primary key) and cross-border links (which now start from the report's observables).
Keeping the two up was a fifth of the pages a report's filing wrote at 100,000
reports.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sharing_grants_key_item", table_name="sharing_grants")
    op.drop_index("ix_correlation_index_report", table_name="correlation_index")


def downgrade() -> None:
    op.create_index("ix_correlation_index_report", "correlation_index", ["report_id"])
    op.create_index("ix_sharing_grants_key_item", "sharing_grants", ["key", "item_id"])
