"""`/map/layers.json`: the open alerts and the sea areas' threat levels the map draws over
its counts, each as the viewer may see them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsn.store import Database
from tests.conftest import Clock
from tests.factories import Api, World, api_for, bimstec_world
from tests.warning.test_alerts import file, found, raised
from tests.web.test_alerts_pages import PASSWORD, signed_in
from tests.web.webclient import WebClient


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.map", "bd-cert", password=PASSWORD)
    w.person("mm.map", "mm-cert", password=PASSWORD)
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def test_open_alerts_and_sea_levels_as_each_viewer_sees_them(
    api: Api, world: World, clock: Clock
) -> None:
    strict = file(world, "bd.analyst", clock, 2, tlp="amber+strict", distribution={})
    alert_id = raised(world, found(strict, clock, category="maritime.piracy"))
    at_sea = {"tlp": "amber+strict", "distribution": {}, "category": "maritime.piracy"}
    file(world, "bd.analyst", clock, 3, sea_area="Andaman Sea", **at_sea)

    mine = signed_in(api, "bd.map").get("/map/layers.json?days=30")
    assert mine.status_code == 200, mine.text
    body = mine.json()
    [alert] = body["alerts"]
    assert alert["id"] == alert_id and alert["url"] == f"/alerts/{alert_id}"
    assert alert["countries"] == [{"code": "BD", "numeric": "050"}]
    seas = {s["name"]: s for s in body["seas"]}
    assert "Bay of Bengal" in seas and len(seas["Andaman Sea"]["ring"]) >= 4
    assert seas["Andaman Sea"]["count"] == 3

    theirs = signed_in(api, "mm.map").get("/map/layers.json?days=30").json()
    assert theirs["alerts"] == []  # reads none of its reports
    assert {s["name"]: s["count"] for s in theirs["seas"]}["Andaman Sea"] == 0

    refused = signed_in(api, "bd.map").get("/map/layers.json?days=11")
    assert refused.status_code == 422 and "days" in refused.text
    assert WebClient(api.app).get("/map/layers.json").status_code in (303, 401)


def test_the_map_page_asks_for_its_layers(api: Api, world: World) -> None:
    page = signed_in(api, "bd.map").get("/map")
    assert 'data-layers="/map/layers.json"' in page.text
    assert 'id="map-alerts"' in page.text and 'id="map-seas"' in page.text
