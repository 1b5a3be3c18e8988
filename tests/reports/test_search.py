"""Search pages: the newest-matches shortcut gives exactly the pages of a full match.

`search.FEW_MATCHES` is lowered so that a handful of reports is a "common word": pages
drawn from the newest matches are then compared with the plain order of every match.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from rsn import clock
from rsn.reports import listing, search, service
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate, ReportUpdate
from rsn.sharing import Principal
from rsn.store import Database
from tests.factories import World, bimstec_world, report_payload


def _file(w: World, author: str, titles: list[str], tlp: str = "green") -> list[str]:
    principal = w.people[author].principal
    filings = [
        service.Filing(
            principal,
            ReportCreate.model_validate(
                report_payload(title=title, tlp=tlp, distribution={}, observables=[])
            ),
        )
        for title in titles
    ]
    with w.db.session(write=True) as s:
        return service.create_many(s, filings)


def _pages(db: Database, reader: Principal, q: str, limit: int) -> list[list[str]]:
    """Every page of a search, following the cursors."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        with db.session() as s:
            rows, cursor = listing.get_all(
                s, principal=reader, filters=listing.Filters(q=q), limit=limit, cursor=cursor
            )
        pages.append([r.id for r in rows])
        if cursor is None:
            return pages


def _in_page_order(db: Database, ids: list[str]) -> list[str]:
    with db.session() as s:
        rows = s.execute(select(Report.id, Report.modified).where(Report.id.in_(ids))).all()
    return [r[0] for r in sorted(rows, key=lambda r: (r[1], r[0]), reverse=True)]


@pytest.fixture
def few(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Four matches make a common word; records whether each shortcut page was refused."""
    monkeypatch.setattr(search, "FEW_MATCHES", 4)
    refused: list[bool] = []
    check = listing._passed_older

    def recorded(*args: Any) -> bool:
        refused.append(check(*args))
        return refused[-1]

    monkeypatch.setattr(listing, "_passed_older", recorded)
    return refused


def test_common_word_pages_are_the_pages_of_every_match(db: Database, few: list[bool]) -> None:
    w = bimstec_world(db)
    hits: list[str] = []
    for batch in range(4):
        hits += _file(w, "bd.analyst", [f"zircon harbour {batch}-{i}" for i in range(5)])
        _file(w, "bd.analyst", [f"unrelated {batch}"])
    reader = w.people["in.analyst"].principal
    expected = _in_page_order(db, hits)
    for limit in (1, 3, 4, 50):
        pages = _pages(db, reader, "zircon", limit)
        assert [i for page in pages for i in page] == expected, limit
        assert all(len(page) <= limit for page in pages)
    if db.dialect == "sqlite":
        assert False in few  # the newest matches made some pages by themselves


def test_a_report_moved_ahead_with_an_old_document_is_not_missed(db: Database, few: None) -> None:
    """A report whose document is older than the newest matches but which sorts first."""
    w = bimstec_world(db)
    [old] = _file(w, "bd.analyst", ["zircon quarry"])
    newer = _file(w, "bd.analyst", [f"zircon harbour {i}" for i in range(8)])
    ahead = clock.now() + timedelta(days=1)
    with db.session(write=True) as s:  # modified moves, doc_id stays: as an import can do
        s.execute(
            text("UPDATE reports SET modified = :m WHERE id = :id"),
            {"m": ahead.replace(tzinfo=None) if db.dialect == "sqlite" else ahead, "id": old},
        )
    reader = w.people["in.analyst"].principal
    first = _pages(db, reader, "zircon", 3)[0]
    assert first[0] == old
    if db.dialect == "sqlite":
        assert few[0] is True  # the walk passed `old`, whose document is older
    assert [i for p in _pages(db, reader, "zircon", 3) for i in p] == _in_page_order(
        db, [old, *newer]
    )


def test_an_edit_files_the_document_anew(db: Database) -> None:
    w = bimstec_world(db)
    [report_id] = _file(w, "bd.analyst", ["zircon harbour"])
    author = w.people["bd.analyst"].principal
    with db.session(write=True) as s:
        report = service.update_report(
            s, principal=author, report_id=report_id, data=ReportUpdate(title="basalt quay")
        )
        assert report.doc_id == report.seq
    with db.session() as s:
        stored = s.execute(text("SELECT doc_id, seq FROM reports")).one()
        assert stored[0] == stored[1]
        if db.dialect == "sqlite":
            docs = s.execute(text("SELECT rowid, document FROM report_fts")).all()
            assert [d[0] for d in docs] == [stored[0]]
    reader = w.people["in.analyst"].principal
    assert _pages(db, reader, "basalt", 50) == [[report_id]]
    assert _pages(db, reader, "zircon", 50) == [[]]
    with db.session(write=True) as s:  # twice in one session: the loaded report keeps up
        service.update_report(
            s, principal=author, report_id=report_id, data=ReportUpdate(title="granite pier")
        )
        service.update_report(
            s, principal=author, report_id=report_id, data=ReportUpdate(title="marble jetty")
        )
    assert _pages(db, reader, "marble", 50) == [[report_id]]
    assert _pages(db, reader, "granite", 50) == [[]]
    if db.dialect == "sqlite":
        with db.session() as s:
            assert s.execute(text("SELECT count(*) FROM report_fts")).scalar() == 1


def test_hidden_matches_do_not_change_a_reader_s_pages(db: Database, few: list[bool]) -> None:
    w = bimstec_world(db)
    shown = _file(w, "bd.analyst", [f"zircon harbour {i}" for i in range(3)])
    _file(w, "mm.analyst", [f"zircon hidden {i}" for i in range(9)], tlp="red")
    reader = w.people["in.analyst"].principal
    assert [i for p in _pages(db, reader, "zircon", 2) for i in p] == _in_page_order(db, shown)
