"""report links keyed by the importing organization

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00

A file's source and id are claims anyone can write, so an import is matched
only with the importing organization's own copy. Each existing link belongs to
the organization that imported its report: the report's originator, since an
import files as the importer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_KEY = ["source", "external_id", "report_id"]


def upgrade() -> None:
    op.add_column("report_links", sa.Column("org_id", sa.String(length=36), nullable=True))
    op.execute(
        "UPDATE report_links SET org_id = (SELECT originator_org_id FROM reports"
        " WHERE reports.id = report_links.report_id)"
    )
    with op.batch_alter_table("report_links") as batch_op:
        batch_op.alter_column("org_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_constraint("pk_report_links", type_="primary")
        batch_op.create_primary_key("pk_report_links", ["org_id", *OLD_KEY])
        batch_op.create_foreign_key(
            "fk_report_links_org_id_organizations", "organizations", ["org_id"], ["id"]
        )


def downgrade() -> None:
    """Back to one key for every organization: links stay, each with its report.

    A key two organizations imported keeps both links; the older code reads the
    first it may see, as it did before.
    """
    with op.batch_alter_table("report_links") as batch_op:
        batch_op.drop_constraint("fk_report_links_org_id_organizations", type_="foreignkey")
        batch_op.drop_constraint("pk_report_links", type_="primary")
        batch_op.create_primary_key("pk_report_links", OLD_KEY)
        batch_op.drop_column("org_id")
