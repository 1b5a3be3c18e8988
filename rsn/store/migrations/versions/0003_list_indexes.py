"""list indexes in page order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 07:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_country")
        batch_op.drop_index("ix_reports_category")
        batch_op.create_index("ix_reports_country_modified", ["country", "modified", "id"])
        batch_op.create_index("ix_reports_category_modified", ["category", "modified", "id"])


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_category_modified")
        batch_op.drop_index("ix_reports_country_modified")
        batch_op.create_index("ix_reports_category", ["category"])
        batch_op.create_index("ix_reports_country", ["country"])
