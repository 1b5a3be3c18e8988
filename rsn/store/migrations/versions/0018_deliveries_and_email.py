"""deliveries: webhooks, e-mail and digests; users' verified e-mail addresses

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 15:00:00

A notification now records its channel and when it is due (at once, or at the next
digest); those not for the inbox go out in a `deliveries` row that keeps how the
sending went. A user may give an e-mail address, used once a mailed code proves it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rsn.store import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy on SQLite): other tables' foreign keys point at users.
    op.add_column("users", sa.Column("email", sa.String(320), nullable=True))
    op.add_column("users", sa.Column("email_verified_at", UTCDateTime(), nullable=True))
    op.create_table(
        "email_checks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_email_checks_user_id", "email_checks", ["user_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "subscription_id",
            sa.String(36),
            sa.ForeignKey("subscriptions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("finished", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_deliveries_subscription", "deliveries", ["subscription_id", "created"])
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(20), nullable=False, server_default="inbox")
        )
        batch.add_column(sa.Column("due", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "delivery_id",
                sa.String(36),
                sa.ForeignKey(
                    "deliveries.id", ondelete="SET NULL", name="fk_notifications_delivery"
                ),
                nullable=True,
            )
        )
    op.execute("UPDATE notifications SET due = created")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("due", existing_type=UTCDateTime(), nullable=False)
    op.create_index("ix_notifications_unsent", "notifications", ["channel", "delivery_id", "due"])


def downgrade() -> None:
    op.drop_index("ix_notifications_unsent", "notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("fk_notifications_delivery", type_="foreignkey")
        batch.drop_column("delivery_id")
        batch.drop_column("due")
        batch.drop_column("channel")
    op.drop_table("deliveries")
    op.drop_table("email_checks")
    op.drop_column("users", "email_verified_at")
    op.drop_column("users", "email")
