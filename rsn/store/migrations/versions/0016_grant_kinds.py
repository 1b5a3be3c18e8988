"""grant kinds: every grant says what kind of item it opens

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 13:20:00

`rsn.sharing.share` shares items of any kind (reports today; alerts, cases and
assessments next), and files each grant under its item's kind, so what was shared
of a kind can be found without its table. Existing grants are reports', their
versions' and their held versions'.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default: no table copy on SQLite, no rewrite on
    # PostgreSQL 11 and later.
    for table in ("sharing_grants", "sharing_staged_grants"):
        op.add_column(
            table, sa.Column("kind", sa.String(40), server_default="report", nullable=False)
        )
    op.execute(
        "UPDATE sharing_grants SET kind = 'report-version'"
        " WHERE item_id IN (SELECT item_id FROM report_versions)"
    )
    op.execute(
        "UPDATE sharing_grants SET kind = 'held-version'"
        " WHERE item_id IN (SELECT id FROM pending_versions)"
    )


def downgrade() -> None:
    for table in ("sharing_grants", "sharing_staged_grants"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("kind")
