"""Every answer that hands a report's non-public fields to a non-originator is recorded."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from rsn.audit import AuditRecord
from rsn.store import Database
from tests.factories import api_for, bimstec_world, report_payload


def _records(db: Database, action: str) -> list[AuditRecord]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)
            )
        )


def test_disclosures_name_ids_not_content(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd = w.people["bd.analyst"]
    amber = api.post("/api/v1/reports", json=report_payload(), as_=bd).json()["id"]
    clear = api.post(
        "/api/v1/reports", json=report_payload(tlp="clear", distribution={}), as_=bd
    ).json()["id"]
    assert _records(db, "report.create")[-1].item_ids == [clear]
    assert _records(db, "report.read") == []  # the originator reading back discloses nothing

    api.get("/api/v1/reports", as_=w.people["in.analyst"])
    [listing] = _records(db, "report.list")
    assert listing.actor == "in.analyst"
    assert listing.item_ids == [amber]  # the clear one is public; nothing else is stored
    assert "Trafficking" not in str(listing.detail)

    api.get(f"/api/v1/reports/{clear}", as_=w.people["in.analyst"])
    [read] = _records(db, "report.read")
    assert amber in read.item_ids  # the correlation shows the amber report's id to a reader

    api.get("/api/v1/reports", as_=w.people["mm.analyst"])
    assert len(_records(db, "report.list")) == 1  # mm saw only the clear report
