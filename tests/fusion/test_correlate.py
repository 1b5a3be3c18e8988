"""The correlation index holds exactly the current, live versions' rows, on both stores.

Rows are removed by their whole primary key, read back from the stored observables
and grants; a row left behind would show a reader a match that is no longer true.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rsn.fusion.models import CorrelationEntry
from rsn.reports import service
from rsn.reports.models import Report, ReportObservable
from rsn.reports.schemas import ReportCreate, ReportUpdate
from rsn.sharing import SharingGrant
from rsn.store import Database
from tests.factories import bimstec_world, report_payload

Row = tuple[str, str, str, str]


def stored(db: Database) -> set[Row]:
    with db.session() as s:
        query = select(
            CorrelationEntry.type,
            CorrelationEntry.value,
            CorrelationEntry.key,
            CorrelationEntry.report_id,
        )
        return {(t, v, k, r) for t, v, k, r in s.execute(query)}


def derived(db: Database) -> set[Row]:
    """What the index must hold: each live report's observables under each of its keys."""
    with db.session() as s:
        query = (
            select(ReportObservable.type, ReportObservable.value, SharingGrant.key, Report.id)
            .join(Report, Report.id == ReportObservable.report_id)
            .join(SharingGrant, SharingGrant.item_id == Report.id)
            .where(Report.revoked.is_(False))
        )
        return {(t, v, k, r) for t, v, k, r in s.execute(query)}


def test_edits_and_revocations_leave_no_stale_index_rows(db: Database) -> None:
    w = bimstec_world(db)
    bd, india = w.people["bd.analyst"].principal, w.people["in.analyst"].principal
    shared = [
        {"type": "phone-number", "value": "+8801712345678"},
        {"type": "domain-name", "value": "recruit-jobs.example"},
    ]

    def create(who: Any, **fields: Any) -> str:
        with db.session(write=True) as s:
            body = ReportCreate.model_validate(report_payload(observables=shared, **fields))
            return service.create(s, principal=who, data=body)

    edited = create(bd)
    revoked = create(bd, tlp="green", distribution={})
    kept = create(india, country="IN")
    assert stored(db) == derived(db) and len(stored(db)) == 3 * 2 * 2 - 2  # green: one key

    with db.session(write=True) as s:
        change = ReportUpdate.model_validate(
            {
                "tlp": "amber",
                "distribution": {"member_states": ["MM", "IN"], "organizations": ["bd-police"]},
                "observables": [shared[1], {"type": "ipv4-addr", "value": "203.0.113.9"}],
            }
        )
        service.update_report(s, principal=bd, report_id=edited, data=change)
        service.revoke(s, principal=bd, report_id=revoked, reason="duplicate")

    rows = stored(db)
    assert rows == derived(db)
    assert not {r for r in rows if r[3] == revoked}
    assert {(t, v) for t, v, _k, r in rows if r == edited} == {
        ("domain-name", "recruit-jobs.example"),
        ("ipv4-addr", "203.0.113.9"),
    }
    # The originator's organization, Myanmar, India and Bangladesh Police.
    assert len({k for _t, _v, k, r in rows if r == edited}) == 4
    assert {r for *_x, r in rows} == {edited, kept}


def test_a_narrowed_report_leaves_no_row_under_a_key_it_lost(db: Database) -> None:
    """Green to amber+strict: the members' key goes, and every row under it with it."""
    w = bimstec_world(db)
    bd = w.people["bd.analyst"].principal
    with db.session(write=True) as s:
        body = ReportCreate.model_validate(report_payload(tlp="green", distribution={}))
        narrowed = service.create(s, principal=bd, data=body)
    with db.session(write=True) as s:
        change = ReportUpdate.model_validate({"tlp": "amber+strict", "distribution": {}})
        service.update_report(s, principal=bd, report_id=narrowed, data=change)
    rows = stored(db)
    assert rows == derived(db)
    assert len({k for _t, _v, k, _r in rows}) == 1  # the originator's organization only
