from __future__ import annotations

from pathlib import Path

from rsn.store import Database
from tests.factories import api_for, bimstec_world, report_payload


def test_create_and_read(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    r = api.post("/api/v1/reports", json=report_payload(), as_=w.people["bd.analyst"])
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert api.get(f"/api/v1/reports/{rid}", as_=w.people["in.analyst"]).status_code == 200
    assert api.get(f"/api/v1/reports/{rid}", as_=w.people["mm.analyst"]).status_code == 404


def test_impossible_ids_are_simply_not_found(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    for bad in ("%00", "x" * 300, "00000000-0000-4000-8000-00000000000%00"):
        for method, suffix in (("GET", ""), ("GET", "/history"), ("PATCH", "")):
            kwargs = {"json": {"title": "t"}} if method == "PATCH" else {}
            answer = api.request(
                method, f"/api/v1/reports/{bad}{suffix}", as_=w.people["bd.analyst"], **kwargs
            )
            assert answer.status_code == 404, (bad, suffix, answer.text)
