from __future__ import annotations
import traceback
from pathlib import Path
from rsn.store import Database
from tests.factories import api_for, bimstec_world, report_payload


def test_probe(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    start = "http://" + ".".join(["ñandúñandúñandú"] * 4) + ".com/"
    url = start + "a" * (2048 - len(start))
    try:
        r = api.post("/api/v1/reports", as_=w.people["bd.analyst"], json=report_payload(observables=[{"type": "url", "value": url}]))
        print(db.dialect, r.status_code, len(r.json()["observables"][0]["value"]))
    except Exception as exc:
        print(db.dialect, "".join(traceback.format_exception_only(exc))[:300])
