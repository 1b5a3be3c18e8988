"""audit MACs and checkpoints: a record's nonce, MAC and refusal; signed checkpoints

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00

The key the MACs are made with lives in the data directory, not here: records
written before this get their MACs when the node first starts and creates the key
(`rsn.node.open_database`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rsn.store.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("nonce", sa.String(length=32), nullable=True))
    op.add_column("audit_log", sa.Column("mac", sa.String(length=64), nullable=True))
    op.add_column(
        "audit_log", sa.Column("refused", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_index("ix_audit_log_nonce", "audit_log", ["nonce"], unique=True)
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", rsn.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_log_nonce", table_name="audit_log")
    op.drop_column("audit_log", "refused")
    op.drop_column("audit_log", "mac")
    op.drop_column("audit_log", "nonce")
