"""counting scopes per member state

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 22:00:00

An item open to a member state was counted in the scope of each of its government
agencies: an amber report to three states added rows for every agency of the three.
It is now counted once in the state's own scope (`state:XX`), which those agencies'
readers sum with their organization's. The keysets' scopes are derived again and the
tallies recounted when the node next starts (`tallies.stale`), in a store with
organizations.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recount_at_start() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM organizations LIMIT 1")).first() is not None:
        op.execute("DELETE FROM node_settings WHERE key = 'tallies.stale'")
        op.execute("INSERT INTO node_settings (key, value) VALUES ('tallies.stale', '1')")


def upgrade() -> None:
    _recount_at_start()


def downgrade() -> None:
    _recount_at_start()
