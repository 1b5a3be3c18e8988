"""search by audience: each search document also carries its report's audience keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:00:00

So a text search only reaches what its reader may read (`rsn.reports.search`).
SQLite's FTS5 table gains a `keys` column (its documents are copied over, with the
tokens of their reports' grants); PostgreSQL's `tsvector` gains the tokens as lexemes
of weight A. Going down drops the tokens again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rsn.sharing import index_tokens

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_FTS = (
    "CREATE VIRTUAL TABLE report_fts USING fts5("
    "{columns}, tokenize = 'unicode61 remove_diacritics 2')"
)


def _grants(conn: sa.Connection, by: str) -> dict[object, list[str]]:
    """Each report's audience keys, by `reports.<by>`."""
    found: dict[object, list[str]] = {}
    rows = conn.execute(
        sa.text(f"SELECT r.{by}, g.key FROM reports r JOIN sharing_grants g ON g.item_id = r.id")
    )
    for ref, key in rows:
        found.setdefault(ref, []).append(key)
    return found


def _refill(conn: sa.Connection, columns: str, rows: Sequence[dict[str, object]]) -> None:
    op.execute("DROP TABLE report_fts")
    op.execute(_FTS.format(columns=columns))
    if rows:
        names = columns.split(", ")
        conn.execute(
            sa.text(
                f"INSERT INTO report_fts (rowid, {columns}) "
                f"VALUES (:rowid, {', '.join(':' + n for n in names)})"
            ),
            list(rows),
        )


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        rows = [
            {"id": report_id, "keys": " ".join(index_tokens(keys))}
            for report_id, keys in _grants(conn, "id").items()
        ]
        if rows:
            conn.execute(
                sa.text(
                    "UPDATE reports SET search_document ="
                    " setweight(to_tsvector('simple', :keys), 'A') || search_document"
                    " WHERE id = :id"
                ),
                rows,
            )
        return
    keys = _grants(conn, "doc_id")
    documents = conn.execute(sa.text("SELECT rowid, document FROM report_fts")).all()
    rows = [
        {"rowid": rowid, "document": text, "keys": " ".join(index_tokens(keys.get(rowid, [])))}
        for rowid, text in documents
    ]
    _refill(conn, "document, keys", rows)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("UPDATE reports SET search_document = ts_filter(search_document, '{d}')")
        return
    documents = conn.execute(sa.text("SELECT rowid, document FROM report_fts")).all()
    _refill(conn, "document", [{"rowid": rowid, "document": text} for rowid, text in documents])
