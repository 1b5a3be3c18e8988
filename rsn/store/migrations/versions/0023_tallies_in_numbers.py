"""report tallies in numbers; a counting scope per member state

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 22:00:00

Every filing adds to ~6 rows of `report_tallies`; with words for keys (a scope's
uuid, a category, a date as text) a row took ~100 bytes and each addition compared
them. Its keys are now integers: `report_tally_terms` numbers the scopes, categories,
countries, severities and markings, and days are ordinals. `report_counted` likewise.

An item open to a member state was counted in the scope of each of its government
agencies; it is now counted once in the state's own scope (`state:XX`), which those
agencies' readers sum with their organization's, so the keysets' scopes are derived
again. Both tables are recounted when the node next starts (`tallies.stale`), in a
store with organizations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = ("category", "country", "severity", "tlp")


def _recount_at_start() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM organizations LIMIT 1")).first() is not None:
        op.execute("DELETE FROM node_settings WHERE key = 'tallies.stale'")
        op.execute("INSERT INTO node_settings (key, value) VALUES ('tallies.stale', '1')")


def _report_id() -> sa.Column[str]:
    return sa.Column(
        "report_id",
        sa.String(36),
        sa.ForeignKey("reports.id", ondelete="CASCADE"),
        primary_key=True,
    )


def _tables(number: bool) -> None:
    """The two tables, keyed by numbers (`number`) or, as 0021 made them, by words."""
    kinds: list[Any] = (
        [sa.Integer()] * 4
        if number
        else [sa.String(120), sa.String(2), sa.String(10), sa.String(20)]
    )
    unit: Any = sa.Integer() if number else sa.String(40)
    span: Any = sa.Integer() if number else sa.String(1)
    day: Any = sa.Integer() if number else sa.Date()
    key = [
        sa.Column(c, k, primary_key=True, autoincrement=False)
        for c, k in zip(FIELDS, kinds, strict=True)
    ]
    counted = [sa.Column(c, k, nullable=False) for c, k in zip(FIELDS, kinds, strict=True)]
    op.create_table(
        "report_tallies",
        sa.Column("unit", unit, primary_key=True, autoincrement=False),
        sa.Column("span", span, primary_key=True, autoincrement=False),
        sa.Column("start", day, primary_key=True, autoincrement=False),
        *key,
        sa.Column("n", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_counted",
        _report_id(),
        sa.Column("keyset", sa.String(32), nullable=False),
        sa.Column("day", day, nullable=False),
        *counted,
        sqlite_with_rowid=False,
    )
    op.create_index("ix_report_counted_keyset_day", "report_counted", ["keyset", "day"])


def _drop() -> None:
    op.drop_index("ix_report_counted_keyset_day", table_name="report_counted")
    op.drop_table("report_counted")
    op.drop_table("report_tallies")


def upgrade() -> None:
    _drop()
    op.create_table(
        "report_tally_terms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("field", sa.String(10), nullable=False),
        sa.Column("term", sa.String(120), nullable=False),
        sa.UniqueConstraint("field", "term", name="uq_report_tally_terms"),
    )
    _tables(number=True)
    op.execute("DELETE FROM sharing_keyset_units")  # derived again by the recount
    op.execute("DELETE FROM sharing_scopes")
    _recount_at_start()


def downgrade() -> None:
    _drop()
    op.drop_table("report_tally_terms")
    _tables(number=False)
    op.execute("DELETE FROM sharing_keyset_units")
    op.execute("DELETE FROM sharing_scopes")
    _recount_at_start()
