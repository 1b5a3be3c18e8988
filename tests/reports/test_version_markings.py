"""Each version is read under its own marking: widening a marking never discloses the past.

Bangladesh's analyst files a `red` report naming India's analyst, sanitises it
and re-marks it `green`, then `clear`. A colleague who may read green, and an
observer who may read clear, must find no trace of the red text on any path
that lists versions: the API history, the report page, the STIX export of every
version, and TAXII's versions and `match[version]=all`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rsn.store import Database
from tests.factories import Api, Person, World, api_for, bimstec_world, report_payload
from tests.taxii.helpers import ACCEPT, MAIN
from tests.web.test_reports_pages import PASSWORD, cheap_argon2
from tests.web.webclient import WebClient

__all__ = ["cheap_argon2"]
SECRET = "Informant Rahim meets the recruiters at the Teknaf jetty"
SANITISED = "Recruiters active near the border"
PUBLIC = "Beware of offers of work abroad"
NO_DIST: dict[str, list[str]] = {
    "member_states": [],
    "organizations": [],
    "sharing_groups": [],
    "users": [],
}


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.colleague", "bd-cert", password=PASSWORD)
    w.person("bd.named", "bd-police", password=PASSWORD)
    w.person("bd.watch", "bd-police", role="observer", password=PASSWORD)
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def remark(api: Api, who: Person, rid: str, tlp: str, title: str) -> None:
    body = {"tlp": tlp, "distribution": NO_DIST, "title": title, "description": title}
    changed = api.patch(f"/api/v1/reports/{rid}", as_=who, json=body)
    assert changed.status_code == 200, changed.text


def sanitised(api: Api, world: World) -> str:
    """Version 1 red (naming bd.named), 2 green, 3 clear."""
    red = {**NO_DIST, "users": ["bd.named"]}
    payload = report_payload(title=SECRET, description=SECRET, tlp="red", distribution=red)
    filed = api.post("/api/v1/reports", as_=world.people["bd.analyst"], json=payload)
    assert filed.status_code == 201, filed.text
    rid = str(filed.json()["id"])
    remark(api, world.people["bd.analyst"], rid, "green", SANITISED)
    remark(api, world.people["bd.analyst"], rid, "clear", PUBLIC)
    return rid


def history(api: Api, who: Person, rid: str) -> list[int]:
    found = api.get(f"/api/v1/reports/{rid}/history", as_=who)
    assert found.status_code == 200, found.text
    return [v["version"] for v in found.json()]


def stix_reports(api: Api, who: Person, rid: str) -> list[str]:
    got = api.get("/api/v1/export?format=stix", as_=who)
    assert got.status_code == 200, got.text
    objects = json.loads(got.content)["objects"]
    return [o["name"] for o in objects if o["id"] == f"report--{rid}"]


def taxii(api: Api, who: Person, url: str, **params: Any) -> dict[str, Any]:
    got = api.get(url, as_=who, headers=ACCEPT, params=params)
    assert got.status_code == 200, got.text
    return dict(got.json())


READERS = [
    ("bd.analyst", [1, 2, 3]),  # the author
    ("bd.named", [1, 2, 3]),  # named on the red version
    ("bd.colleague", [2, 3]),  # green and clear only
    ("bd.watch", [3]),  # an observer: clear only
]


@pytest.mark.parametrize(("reader", "versions"), READERS)
def test_history_and_stix_export_keep_each_version_to_its_own_readers(
    api: Api, world: World, reader: str, versions: list[int]
) -> None:
    rid = sanitised(api, world)
    who = world.people[reader]
    assert history(api, who, rid) == versions
    titles = {1: SECRET, 2: SANITISED, 3: PUBLIC}
    assert stix_reports(api, who, rid) == [titles[v] for v in versions]
    export = api.get("/api/v1/export?format=stix", as_=who).text
    assert (SECRET in export) == (1 in versions)


@pytest.mark.parametrize(("reader", "versions"), READERS)
def test_taxii_versions_and_all_versions_follow_each_versions_marking(
    api: Api, world: World, reader: str, versions: list[int]
) -> None:
    rid = sanitised(api, world)
    who = world.people[reader]
    every = taxii(api, who, f"{MAIN}/objects/report--{rid}/", **{"match[version]": "all"})
    titles = {1: SECRET, 2: SANITISED, 3: PUBLIC}
    assert [o["name"] for o in every["objects"]] == [titles[v] for v in versions]
    listed = taxii(api, who, f"{MAIN}/objects/report--{rid}/versions/")["versions"]
    assert listed == [o["modified"] for o in every["objects"]]
    collection = taxii(api, who, f"{MAIN}/objects/", limit=1000, **{"match[version]": "all"})
    assert (SECRET in json.dumps(collection)) == (1 in versions)


def test_report_page_shows_no_red_text_to_a_green_reader(api: Api, world: World) -> None:
    rid = sanitised(api, world)
    colleague = WebClient(api.app)
    colleague.sign_in("bd.colleague", PASSWORD)
    page = colleague.get(f"/reports/{rid}")
    assert page.status_code == 200
    assert SECRET not in page.text and "Teknaf" not in page.text
    assert "Version 2" in page.text and "Version 1" not in page.text
    assert "an earlier version you may not read" in page.text
    assert SANITISED in page.text  # version 3 still shows what it changed from version 2

    named = WebClient(api.app)
    named.sign_in("bd.named", PASSWORD)
    full = named.get(f"/reports/{rid}").text
    assert SECRET in full and "you may not read" not in full


def test_a_hidden_version_between_two_readable_ones_gives_no_text_to_the_diff(
    api: Api, world: World
) -> None:
    """green, then red (a secret added), then green again: the diff skips the red version."""
    author = world.people["bd.analyst"]
    payload = report_payload(title=SANITISED, tlp="green", distribution=NO_DIST)
    rid = str(api.post("/api/v1/reports", as_=author, json=payload).json()["id"])
    red = {"tlp": "red", "distribution": {**NO_DIST, "users": ["bd.named"]}, "title": SECRET}
    assert api.patch(f"/api/v1/reports/{rid}", as_=author, json=red).status_code == 200
    remark(api, author, rid, "green", PUBLIC)
    colleague = world.people["bd.colleague"]
    assert history(api, colleague, rid) == [1, 3]
    web = WebClient(api.app)
    web.sign_in("bd.colleague", PASSWORD)
    page = web.get(f"/reports/{rid}").text
    assert SECRET not in page and "Teknaf" not in page
    assert "An earlier version you may not read came before this one" in page
    assert SANITISED in page and PUBLIC in page  # the diff from version 1 to 3


def test_narrowing_a_marking_still_hides_every_version_from_former_readers(
    api: Api, world: World
) -> None:
    author = world.people["bd.analyst"]
    payload = report_payload(title=SANITISED, tlp="green", distribution=NO_DIST)
    rid = str(api.post("/api/v1/reports", as_=author, json=payload).json()["id"])
    red = {"tlp": "red", "distribution": {**NO_DIST, "users": ["bd.named"]}, "title": SECRET}
    assert api.patch(f"/api/v1/reports/{rid}", as_=author, json=red).status_code == 200
    colleague, named = world.people["bd.colleague"], world.people["bd.named"]
    assert api.get(f"/api/v1/reports/{rid}/history", as_=colleague).status_code == 404
    assert stix_reports(api, colleague, rid) == []
    hidden = api.get(f"{MAIN}/objects/report--{rid}/versions/", as_=colleague, headers=ACCEPT)
    assert hidden.status_code == 404
    assert history(api, named, rid) == [1, 2]
    assert history(api, author, rid) == [1, 2]
