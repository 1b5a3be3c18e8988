"""Input that parses but cannot be used is a 422 naming the field, never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import api_for, bimstec_world, report_payload
from tests.taxii.helpers import ACCEPT, MAIN
from tests.web.webclient import WebClient

# A valid RFC 3339 time whose UTC instant falls after the year 9999.
PAST_THE_END = "9999-12-31T23:59:59-23:59"


def test_times_past_the_last_utc_instant_are_refused_by_name(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    w = bimstec_world(db)
    w.person("bd.web", "bd-cert", password="correct horse battery staple")
    api = api_for(db, tmp_path)
    bd = w.people["bd.analyst"]

    export = api.get("/api/v1/export", params={"format": "csv", "since": PAST_THE_END}, as_=bd)
    assert export.status_code == 422, export.text
    assert [e["field"] for e in export.json()["errors"]] == ["since"]
    assert "outside the range of UTC times" in export.text

    taxii = api.get(
        f"{MAIN}/objects/", params={"added_after": PAST_THE_END}, as_=bd, headers=ACCEPT
    )
    assert taxii.status_code == 400, taxii.text  # TAXII's status for a bad parameter
    assert set(taxii.json()["details"]) == {"added_after"}

    web = WebClient(api.app)
    web.sign_in("bd.web", "correct horse battery staple")
    page = web.get("/exchange/export", params={"format": "csv", "since": PAST_THE_END})
    assert page.status_code == 422 and "outside the range of UTC times" in page.text


def test_a_number_too_long_for_python_is_named(db: Database, tmp_path: Path) -> None:
    """Past 4,300 digits Python refuses the conversion; the answer still names the field."""
    w = bimstec_world(db)
    body = json.dumps(report_payload(confidence=0)).replace(
        '"confidence": 0', '"confidence": ' + "7" * 5000
    )
    answer = api_for(db, tmp_path).post(
        "/api/v1/reports",
        content=body,
        headers={"Content-Type": "application/json"},
        as_=w.people["bd.analyst"],
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["confidence"]
    assert "5,000 digits" in answer.text
