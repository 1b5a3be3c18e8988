"""a counting scope per person: red items, drafts and releases waiting, kept, not counted live

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 01:00:00

What only a person's own keys open was counted live on every count, one index probe
per keyset: 13 ms of a 25 ms count at a million reports for a releaser whose
organization had 497 such keysets. Each person now has a scope (`user:<id>`), so a
scope's name grows past 40 characters. The scopes are derived again and the tallies
recounted when the node next starts (`tallies.stale`), in a store with organizations.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _units(width: int) -> None:
    op.execute("DELETE FROM sharing_keyset_units")  # derived again by the recount
    op.execute("DELETE FROM sharing_scopes")
    for table in ("sharing_scopes", "sharing_keyset_units"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("unit", type_=sa.String(width), existing_nullable=False)
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM organizations LIMIT 1")).first() is not None:
        op.execute("DELETE FROM node_settings WHERE key = 'tallies.stale'")
        op.execute("INSERT INTO node_settings (key, value) VALUES ('tallies.stale', '1')")


def upgrade() -> None:
    _units(80)


def downgrade() -> None:
    _units(40)
