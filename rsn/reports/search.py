"""Full-text search over title, description and observable values.

SQLite uses an FTS5 table keyed by the report's `doc_id`; PostgreSQL a `tsvector`
with a GIN index keyed by report id. Both live beside `reports` (created by the
migrations) and are written here only. A query becomes a condition on `reports`
that the caller ANDs with the sharing filter, so hidden reports never match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, column, func, literal, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session

from rsn.errors import ValidationError
from rsn.reports.models import Report

# Whitespace and punctuation split words; letters, digits and combining marks
# (which Indic and Southeast Asian scripts need inside a word) never do.
SEPARATORS = re.compile(r"[\s\x00-\x1f\x7f!-/:-@\[-`{-~\u00a0-\u00bf\u2000-\u206f\u3000-\u303f]+")
MAX_TERMS = 12
FEW_MATCHES = 1000

_fts = table("report_fts", column("rowid"))
_pg = table("report_search", column("report_id"), column("document"))


def tokens(text_: str) -> list[str]:
    """Lower-cased words, split the same way for documents and queries on both stores."""
    return [t for t in SEPARATORS.split(text_.lower()) if t]


def document(title: str, description: str, values: Iterable[str]) -> str:
    return " ".join(tokens("\n".join([title, description, *values])))


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class Document:
    report_id: str
    doc_id: int
    text: str


_PG_UPSERT = text(
    "INSERT INTO report_search (report_id, document) "
    "VALUES (:report_id, to_tsvector('simple', :text)) "
    "ON CONFLICT (report_id) DO UPDATE SET document = EXCLUDED.document"
)
_FTS_DELETE = text("DELETE FROM report_fts WHERE rowid = :doc_id")
_FTS_INSERT = text("INSERT INTO report_fts (rowid, document) VALUES (:doc_id, :text)")


def index(session: Session, documents: Sequence[Document], *, fresh: bool) -> None:
    """Replace reports' search documents (`fresh`: the reports are new)."""
    if not documents:
        return
    conn = session.connection()
    params = [{"report_id": d.report_id, "doc_id": d.doc_id, "text": d.text} for d in documents]
    if _is_pg(session):
        conn.execute(_PG_UPSERT, params)
        return
    if not fresh:
        conn.execute(_FTS_DELETE, params)
    conn.execute(_FTS_INSERT, params)


def terms(q: str) -> list[str]:
    """The word pieces of a query, as both search engines split them."""
    words = tokens(q)[:MAX_TERMS]
    if not words:
        raise ValidationError.field("q", f"'{q}' has no word to search for.")
    return words


def condition(session: Session, q: str) -> ColumnElement[bool]:
    """True for reports whose document holds every word of `q` (the last as a prefix)."""
    words = terms(q)
    if _is_pg(session):
        quoted = [_pg_quote(w) for w in words]
        quoted[-1] += ":*"
        tsquery = func.to_tsquery(literal("simple", type_=REGCONFIG), " & ".join(quoted))
        ids = select(_pg.c.report_id).where(_pg.c.document.bool_op("@@")(tsquery))
        return Report.id.in_(ids)
    match = " ".join(f'"{w}"' for w in words) + "*"
    rows = select(_fts.c.rowid).where(literal_column("report_fts").bool_op("MATCH")(match))
    # A rare word: its few matches, probed by key and sorted, make the page. A common
    # word: `doc_id + 0` keeps SQLite off the doc_id index, so it walks the page order
    # and probes the match set, stopping at the page's end.
    few = list(session.scalars(rows.limit(FEW_MATCHES + 1)))
    if len(few) <= FEW_MATCHES:
        return Report.doc_id.in_(few)
    return (Report.doc_id + 0).in_(rows)


def _pg_quote(word: str) -> str:
    """A word quoted for to_tsquery, so punctuation in it is never an operator."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
