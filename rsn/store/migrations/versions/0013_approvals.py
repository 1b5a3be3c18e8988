"""approvals: new members, resets, role and organization changes wait for their approvers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:00:00

A node administrator asks; the organization concerned (or its state's focal point)
decides (`rsn.registry.approvals`). Users and organizations gain a `pending` flag,
users an `org_admin` flag, member states their focal-point organization, and two
tables hold the requests and the notices shown to the users concerned. Existing
users and organizations stay active.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rsn.store import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy on SQLite): other tables' foreign keys point
    # at these tables, and a copy would have to drop them.
    false = sa.false()
    op.add_column(
        "organizations", sa.Column("pending", sa.Boolean(), nullable=False, server_default=false)
    )
    op.add_column("users", sa.Column("pending", sa.Boolean(), nullable=False, server_default=false))
    op.add_column(
        "users", sa.Column("org_admin", sa.Boolean(), nullable=False, server_default=false)
    )
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a reference only inline
        op.execute(
            "ALTER TABLE member_states ADD COLUMN focal_point_org_id VARCHAR(36) "
            "CONSTRAINT fk_member_states_focal_point REFERENCES organizations (id)"
        )
    else:
        op.add_column("member_states", sa.Column("focal_point_org_id", sa.String(36)))
        op.create_foreign_key(
            "fk_member_states_focal_point",
            "member_states",
            "organizations",
            ["focal_point_org_id"],
            ["id"],
        )
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column(
            "approver_org_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision", sa.String(20), nullable=True),
    )
    op.create_index("ix_approvals_user_id", "approvals", ["user_id"])
    op.create_index("ix_approvals_waiting", "approvals", ["approver_org_id", "decided_at"])
    op.create_table(
        "account_notices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("dismissed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_account_notices_open", "account_notices", ["user_id", "dismissed_at"])


def downgrade() -> None:
    op.drop_table("account_notices")
    op.drop_table("approvals")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_member_states_focal_point", "member_states", type_="foreignkey")
    # ALTER TABLE … DROP COLUMN, which SQLite has since 3.35 (a column-level
    # reference does not stop it).
    op.drop_column("member_states", "focal_point_org_id")
    op.drop_column("users", "org_admin")
    op.drop_column("users", "pending")
    op.drop_column("organizations", "pending")
