"""Report counts kept on write, per reader scope: what every count-shaped page reads.

Counting live reports with the sharing filter probes a grant per report, so it grows
with the store (a dashboard took 330 ms at 100,000 reports). Instead each report adds
one to rows of `report_tallies`: one for each reader scope that counts it
(`rsn.sharing.keysets`: `public`, `members`, a member state, an organization, or a
person for what only their own keys open: red items, drafts, releases waiting), for
the UTC day, month and year it occurred, by category, country, severity and marking,
all as numbers (`Term`). A reader's count sums the rows of the few scopes they are
in, over the fewest rows that cover the period (whole years, then months, then days:
`periods`). It equals the live count exactly.

Kept in the transaction of every write: `ReportsWritten` (file, batch, edit, import,
revoke, release) moves a report's one from where it was counted (`report_counted`
remembers its keyset and fields) to where it belongs now, or drops it when revoked.
A staged import's reports are counted when the import is published
(`index_published`). A registry change that moves an organization's or a person's
keys (`UnitsMoved`) recounts those scopes' rows from `report_counted`. `rebuild`
recounts everything; `check` compares without writing (`rsn db check-aggregates`).
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
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from rsn import events, sharing
from rsn.registry.models import NodeSetting
from rsn.reports.events import ReportsWritten
from rsn.reports.models import Report
from rsn.sharing import keysets
from rsn.store import Base, Database, bulk
from rsn.store.db import LONG_WAIT

log = logging.getLogger("rsn.reports")

CHUNK = 5000  # reports read at once when counting from the store


class Term(Base):
    """A number standing for a scope, category, country, severity or marking in the
    tallies: a row of small integers is a quarter the size of its words, and adding to
    it compares integers (`report_tallies` is written on every filing)."""

    __tablename__ = "report_tally_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    field: Mapped[str] = mapped_column(String(10))
    term: Mapped[str] = mapped_column(String(120))

    __table_args__ = (UniqueConstraint("field", "term", name="uq_report_tally_terms"),)


class Tally(Base):
    """How many live reports one scope may read share a period, category, country, etc.

    `span` is 0, 1 or 2: the row counts the day, month or year starting on day `start`
    (`date.toordinal`). The other keys are `Term` numbers.
    """

    __tablename__ = "report_tallies"

    unit: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    span: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    country: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    severity: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tlp: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)

    # Rows live in their key's own B-tree on SQLite: one tree to update per upsert, not two.
    __table_args__ = ({"sqlite_with_rowid": False},)


class Counted(Base):
    """Where a report is counted now: its next version takes its one from this row.

    `day` is the ordinal of its UTC day; category, country, severity, tlp are `Term`s.
    """

    __tablename__ = "report_counted"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    keyset: Mapped[str] = mapped_column(String(32))
    day: Mapped[int] = mapped_column(Integer)
    category: Mapped[int] = mapped_column(Integer)
    country: Mapped[int] = mapped_column(Integer)
    severity: Mapped[int] = mapped_column(Integer)
    tlp: Mapped[int] = mapped_column(Integer)

    # A scope's recount reads it by keyset.
    __table_args__ = (
        Index("ix_report_counted_keyset_day", "keyset", "day"),
        {"sqlite_with_rowid": False},
    )


FIELDS = ("category", "country", "severity", "tlp")  # what a report is counted by
COUNTED_KEY = ("keyset", "day", *FIELDS)
Shape = tuple[str, int, int, int, int, int]  # where a report is counted, in COUNTED_KEY order
TALLY_KEY = ("unit", "span", "start", *FIELDS)
Row = tuple[int, int, int, int, int, int, int]  # a row of report_tallies, in TALLY_KEY order
SPANS = ("d", "m", "y")  # span 0, 1, 2
Spelled = tuple[str, str, date, str, str, str, str]  # a row in words: scope, span, start, …


def codes(session: Session, wanted: dict[str, set[str]]) -> dict[str, dict[str, int]]:
    """The numbers of these terms, by field, numbering those not seen before."""
    fields = sorted(f for f, terms in wanted.items() if terms)
    found: dict[str, dict[str, int]] = {f: {} for f in wanted}
    if not fields:
        return found
    every = sorted({t for f in fields for t in wanted[f]})
    query = select(Term.field, Term.term, Term.id).where(
        Term.field.in_(fields), Term.term.in_(every)
    )

    def look() -> None:
        for field, term, number in session.execute(query):
            if term in wanted[field]:
                found[field][term] = number

    look()
    new = [(f, t) for f in fields for t in sorted(wanted[f] - found[f].keys())]
    if new:
        # Two writers numbering the same term at once: the second insert is ignored.
        bulk.insert_rows(session.connection(), Term, ("field", "term"), new, skip_existing=True)
        look()
    return found


def known(session: Session, field: str, terms: Iterable[str]) -> list[int]:
    """The numbers of those of these terms that have one (what a filter can match)."""
    query = select(Term.id).where(Term.field == field, Term.term.in_(sorted(set(terms))))
    return list(session.scalars(query))


def spelled(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The terms these numbers stand for."""
    wanted = sorted(set(ids))
    return {i: t for i, t in session.execute(select(Term.id, Term.term).where(Term.id.in_(wanted)))}


@dataclass(frozen=True)
class Fields:
    """What a report is counted by, apart from its audience."""

    occurred_at: datetime
    category: str
    country: str
    severity: str
    tlp: str

    def day(self) -> int:
        return self.occurred_at.astimezone(UTC).date().toordinal()


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
    counting = [i for i in items if i.fields is not None]
    registered = keysets.register(session, [i.keys for i in counting])
    delta: Counter[Shape] = Counter()
    conn = session.connection()
    if not fresh:
        report_ids = [i.report_id for i in items]
        for row in session.execute(select(Counted).where(Counted.report_id.in_(report_ids))):
            old = row[0]
            delta[(old.keyset, old.day, old.category, old.country, old.severity, old.tlp)] -= 1
        conn.execute(delete(Counted).where(Counted.report_id.in_(report_ids)))
    readers = dict(registered.units)
    gone = {shape[0] for shape in delta} - readers.keys()  # where edited reports were
    if gone:
        readers.update(keysets.units(session, gone))
    wanted = {f: {getattr(i.fields, f) for i in counting} for f in FIELDS}
    wanted["unit"] = {u for us in readers.values() for u in us}
    numbers = codes(session, wanted)
    marks = []
    for item in counting:
        f = item.fields
        assert f is not None
        shape = (
            registered.ids[item.keys],
            f.day(),
            numbers["category"][f.category],
            numbers["country"][f.country],
            numbers["severity"][f.severity],
            numbers["tlp"][f.tlp],
        )
        delta[shape] += 1
        marks.append((item.report_id, *shape))
    bulk.insert_rows(conn, Counted, ("report_id", *COUNTED_KEY), marks)
    units = numbers["unit"]
    _add(session, _spread(delta, {k: [units[u] for u in us] for k, us in readers.items()}))


def _starts(day: int) -> tuple[int, int, int]:
    """The first days of the day, month and year a day is in (ordinals)."""
    d = date.fromordinal(day)
    return day, d.replace(day=1).toordinal(), d.replace(month=1, day=1).toordinal()


def _spread(delta: Counter[Shape], readers: dict[str, list[int]]) -> Counter[Row]:
    """Each keyset's change, added to the day, month and year rows of every scope reading it."""
    rows: Counter[Row] = Counter()
    for (keyset, day, category, country, severity, tlp), n in delta.items():
        if not n:
            continue
        starts = _starts(day)
        for unit in readers.get(keyset, ()):
            for span, start in enumerate(starts):
                rows[(unit, span, start, category, country, severity, tlp)] += n
    return rows


def _add(session: Session, delta: Counter[Row]) -> None:
    """Add each row's change, making the row when new: the hottest statement of a filing
    (a report adds to ~6 rows), so one statement, rows as plain tuples (`rsn.store.bulk`)."""
    conn = session.connection()
    changes = delta.items()
    if conn.dialect.name == "postgresql":  # concurrent writers take the rows' locks in one order
        changes = sorted(changes)  # type: ignore[assignment]
    bulk.add_to(conn, Tally, TALLY_KEY, "n", [(*row, n) for row, n in changes if n])


@events.during(keysets.UnitsMoved)
def _on_units_moved(session: Session, moved: keysets.UnitsMoved) -> None:
    recount_units(session, moved.units)


def recount_units(session: Session, units: Sequence[str]) -> None:
    """Recount the rows of these scopes from where each report is counted."""
    numbers = codes(session, {"unit": set(units)})["unit"]
    session.connection().execute(delete(Tally).where(Tally.unit.in_(list(numbers.values()))))
    grouped = (
        select(
            keysets.KeySetUnit.unit,
            *(getattr(Counted, c) for c in COUNTED_KEY[1:]),
            func.count(),
        )
        .join(keysets.KeySetUnit, keysets.KeySetUnit.keyset_id == Counted.keyset)
        .where(keysets.KeySetUnit.unit.in_(list(units)))
        .group_by(keysets.KeySetUnit.unit, *(getattr(Counted, c) for c in COUNTED_KEY[1:]))
    )
    alone = {u: [numbers[u]] for u in units}  # each scope's own rows, as if a keyset
    delta: Counter[Shape] = Counter()
    for unit, day, category, country, severity, tlp, n in session.execute(grouped):
        delta[(unit, day, category, country, severity, tlp)] += n
        if len(delta) >= CHUNK:
            _add(session, _spread(delta, alone))
            delta.clear()
    _add(session, _spread(delta, alone))


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


def _expected(session: Session) -> Counter[Spelled]:
    """What the tallies should hold, in words, counted from the reports, their grants
    and the registry (nothing kept is trusted)."""
    scopes = keysets.Scopes.of(session)
    counts: Counter[Spelled] = Counter()
    for items in _in_chunks(session):
        for item in items:
            f = item.fields
            if f is None:
                continue
            day = date.fromordinal(f.day())
            starts = (day, day.replace(day=1), day.replace(month=1, day=1))
            for unit in scopes.counting(item.keys):
                for span, start in zip(SPANS, starts, strict=True):
                    counts[(unit, span, start, f.category, f.country, f.severity, f.tlp)] += 1
    return counts


def rebuild(session: Session) -> int:
    """Recount every report from scratch, scopes included; the number of reports counted."""
    conn = session.connection()
    conn.execute(delete(Counted))
    conn.execute(delete(Tally))
    keysets.resync(session, everything=True)
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
    """A row whose kept count differs from the recount, in words."""

    row: Spelled
    kept: int
    counted: int


def check(session: Session) -> list[Mismatch]:
    """Every row where the kept tallies differ from a recount (none when they agree)."""
    expected = _expected(session)
    stored = list(session.execute(select(Tally).where(Tally.n != 0)).scalars())
    words = spelled(session, {getattr(t, c) for t in stored for c in ("unit", *FIELDS)})
    kept: Counter[Spelled] = Counter()
    for t in stored:
        row = (
            words.get(t.unit, f"#{t.unit}"),
            SPANS[t.span] if 0 <= t.span < len(SPANS) else f"#{t.span}",
            date.fromordinal(t.start),
            *(words.get(getattr(t, c), f"#{getattr(t, c)}") for c in FIELDS),
        )
        kept[row] = t.n  # type: ignore[index]
    return [
        Mismatch(row, kept[row], expected[row])
        for row in sorted(set(kept) | set(expected))
        if kept[row] != expected[row]
    ]


Period = tuple[str, date | None, date | None]  # span, first start, start after the last


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def periods(since: date | None, until: date | None) -> list[Period]:
    """The fewest tally rows' periods that cover [since, until): days, months, years.

    Days up to the first whole month, months up to the first whole year, whole years,
    then months and days up to `until`. An open end is covered by years alone.
    """
    found: list[Period] = []
    at = since
    if at is not None and at.day != 1:
        end = _next_month(at) if until is None else min(_next_month(at), until)
        found.append(("d", at, end))
        at = end
    if at is not None and at.month != 1 and (until is None or at < until):
        year_end = date(at.year + 1, 1, 1)
        end = year_end if until is None else min(year_end, until.replace(day=1))
        if end > at:
            found.append(("m", at, end))
            at = end
    year_floor = None if until is None else until.replace(month=1, day=1)
    if at is None or year_floor is None or year_floor > at:
        found.append(("y", at, year_floor))
        at = year_floor
    if until is not None and at is not None:
        month_floor = until.replace(day=1)
        if month_floor > at:
            found.append(("m", at, month_floor))
            at = month_floor
        if until > at:
            found.append(("d", at, until))
    return found


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
    found = counts_by(
        session,
        principal=principal,
        fields=(by,),
        categories=categories,
        country=country,
        tlp=tlp,
        since=since,
        until=until,
    )
    return found[by]


def counts_by(
    session: Session,
    *,
    principal: sharing.Principal,
    fields: Sequence[str],
    categories: Iterable[str] | None = None,
    country: str | None = None,
    tlp: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, list[tuple[str, int]]]:
    """`counts` by each of several fields, from one pass over the rows: a dashboard that
    counts a month by category and by country read the same day rows twice (20,000 of
    them for one reader at a million reports, ~20 ms a pass)."""
    empty: dict[str, list[tuple[str, int]]] = {f: [] for f in fields}
    if since is not None and until is not None and until <= since:
        return empty
    filters: list[tuple[str, list[int]]] = []
    for field, terms in (
        ("category", categories),
        ("country", [country] if country else None),
        ("tlp", [tlp] if tlp else None),
    ):
        if terms is not None:
            numbers = known(session, field, terms)
            if not numbers:
                return empty  # no report was ever counted with it
            filters.append((field, numbers))

    def narrowed(table: Any) -> list[ColumnElement[bool]]:
        return [getattr(table, field).in_(numbers) for field, numbers in filters]

    units = known(session, "unit", keysets.units_of(principal))
    parts: list[Select[Any]] = []
    keys = [f"k{i}" for i in range(len(fields))]
    for span, first, after in periods(since, until):  # each piece walks the key in order
        where = [Tally.unit.in_(units), Tally.span == SPANS.index(span), *narrowed(Tally)]
        if first is not None:
            where.append(Tally.start >= first.toordinal())
        if after is not None:
            where.append(Tally.start < after.toordinal())
        picked = [getattr(Tally, f).label(k) for f, k in zip(fields, keys, strict=True)]
        parts.append(select(*picked, Tally.n.label("n")).where(*where))
    rows = union_all(*parts).subquery()
    total = func.sum(rows.c.n)
    grouped = [rows.c[k] for k in keys]
    query = select(*grouped, total).group_by(*grouped).having(total > 0)
    sums: list[Counter[int]] = [Counter() for _ in fields]
    for *codes, n in session.execute(query):
        for i, code in enumerate(codes):
            sums[i][int(code)] += int(n)
    words = spelled(session, {k for by in sums for k in by})
    return {
        field: sorted((words[k], n) for k, n in by.items() if n > 0)
        for field, by in zip(fields, sums, strict=True)
    }


__all__ = [
    "Counted",
    "Tally",
    "Term",
    "apply",
    "check",
    "counts",
    "counts_by",
    "index_published",
    "periods",
    "rebuild",
    "recount_units",
]
