"""version grants: each report version opens only under its own marking

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00

Every stored version gets an id in `sharing_grants` and the audience keys of the
marking and distribution its snapshot holds, computed by `rsn.sharing` as when a
version is written now (a draft's keys while its report is unpublished). A name
in a snapshot's distribution the registry no longer knows opens to no one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from rsn.sharing.policy import Distribution
from rsn.sharing.release import keys_for

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHUNK = 1000
versions = sa.table(
    "report_versions",
    sa.column("report_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("snapshot", sa.JSON),
    sa.column("item_id", sa.String),
)
reports = sa.table(
    "reports",
    sa.column("id", sa.String),
    sa.column("status", sa.String),
    sa.column("originator_user_id", sa.String),
    sa.column("originator_org_id", sa.String),
)
grants = sa.table("sharing_grants", sa.column("item_id", sa.String), sa.column("key", sa.String))
LOOKUPS = {
    "organizations": ("organizations", "slug"),
    "sharing_groups": ("sharing_groups", "slug"),
    "users": ("users", "username"),
}


def _names(conn: sa.Connection) -> dict[str, dict[str, str]]:
    """Each kind of distribution name to its id, as the registry holds them now."""
    found = {}
    for kind, (table, name) in LOOKUPS.items():
        names = sa.table(table, sa.column(name, sa.String), sa.column("id", sa.String))
        found[kind] = {n: i for n, i in conn.execute(sa.select(names.c[name], names.c.id))}
    return found


def _distribution(names: dict[str, Any], ids: dict[str, dict[str, str]]) -> Distribution:
    def resolved(kind: str) -> tuple[str, ...]:
        return tuple(ids[kind][n] for n in names.get(kind) or [] if n in ids[kind])

    return Distribution(
        member_states=tuple(names.get("member_states") or []),
        organization_ids=resolved("organizations"),
        sharing_group_ids=resolved("sharing_groups"),
        user_ids=resolved("users"),
    )


def _chunks(conn: sa.Connection) -> Iterator[Sequence[Any]]:
    """The versions with their reports' status and originator, a bounded page at a time."""
    query = (
        sa.select(versions.c.report_id, versions.c.version, versions.c.snapshot, reports)
        .join(reports, reports.c.id == versions.c.report_id)
        .order_by(versions.c.report_id, versions.c.version)
        .limit(CHUNK)
    )
    after: tuple[str, int] | None = None
    while True:
        page = query
        if after is not None:
            page = query.where(sa.tuple_(versions.c.report_id, versions.c.version) > after)
        rows = conn.execute(page).all()
        if not rows:
            return
        yield rows
        after = (rows[-1].report_id, rows[-1].version)


def upgrade() -> None:
    # Plain ALTER TABLE, as 0007: a batch copy would have to drop other tables' keys.
    op.add_column(
        "report_versions",
        sa.Column("item_id", sa.String(length=36), server_default="", nullable=False),
    )
    conn = op.get_bind()
    ids = _names(conn)
    for chunk in _chunks(conn):
        named: list[dict[str, Any]] = []
        opened: list[dict[str, str]] = []
        for row in chunk:
            item = str(uuid.uuid4())
            snap = row.snapshot
            keys = keys_for(
                row.status,
                snap["tlp"],
                _distribution(snap.get("distribution") or {}, ids),
                originator_user_id=row.originator_user_id,
                originator_org_id=row.originator_org_id,
            )
            named.append({"r": row.report_id, "v": row.version, "i": item})
            opened.extend({"item_id": item, "key": k} for k in sorted(keys))
        conn.execute(
            versions.update()
            .where(
                versions.c.report_id == sa.bindparam("r"), versions.c.version == sa.bindparam("v")
            )
            .values(item_id=sa.bindparam("i")),
            named,
        )
        if opened:
            conn.execute(grants.insert(), opened)


def downgrade() -> None:
    """Back to versions read under the current marking only; their grants go."""
    op.execute("DELETE FROM sharing_grants WHERE item_id IN (SELECT item_id FROM report_versions)")
    op.drop_column("report_versions", "item_id")
