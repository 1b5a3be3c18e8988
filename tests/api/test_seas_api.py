"""`/api/v1/seas`: each sea area's maritime threat level, counted only from the maritime
reports the caller may read, in the window asked for."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rsn.store import Database
from tests.conftest import Clock
from tests.factories import Api, World, api_for, bimstec_world, report_payload, stamp

ANDAMAN = {"lat": 11.5, "lon": 97.0}
BAY = {"lat": 15.0, "lon": 88.0}


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def file(api: Api, world: World, clock: Clock, days_ago: int, **fields: Any) -> None:
    body = report_payload(
        category="maritime.piracy",
        occurred_at=stamp(clock.now - timedelta(days=days_ago)),
        observables=[],
        **fields,
    )
    answer = api.post("/api/v1/reports", as_=world.people["mm.analyst"], json=body)
    assert answer.status_code == 201, answer.text


def by_sea(api: Api, world: World, who: str, **params: Any) -> dict[str, dict[str, Any]]:
    answer = api.get("/api/v1/seas", params=params, as_=world.people[who])
    assert answer.status_code == 200, answer.text
    return {s["sea_area"]: s for s in answer.json()}


def test_levels_count_what_the_caller_reads_in_the_window(
    api: Api, world: World, clock: Clock
) -> None:
    green: dict[str, Any] = {"tlp": "green", "distribution": {}}
    for i in range(5):
        file(api, world, clock, 3 + i, location=ANDAMAN, severity="high", **green)
    file(
        api,
        world,
        clock,
        5,
        location=ANDAMAN,
        severity="critical",
        tlp="amber+strict",
        distribution={},
    )  # Myanmar's own
    file(api, world, clock, 10, location=BAY, severity="low", **green)
    file(api, world, clock, 200, location=BAY, severity="low", **green)  # outside 90 days

    theirs = by_sea(api, world, "mm.analyst")
    ours = by_sea(api, world, "bd.analyst")
    assert theirs["Andaman Sea"]["count"] == 6 and ours["Andaman Sea"]["count"] == 5
    assert theirs["Andaman Sea"]["by_severity"]["critical"] == 1
    assert ours["Andaman Sea"]["by_severity"]["critical"] == 0
    assert ours["Andaman Sea"]["level"] in ("elevated", "high")
    assert ours["Bay of Bengal"]["count"] == 1 and ours["Bay of Bengal"]["level"] == "moderate"
    assert ours["Arabian Sea"]["count"] == 0 and ours["Arabian Sea"]["level"] == "low"
    assert ours["Andaman Sea"]["expected"] is None  # no report reaches back a year
    assert by_sea(api, world, "bd.analyst", days=365)["Bay of Bengal"]["count"] == 2
    assert all(s["reasons"] for s in ours.values())


@pytest.mark.parametrize("days", ["0", "367", "many"])
def test_a_bad_window_names_days(api: Api, world: World, days: str) -> None:
    answer = api.get("/api/v1/seas", params={"days": days}, as_=world.people["bd.analyst"])
    assert answer.status_code == 422 and "days" in answer.text
