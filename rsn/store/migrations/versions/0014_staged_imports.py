"""staged imports: a long import writes in chunks, open to nobody until it publishes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:30:00

An import used to hold the store's write lock from its first row to its last. It now
writes in chunks, each a transaction of its own, and makes everything visible in one
short transaction at the end (`rsn.interop.staged`). Until then its reports' grants
wait in `sharing_staged_grants`, where no reader looks; `staged_imports` and
`staged_reports` say what a cut-short import left, for the clean-up to remove.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rsn.store import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staged_imports",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_staged_imports_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_imports")),
    )
    op.create_table(
        "staged_reports",
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("import_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["staged_imports.id"],
            name=op.f("fk_staged_reports_import_id_staged_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_staged_reports")),
    )
    op.create_index(op.f("ix_staged_reports_import_id"), "staged_reports", ["import_id"])
    op.create_table(
        "sharing_staged_grants",
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "key", name=op.f("pk_sharing_staged_grants")),
    )
    op.create_index(
        op.f("ix_sharing_staged_grants_batch_id"), "sharing_staged_grants", ["batch_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sharing_staged_grants_batch_id"), table_name="sharing_staged_grants")
    op.drop_table("sharing_staged_grants")
    op.drop_index(op.f("ix_staged_reports_import_id"), table_name="staged_reports")
    op.drop_table("staged_reports")
    op.drop_table("staged_imports")
