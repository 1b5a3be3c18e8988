"""notifications: subscriptions and the per-user inbox

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:10:00

A subscription is a saved report search of its owner's; `notify.match` puts the
reports it matches into the owner's inbox (`notifications`), one row per
subscription and report, so a re-run adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rsn.store import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_subscriptions_user", "subscriptions", ["user_id"])
    op.create_index("ix_subscriptions_route", "subscriptions", ["kind", "channel", "mode"])
    op.create_table(
        "notifications",
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
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint(
            "subscription_id", "item_id", name="uq_notifications_subscription_item"
        ),
    )
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", "created", "id"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("subscriptions")
