"""Report counts kept on write, per audience: what every count-shaped page reads.

Counting live reports with the sharing filter probes a grant per report, so it grows
with the store (a dashboard took 330 ms at 100,000 reports). Instead each report adds
one to a row of `report_tallies`, keyed by its audience (`rsn.sharing.keysets`: the
digest of its grant keys), the UTC day it occurred, its category, country, severity
and marking. A reader's count is the sum over the keysets they open, a few rows a
day; it equals the live count exactly, drafts and held reports included (they are
counted under their narrower draft keys, as the list shows them).

Kept in the transaction of every write: `ReportsWritten` (file, batch, edit, import,
revoke, release) moves a report's one from the row it was counted in (`report_counted`
remembers it) to its new row, or drops it when revoked. A staged import's reports
are counted when the import is published (`index_published`), not while open to no
one. `rebuild` recounts everything; `check` compares without writing
(`rsn db check-aggregates`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    ForeignKey,
    Integer,
    Select,
    String,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from rsn import events, sharing
from rsn.registry.models import NodeSetting
from rsn.reports.events import ReportsWritten
from rsn.reports.models import Report
from rsn.sharing import keysets
from rsn.store import Base, Database
from rsn.store.db import LONG_WAIT

log = logging.getLogger("rsn.reports")

CHUNK = 5000  # reports read at once when counting from the store


class Tally(Base):
    """How many live reports of one audience share a day, category, country, severity, TLP."""

    __tablename__ = "report_tallies"

    keyset: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(120), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    severity: Mapped[str] = mapped_column(String(10), primary_key=True)
    tlp: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class Counted(Base):
    """Where a report is counted now: its next version takes its one from this row."""

    __tablename__ = "report_counted"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    keyset: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    severity: Mapped[str] = mapped_column(String(10))
    tlp: Mapped[str] = mapped_column(String(20))


TALLY_KEY = ("keyset", "day", "category", "country", "severity", "tlp")
Shape = tuple[str, date, str, str, str, str]  # a row of report_tallies, in TALLY_KEY order


@dataclass(frozen=True)
class Fields:
    """What a report is counted by, apart from its audience."""

    occurred_at: datetime
    category: str
    country: str
    severity: str
    tlp: str

    def shape(self, keyset: str) -> Shape:
        day = self.occurred_at.astimezone(UTC).date()
        return (keyset, day, self.category, self.country, self.severity, self.tlp)


@dataclass(frozen=True)
class Item:
    """A report as counting takes it: `fields` None when it counts nowhere (revoked)."""

    report_id: str
    keys: frozenset[str]
    fields: Fields | None


@events.during(ReportsWritten)
def _on_written(session: Session, written: ReportsWritten) -> None:
    if sharing.staging(session) is not None:
        return  # counted when the batch is published, with the keys it is published under
    items = [
        Item(
            w.report_id,
            w.keys,
            Fields(w.occurred_at, w.category, w.country, w.severity, w.tlp)
            if w.live and w.occurred_at is not None
            else None,
        )
        for w in written.items
    ]
    apply(session, items, fresh=written.fresh)


def apply(session: Session, items: Sequence[Item], *, fresh: bool) -> None:
    """Count these reports where they belong now; `fresh`: they were counted nowhere yet."""
    if not items:
        return
    ids = keysets.register(session, [i.keys for i in items if i.fields is not None])
    delta: Counter[Shape] = Counter()
    conn = session.connection()
    if not fresh:
        report_ids = [i.report_id for i in items]
        for row in session.execute(select(Counted).where(Counted.report_id.in_(report_ids))):
            old = row[0]
            delta[(old.keyset, old.day, old.category, old.country, old.severity, old.tlp)] -= 1
        conn.execute(delete(Counted).where(Counted.report_id.in_(report_ids)))
    marks = []
    for item in items:
        if item.fields is None:
            continue
        shape = item.fields.shape(ids[item.keys])
        delta[shape] += 1
        marks.append({"report_id": item.report_id, **dict(zip(TALLY_KEY, shape, strict=True))})
    if marks:
        conn.execute(insert(Counted), marks)
    _add(session, delta)


def _add(session: Session, delta: Counter[Shape]) -> None:
    """Add each shape's change to its row, making the row when new (one statement)."""
    rows = [
        {**dict(zip(TALLY_KEY, shape, strict=True)), "n": n}
        for shape, n in sorted(delta.items())
        if n
    ]
    if not rows:
        return
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert_(Tally)
    statement = statement.on_conflict_do_update(
        index_elements=list(TALLY_KEY), set_={"n": Tally.n + statement.excluded.n}
    )
    session.connection().execute(statement, rows)


def _stored(session: Session, report_ids: Sequence[str]) -> list[Item]:
    """Reports as the store has them now, with their current grants."""
    keys = keysets.keys_of(session, report_ids, kind="report")
    rows = session.execute(
        select(
            Report.id,
            Report.occurred_at,
            Report.category,
            Report.country,
            Report.severity,
            Report.tlp,
            Report.revoked,
        ).where(Report.id.in_(list(report_ids)))
    )
    return [
        Item(
            rid,
            keys[rid],
            None if revoked else Fields(occurred, category, country or "", severity or "", tlp),
        )
        for rid, occurred, category, country, severity, tlp, revoked in rows
        if rid in keys  # no grants: open to no one (a staged report), counted nowhere
    ]


def index_published(session: Session, report_ids: Select[Any]) -> None:
    """Count a staged batch just published, in the transaction that publishes it."""
    ids = list(session.scalars(report_ids))
    for start in range(0, len(ids), CHUNK):
        apply(session, _stored(session, ids[start : start + CHUNK]), fresh=True)


def _in_chunks(session: Session) -> Iterator[list[Item]]:
    """Every stored report, a chunk at a time, in id order."""
    last = ""
    while True:
        query = select(Report.id).where(Report.id > last).order_by(Report.id).limit(CHUNK)
        ids = list(session.scalars(query))
        if not ids:
            return
        last = ids[-1]
        yield _stored(session, ids)


def _expected(session: Session) -> Counter[Shape]:
    """What the tallies should hold, counted from the reports and their grants."""
    counts: Counter[Shape] = Counter()
    for items in _in_chunks(session):
        for item in items:
            if item.fields is not None:
                counts[item.fields.shape(keysets.keyset_id(item.keys))] += 1
    return counts


def rebuild(session: Session) -> int:
    """Recount every report from scratch; the number of reports counted."""
    conn = session.connection()
    conn.execute(delete(Counted))
    conn.execute(delete(Tally))
    counted = 0
    for items in _in_chunks(session):
        apply(session, items, fresh=True)
        counted += sum(1 for i in items if i.fields is not None)
    return counted


STALE = "tallies.stale"  # a node setting: the tallies need a recount (set by migration 0019)


def recount_if_stale(db: Database) -> int | None:
    """Recount when the store says the tallies are stale; how many reports, else None."""
    with db.session(write=True, wait=LONG_WAIT) as session:
        if session.get(NodeSetting, STALE) is None:
            return None
        counted = rebuild(session)
        session.execute(delete(NodeSetting).where(NodeSetting.key == STALE))
    log.info("report tallies recounted: %d reports", counted)
    return counted


@dataclass(frozen=True)
class Mismatch:
    """A row whose kept count differs from the recount."""

    shape: Shape
    kept: int
    counted: int


def check(session: Session) -> list[Mismatch]:
    """Every row where the kept tallies differ from a recount (none when they agree)."""
    expected = _expected(session)
    kept: Counter[Shape] = Counter()
    for row in session.execute(select(Tally).where(Tally.n != 0)):
        t = row[0]
        kept[(t.keyset, t.day, t.category, t.country, t.severity, t.tlp)] = t.n
    return [
        Mismatch(shape, kept[shape], expected[shape])
        for shape in sorted(set(kept) | set(expected))
        if kept[shape] != expected[shape]
    ]


COUNTABLE = {
    "category": Tally.category,
    "country": Tally.country,
    "tlp": Tally.tlp,
    "severity": Tally.severity,
}


def counts(
    session: Session,
    *,
    principal: sharing.Principal,
    by: str,
    categories: Iterable[str] | None = None,
    country: str | None = None,
    tlp: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[tuple[str, int]]:
    """Live reports `principal` may read, counted by one field, from the kept tallies.

    `since` and `until` are whole UTC days (`until` not included), as the tallies keep them.
    """
    col = COUNTABLE[by]
    where: list[ColumnElement[bool]] = [Tally.keyset.in_(keysets.open_to(principal))]
    if categories is not None:
        where.append(Tally.category.in_(list(categories)))
    if country:
        where.append(Tally.country == country)
    if tlp:
        where.append(Tally.tlp == tlp)
    if since is not None:
        where.append(Tally.day >= since)
    if until is not None:
        where.append(Tally.day < until)
    total = func.sum(Tally.n)
    query = select(col, total).where(*where).group_by(col).having(total > 0).order_by(col)
    return [(str(k), int(n)) for k, n in session.execute(query)]


__all__ = [
    "Counted",
    "Tally",
    "apply",
    "check",
    "counts",
    "index_published",
    "rebuild",
]
