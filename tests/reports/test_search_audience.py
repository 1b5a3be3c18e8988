"""The text index is split by audience: a search reaches only what its reader may read.

Each test asks the text condition alone (no sharing filter), so a hidden report the
index handed back would show; the listing, with the filter, must answer the same.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rsn.reports import listing, release, search, service
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate, ReportUpdate
from rsn.store import Database
from tests.factories import World, bimstec_world, report_payload

WORD = "quokka"


def _file(w: World, author: str, *, draft: bool = False, **marking: Any) -> str:
    data = ReportCreate.model_validate(
        report_payload(title=f"A {WORD} at the jetty", observables=[], **marking)
    )
    with w.db.session(write=True) as s:
        return service.create(s, principal=w.people[author].principal, data=data, draft=draft)


def _indexed(w: World, reader: str, q: str = WORD) -> set[str]:
    """What the text index alone finds for `reader`, without the sharing filter."""
    keys = w.people[reader].principal.keys
    with w.db.session() as s:
        return set(s.scalars(select(Report.id).where(search.condition(s, q, keys))))


def _listed(w: World, reader: str, q: str = WORD) -> set[str]:
    with w.db.session() as s:
        filters = listing.Filters(q=q)
        rows, _ = listing.get_all(s, principal=w.people[reader].principal, filters=filters)
        return {r.id for r in rows}


def _counted(w: World, reader: str) -> dict[str, int]:
    with w.db.session() as s:
        found = listing.counts(
            s, principal=w.people[reader].principal, by="tlp", filters=listing.Filters(q=WORD)
        )
        return dict(found)


def test_each_reader_s_search_reaches_only_what_they_may_read(db: Database) -> None:
    w = bimstec_world(db)
    green = _file(w, "bd.analyst", tlp="green", distribution={})
    to_india = _file(w, "bd.analyst", tlp="amber", distribution={"member_states": ["IN"]})
    hidden = _file(w, "mm.analyst", tlp="red", distribution={})
    public = _file(w, "in.analyst", tlp="clear", distribution={})
    expected = {
        "bd.analyst": {green, to_india, public},
        "bd.police": {green, public},
        "in.analyst": {green, to_india, public},
        "mm.analyst": {green, hidden, public},
        "in.watch": {public},
    }
    tlp_of = {green: "green", to_india: "amber", hidden: "red", public: "clear"}
    for reader, ids in expected.items():
        assert _indexed(w, reader) == ids, reader
        assert _indexed(w, reader, "quok") == ids, reader
        assert _listed(w, reader) == ids, reader
        assert _counted(w, reader) == {tlp_of[i]: 1 for i in ids}, reader
    assert _indexed(w, "in.analyst", "nobodysword") == set()


def test_a_word_like_a_key_token_finds_no_report_by_its_audience(db: Database) -> None:
    w = bimstec_world(db)
    _file(w, "bd.analyst", tlp="clear", distribution={})
    assert _indexed(w, "in.analyst", "k") == set()
    assert _listed(w, "in.analyst", "k") == set()


def test_release_and_a_narrower_marking_re_index_the_report(db: Database) -> None:
    w = bimstec_world(db)
    report_id = _file(w, "bd.analyst", draft=True, tlp="green", distribution={})
    assert _indexed(w, "bd.analyst") == {report_id}
    assert _indexed(w, "in.analyst") == set()

    with w.db.session(write=True) as s:
        release.submit(s, principal=w.people["bd.analyst"].principal, report_id=report_id)
    assert _indexed(w, "in.analyst") == {report_id}
    assert _listed(w, "in.analyst") == {report_id}

    narrower = ReportUpdate.model_validate({"tlp": "red", "distribution": {}})
    with w.db.session(write=True) as s:
        service.update_report(
            s, principal=w.people["bd.analyst"].principal, report_id=report_id, data=narrower
        )
    assert _indexed(w, "in.analyst") == set()
    assert _listed(w, "in.analyst") == set()
    assert _indexed(w, "bd.analyst") == {report_id}
