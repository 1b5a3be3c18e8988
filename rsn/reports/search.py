"""Full-text search over title, description and observable values.

SQLite keeps the documents in an FTS5 table whose rowid is the report's `doc_id`;
PostgreSQL keeps each as a `tsvector` column of `reports` (`search_document`, with a
GIN index), so testing a row is a look at the row in hand, not a probe of another
table. Both are created by the migrations, outside the models, and written here only.
A query becomes a condition on `reports` that the caller ANDs with the sharing filter,
so hidden reports never match.

Each document also carries one token per audience key of its report's grants
(`rsn.sharing.index_tokens`: FTS5's `keys` column; lexemes of weight A in the
`tsvector`, the words being of weight D), and a query asks for the reader's tokens
along with its words. The text index then hands back only what the reader may read,
so a word that many hidden reports hold costs a reader no more than a word nobody
holds, and a search's time tells nothing of hidden reports. The sharing filter stays
the authority: the tokens only narrow. They are written with the grants (each
version, `rsn.reports.rows`), which is the only time a report's grants change.

A report's `doc_id` is renewed with each version (it becomes the version's commit
sequence number), so the FTS5 rowid order is the order in which documents were last
written: the newest matches of a common word are the first ones FTS5 hands back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    column,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session

from rsn import events, sharing
from rsn.errors import ValidationError
from rsn.reports.events import ReportsWritten
from rsn.reports.models import Report, ReportObservable
from rsn.sharing import SharingGrant

# Whitespace and punctuation split words; letters, digits and combining marks
# (which Indic and Southeast Asian scripts need inside a word) never do.
SEPARATORS = re.compile(r"[\s\x00-\x1f\x7f!-/:-@\[-`{-~\u00a0-\u00bf\u2000-\u206f\u3000-\u303f]+")
MAX_TERMS = 12
FEW_MATCHES = 1000
# The newest matches are worth a try when they are at least this share of the documents
# written since the oldest of them: a page then finds its rows among the first few
# hundred reports it walks. A sparser word (2% of reports, say) would have the page walk
# half the store for them, and the set of all its matches is cheaper.
DENSE = 0.03

_fts = table("report_fts", column("rowid"))
_pg_document: ColumnElement[Any] = literal_column("reports.search_document")


def tokens(text_: str) -> list[str]:
    """Lower-cased words, split the same way for documents and queries on both stores."""
    return [t for t in SEPARATORS.split(text_.lower()) if t]


def document(title: str, description: str, values: Iterable[str]) -> str:
    return " ".join(tokens("\n".join([title, description, *values])))


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class Document:
    """A report's search text and audience keys, filed under `doc_id` (its version's sequence)."""

    report_id: str
    doc_id: int
    text: str
    keys: frozenset[str]


_PG_WRITE = text(
    "UPDATE reports SET search_document = setweight(to_tsvector('simple', :keys), 'A')"
    " || to_tsvector('simple', :text), doc_id = :doc_id WHERE id = :report_id"
)
_FTS_DELETE = text(
    "DELETE FROM report_fts WHERE rowid = (SELECT doc_id FROM reports WHERE id = :report_id)"
)
_FTS_REKEY = text("UPDATE reports SET doc_id = :doc_id WHERE id = :report_id")
_FTS_INSERT = text("INSERT INTO report_fts (rowid, document, keys) VALUES (:doc_id, :text, :keys)")


def index(session: Session, documents: Sequence[Document], *, fresh: bool) -> None:
    """Replace reports' search documents, each under its new `doc_id`.

    `fresh`: the reports were just inserted with that `doc_id` and have no document yet.
    """
    if not documents:
        return
    conn = session.connection()
    params = [
        {
            "report_id": d.report_id,
            "doc_id": d.doc_id,
            "text": d.text,
            "keys": " ".join(sharing.index_tokens(d.keys)),
        }
        for d in documents
    ]
    if _is_pg(session):
        conn.execute(_PG_WRITE, params)
        return
    if not fresh:
        conn.execute(_FTS_DELETE, params)
        conn.execute(_FTS_REKEY, params)
    conn.execute(_FTS_INSERT, params)


@events.during(ReportsWritten)
def _on_written(session: Session, written: ReportsWritten) -> None:
    """Each written version's document, under its audience keys, in the same transaction."""
    documents = [
        Document(
            report_id=w.report_id,
            doc_id=w.doc_id,
            text=document(w.title, w.description, [value for _, value in w.observables]),
            keys=w.keys,
        )
        for w in written.items
    ]
    index(session, documents, fresh=written.fresh)


def drop(session: Session, report_ids: Sequence[str]) -> None:
    """Remove reports' documents before the reports are deleted (FTS5 rows have no cascade)."""
    if report_ids and not _is_pg(session):
        session.connection().execute(_FTS_DELETE, [{"report_id": r} for r in report_ids])


def rebuild(session: Session) -> int:
    """Every report's document again, from its row: a restore copies no store's index."""
    values: dict[str, list[str]] = {}
    found = session.execute(
        select(ReportObservable.report_id, ReportObservable.value).order_by(
            ReportObservable.report_id, ReportObservable.position
        )
    )
    for report_id, value in found:
        values.setdefault(report_id, []).append(value)
    keys: dict[str, set[str]] = {}
    grants = select(SharingGrant.item_id, SharingGrant.key).join(
        Report, Report.id == SharingGrant.item_id
    )
    for item_id, key in session.execute(grants):
        keys.setdefault(item_id, set()).add(key)
    reports = session.execute(select(Report.id, Report.doc_id, Report.title, Report.description))
    documents = [
        Document(
            rid,
            doc_id,
            document(title, description, values.get(rid, [])),
            frozenset(keys.get(rid, ())),
        )
        for rid, doc_id, title, description in reports
    ]
    index(session, documents, fresh=True)
    return len(documents)


def terms(q: str) -> list[str]:
    """The word pieces of a query, as both search engines split them."""
    words = tokens(q)[:MAX_TERMS]
    if not words:
        raise ValidationError.field("q", f"'{q}' has no word to search for.")
    return words


@dataclass(frozen=True)
class Match:
    """The reports whose document holds every word of a query (the last as a prefix).

    `every` is the condition for all of them. When they are many (SQLite only),
    `newest` is the condition for the FEW_MATCHES with the highest `doc_id`, and `floor`
    the lowest `doc_id` among those: a page drawn from `newest` is the page `every`
    gives as long as no report the page's walk passed has a `doc_id` below `floor`
    (see `rsn.reports.listing`). For a common word that spares building the set of
    all its matches, which is most of what such a page costs.
    """

    every: ColumnElement[bool]
    newest: ColumnElement[bool] | None = None
    floor: int = 0


def match(session: Session, q: str, keys: frozenset[str]) -> Match:
    """The reports matching `q` among those open to `keys` (a reader's), as conditions."""
    words = terms(q)
    opened = sharing.index_tokens(keys)
    if not opened:
        return Match(false())
    if _is_pg(session):
        quoted = [_pg_quote(w) + ":D" for w in words]
        quoted[-1] += "*"
        readers = " | ".join(_pg_quote(t) + ":A" for t in opened)
        query = " & ".join(quoted) + f" & ({readers})"
        tsquery = func.to_tsquery(literal("simple", type_=REGCONFIG), query)
        return Match(_pg_document.bool_op("@@")(tsquery))
    readers = " OR ".join(f'"{t}"' for t in opened)
    phrase = " ".join(f'"{w}"' for w in words) + "*"
    expression = f"document : ({phrase}) AND keys : ({readers})"
    rows = select(_fts.c.rowid).where(literal_column("report_fts").bool_op("MATCH")(expression))
    newest = rows.order_by(_fts.c.rowid.desc()).limit(FEW_MATCHES + 1).subquery()
    listed = session.scalar(select(func.json_group_array(newest.c.rowid)))
    found: list[int] = sorted(json.loads(listed or "[]"))
    if len(found) <= FEW_MATCHES:
        # A rare word: its few matches, probed by key and sorted, make the page.
        return Match(Report.doc_id.in_(_listed(found)))
    # A common word: `doc_id + 0` keeps SQLite off the doc_id index, so it walks the
    # page order and probes the match set, stopping at the page's end.
    every = (Report.doc_id + 0).in_(rows)
    kept = found[-FEW_MATCHES:]
    if len(kept) < DENSE * (kept[-1] - kept[0] + 1):
        return Match(every)
    return Match(every, (Report.doc_id + 0).in_(_listed(kept)), kept[0])


def _listed(doc_ids: list[int]) -> Select[tuple[Any]]:
    """doc_ids as one JSON parameter: a thousand bound values cost more than the search."""
    return select(literal_column("value")).select_from(func.json_each(json.dumps(doc_ids)))


def condition(session: Session, q: str, keys: frozenset[str]) -> ColumnElement[bool]:
    """True for every report open to `keys` whose document holds every word of `q`."""
    return match(session, q, keys).every


def _pg_quote(word: str) -> str:
    """A word quoted for to_tsquery, so punctuation in it is never an operator."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
