"""audit key ids: which MAC key sealed each record, so the keys can rotate

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:00:00

Every record before this was sealed with the node's first key, id 1. Retired keys
live in the data directory's key ring (`rsn.audit.ring`), never here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "audit_log", sa.Column("key_id", sa.Integer(), server_default="1", nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_column("key_id")
