"""report tallies: counts kept on write, per audience keyset

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 15:45:00

`sharing_keysets` names each distinct set of grant keys; `report_tallies` counts live
reports per keyset, day, category, country, severity and marking; `report_counted`
remembers where each report is counted. A store that already holds reports is
marked for a recount (`tallies.stale`), which the node does when it next starts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sharing_keysets",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("keys", sa.Text(), nullable=False),
    )
    op.create_table(
        "sharing_keyset_keys",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("keyset_id", sa.String(32), primary_key=True),
    )
    op.create_index("ix_sharing_keyset_keys_keyset", "sharing_keyset_keys", ["keyset_id"])
    op.create_table(
        "report_tallies",
        sa.Column("keyset", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("category", sa.String(120), primary_key=True),
        sa.Column("country", sa.String(2), primary_key=True),
        sa.Column("severity", sa.String(10), primary_key=True),
        sa.Column("tlp", sa.String(20), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "report_counted",
        sa.Column(
            "report_id",
            sa.String(36),
            sa.ForeignKey("reports.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("keyset", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(120), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("tlp", sa.String(20), nullable=False),
    )
    if op.get_bind().execute(sa.text("SELECT 1 FROM reports LIMIT 1")).first() is not None:
        op.execute("INSERT INTO node_settings (key, value) VALUES ('tallies.stale', '1')")


def downgrade() -> None:
    op.execute("DELETE FROM node_settings WHERE key = 'tallies.stale'")
    op.drop_table("report_counted")
    op.drop_table("report_tallies")
    op.drop_index("ix_sharing_keyset_keys_keyset", "sharing_keyset_keys")
    op.drop_table("sharing_keyset_keys")
    op.drop_table("sharing_keysets")
