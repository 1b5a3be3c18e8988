"""report tallies per reader scope, by day, month and year

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:30:00

Counting per keyset (0019) left a reader summing one row per amber distribution it
opens: a row for nearly every report at 100,000 reports. Rows are now kept per reader
scope (`sharing_scopes`: public, members, each organization), which `sharing_keyset_units`
maps each keyset to, and per day, month and year. A store with organizations is marked
for a recount (`tallies.stale`), which the node does when it next starts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tallies_by_keyset() -> None:
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


def _counted_without_rowid() -> None:
    """`report_counted` again, keyed by report alone on SQLite (recounted at the next start)."""
    op.drop_table("report_counted")
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
        sqlite_with_rowid=False,
    )


def _mark_stale() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM organizations LIMIT 1")).first() is not None:
        op.execute("DELETE FROM node_settings WHERE key = 'tallies.stale'")
        op.execute("INSERT INTO node_settings (key, value) VALUES ('tallies.stale', '1')")


def upgrade() -> None:
    op.drop_table("report_tallies")
    op.create_table(
        "report_tallies",
        sa.Column("unit", sa.String(40), primary_key=True),
        sa.Column("span", sa.String(1), primary_key=True),
        sa.Column("start", sa.Date(), primary_key=True),
        sa.Column("category", sa.String(120), primary_key=True),
        sa.Column("country", sa.String(2), primary_key=True),
        sa.Column("severity", sa.String(10), primary_key=True),
        sa.Column("tlp", sa.String(20), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,  # one B-tree per upsert on SQLite, not a table and its key
    )
    op.create_table(
        "sharing_scopes",
        sa.Column("unit", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(80), primary_key=True),
    )
    op.create_index("ix_sharing_scopes_key", "sharing_scopes", ["key"])
    op.create_table(
        "sharing_keyset_units",
        sa.Column("keyset_id", sa.String(32), primary_key=True),
        sa.Column("unit", sa.String(40), primary_key=True),
    )
    op.create_index("ix_sharing_keyset_units_unit", "sharing_keyset_units", ["unit"])
    _counted_without_rowid()
    op.create_index("ix_report_counted_keyset", "report_counted", ["keyset"])
    _mark_stale()


def downgrade() -> None:
    op.drop_index("ix_report_counted_keyset", table_name="report_counted")
    op.drop_index("ix_sharing_keyset_units_unit", table_name="sharing_keyset_units")
    op.drop_table("sharing_keyset_units")
    op.drop_index("ix_sharing_scopes_key", table_name="sharing_scopes")
    op.drop_table("sharing_scopes")
    op.drop_table("report_tallies")
    _tallies_by_keyset()
    _mark_stale()
