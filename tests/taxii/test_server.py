"""The TAXII 2.1 server in process: resources, negotiation, errors, auth, paging, filters.

Bangladesh (bd-cert) files AMBER reports to India; India's coastguard and the
state of Myanmar form the sharing group `bob-maritime`. What each reader gets is
compared with what `rsn.sharing` allows, and paging with one big page.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update as update_

from rsn import clock
from rsn.audit.models import AuditRecord
from rsn.interop.stix.ext import sco
from rsn.reports.models import ReportVersion
from rsn.store import Database
from rsn.taxii import MAIN_COLLECTION, STIX_21, TAXII_21
from tests.factories import Api, World
from tests.taxii.helpers import (
    ACCEPT,
    MAIN,
    ROOT,
    file,
    get,
    group_id,
    keys,
    node_api,
    observables,
    report_ids,
    taxii_world,
    update,
    walk,
)

PHONE = ("phone-number", "+8801712345678")


@pytest.fixture
def world(db: Database) -> World:
    return taxii_world(db)


@pytest.fixture
def api(world: World, tmp_path: Path) -> Api:
    return node_api(world, tmp_path)


def test_discovery_api_root_and_collections(world: World, api: Api) -> None:
    bd, coast, watch = (world.people[n] for n in ("bd.analyst", "in.coast", "in.watch"))
    found = get(api, "/taxii2/", bd)
    assert found.status_code == 200 and found.headers["content-type"] == TAXII_21
    assert found.json()["api_roots"] == [f"http://rsn.test{ROOT}/"]
    assert found.json()["default"] == f"http://rsn.test{ROOT}/"
    root = get(api, f"{ROOT}/", bd).json()
    assert root["versions"] == [TAXII_21] and root["max_content_length"] > 1_000_000

    mine = get(api, f"{ROOT}/collections/", bd).json()["collections"]
    assert [(c["id"], c["can_read"], c["can_write"]) for c in mine] == [
        (MAIN_COLLECTION, True, True)
    ]
    assert mine[0]["media_types"] == [STIX_21]
    group = group_id(world)
    theirs = get(api, f"{ROOT}/collections/", coast).json()["collections"]
    assert [(c["id"], c["can_write"]) for c in theirs] == [(MAIN_COLLECTION, True), (group, False)]
    observer = get(api, f"{ROOT}/collections/", watch).json()["collections"]
    assert [(c["id"], c["can_write"]) for c in observer] == [(MAIN_COLLECTION, False)]
    assert get(api, f"{ROOT}/collections/{group}/", coast).json()["id"] == group
    hidden = get(api, f"{ROOT}/collections/{group}/", bd)
    assert hidden.status_code == 404 and hidden.json()["http_status"] == "404"


NEGOTIATION = [
    (TAXII_21, 200),
    ("application/taxii+json", 200),
    ("application/taxii+json; version=2.1", 200),
    ("*/*", 200),
    ("text/html, application/taxii+json;version=2.1;q=0.5", 200),
    ("application/json", 406),
    ("application/taxii+json;version=2.0", 406),
    ("application/taxii+json;version=2.1;q=0", 406),
    ("application/stix+json;version=2.1", 406),
]


def test_media_type_negotiation(sqlite_db: Database, tmp_path: Path) -> None:
    world = taxii_world(sqlite_db)
    api = node_api(world, tmp_path)
    for accept, status in NEGOTIATION:
        answer = api.get(
            f"{MAIN}/objects/", as_=world.people["bd.analyst"], headers={"Accept": accept}
        )
        assert answer.status_code == status, (accept, answer.text)
        assert answer.headers["content-type"] == TAXII_21
        if status == 406:
            assert set(answer.json()) == {"title", "description", "http_status"}
            assert answer.json()["http_status"] == "406"


def test_errors_are_taxii_error_messages(world: World, api: Api) -> None:
    bd = world.people["bd.analyst"]
    cases = [
        (api.get(f"{MAIN}/objects/", headers=ACCEPT), 401),
        (api.get(f"{MAIN}/objects/", headers={**ACCEPT, "Authorization": "Bearer rsn_x_y"}), 401),
        (get(api, f"{ROOT}/collections/0a5fb4d2-0000-4000-8000-000000000000/objects/", bd), 404),
        (get(api, f"{MAIN}/objects/", bd, next="not a cursor"), 400),
        (get(api, f"{MAIN}/objects/", bd, added_after="yesterday"), 400),
        (get(api, f"{MAIN}/objects/", bd, added_after="2026-11-01T00:00:00"), 400),
        (get(api, f"{MAIN}/objects/", bd, **{"match[version]": "newest"}), 400),
        (get(api, f"{MAIN}/objects/", bd, limit=0), 400),
        (get(api, f"{ROOT}/nothing-here/", bd), 404),
        (get(api, "/taxii2/other-root/", bd), 404),
        (api.request("DELETE", f"{MAIN}/objects/", as_=bd, headers=ACCEPT), 405),
    ]
    for answer, status in cases:
        assert answer.status_code == status, (status, answer.text)
        assert answer.headers["content-type"] == TAXII_21
        body = answer.json()
        assert body["http_status"] == str(status) and body["title"] and body["description"]
    unauthenticated = cases[0][0]
    challenge = unauthenticated.headers["www-authenticate"]
    assert "Basic" in challenge and "Bearer" in challenge
    assert "added_after" in cases[4][0].json()["description"]


def test_basic_auth_checks_and_throttles_like_the_sign_in(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """SQLite only: each try is an argon2 check, and the throttle is the sign-in's own."""
    world = taxii_world(sqlite_db)
    api = node_api(world, tmp_path)
    world.person("bd.taxii", "bd-cert", password="correct horse battery staple")

    def basic(user: str, password: str) -> int:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers = {**ACCEPT, "Authorization": f"Basic {token}"}
        return api.get(f"{ROOT}/collections/", headers=headers).status_code

    assert basic("bd.taxii", "correct horse battery staple") == 200
    assert basic("BD.Taxii", "correct horse battery staple") == 200
    assert basic("bd.taxii", "wrong") == 401
    assert basic("nobody", "wrong") == 401
    garbled = api.get(f"{ROOT}/", headers={**ACCEPT, "Authorization": "Basic !!!"})
    assert garbled.status_code == 401
    for _ in range(4):
        basic("bd.taxii", "wrong")
    assert basic("bd.taxii", "correct horse battery staple") == 401  # throttled for a while


def test_paging_is_complete_and_stable_while_reports_arrive(world: World, api: Api) -> None:
    bd, india = world.people["bd.analyst"], world.people["in.analyst"]
    for i in range(6):
        file(
            world,
            "bd.analyst",
            title=f"Boarding {i}",
            observables=observables(
                ("ipv4-addr", f"45.9.8.{i}"), ("domain-name", f"c2-{i}.example")
            ),
        )
    first = get(api, f"{MAIN}/objects/", india, limit=9).json()
    late = file(world, "bd.analyst", title="Late boarding", observables=observables(PHONE))
    rest, pages = walk(api, india, f"{MAIN}/objects/", 9, start=first["next"])
    paged = first["objects"] + rest
    whole = get(api, f"{MAIN}/objects/", india, limit=1000).json()
    assert whole["more"] is False and "next" not in whole
    assert keys(paged) == keys(whole["objects"])
    assert late in report_ids(paged) and len(report_ids(paged)) == 7
    assert all(len(p.json().get("objects", [])) <= 9 for p in pages)
    assert pages[-1].json()["more"] is False
    dates = [
        (p.headers["x-taxii-date-added-first"], p.headers["x-taxii-date-added-last"]) for p in pages
    ]
    assert all(a <= b for a, b in dates) and dates == sorted(dates)
    assert get(api, f"{MAIN}/objects/", bd, limit=5000).json()["more"] is False  # capped


def test_added_after_brings_only_what_is_new_or_changed(world: World, api: Api) -> None:
    india = world.people["in.analyst"]
    old = file(world, "bd.analyst", title="Old boarding")
    kept = file(world, "bd.analyst", title="Unchanged boarding")
    _, pages = walk(api, india, f"{MAIN}/objects/", 100)
    last = pages[-1].headers["x-taxii-date-added-last"]
    assert get(api, f"{MAIN}/objects/", india, added_after=last).json() == {"more": False}
    new = file(world, "bd.analyst", title="New boarding")
    update(world, "bd.analyst", old, title="Old boarding, corrected")
    fresh, _ = walk(api, india, f"{MAIN}/objects/", 3, added_after=last)
    assert report_ids(fresh) == {new, old} and kept not in report_ids(fresh)
    assert not [o for o in fresh if o["type"] == "marking-definition"]
    names = {o["name"] for o in fresh if o["type"] == "report"}
    assert names == {"New boarding", "Old boarding, corrected"}


def test_added_after_on_a_long_history(world: World, api: Api) -> None:
    """Reports added hours apart: the walk starts near the new ones and misses none."""
    india = world.people["in.analyst"]
    ids = [file(world, "bd.analyst", title=f"Boarding {i}") for i in range(12)]
    now = clock.now()
    with world.db.session(write=True) as s:
        for i, rid in enumerate(ids):  # the first eight long ago, the rest in the last hour
            when = now - (timedelta(hours=30 - i) if i < 8 else timedelta(minutes=40 - i))
            s.execute(
                update_(ReportVersion).where(ReportVersion.report_id == rid).values(date_added=when)
            )
    since = (now - timedelta(hours=2)).isoformat()
    fresh, _ = walk(api, india, f"{MAIN}/objects/", 4, added_after=since)
    assert report_ids(fresh) == set(ids[8:])
    middle = (now - timedelta(hours=25, minutes=30)).isoformat()
    assert report_ids(walk(api, india, f"{MAIN}/objects/", 50, added_after=middle)[0]) == set(
        ids[5:]
    )


def test_match_filters(world: World, api: Api) -> None:
    india = world.people["in.analyst"]
    rid = file(world, "bd.analyst", title="v1", observables=observables(("ipv4-addr", "45.1.1.1")))
    update(world, "bd.analyst", rid, title="v2")
    update(world, "bd.analyst", rid, title="v3")
    other = file(world, "bd.analyst", title="Other", observables=observables(PHONE))

    def objects(**params: str) -> list[dict[str, Any]]:
        answer = get(api, f"{MAIN}/objects/", india, limit=1000, **params)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json().get("objects", [])
        return found

    reports = objects(**{"match[type]": "report"})
    assert {o["type"] for o in reports} == {"report"} and report_ids(reports) == {rid, other}
    assert [o["name"] for o in reports if o["id"] == f"report--{rid}"] == ["v3"]
    one = {"match[id]": f"report--{rid}"}
    every = objects(**one, **{"match[version]": "all"})
    assert [o["name"] for o in every] == ["v1", "v2", "v3"]
    assert [o["name"] for o in objects(**one, **{"match[version]": "first"})] == ["v1"]
    assert [o["name"] for o in objects(**one, **{"match[version]": "first,last"})] == ["v1", "v3"]
    v2 = str(every[1]["modified"])
    assert [o["name"] for o in objects(**one, **{"match[version]": v2})] == ["v2"]
    assert objects(**one, **{"match[spec_version]": "2.0"}) == []
    assert len(objects(**one, **{"match[spec_version]": "2.1,2.0"})) == 1
    mixed = objects(**{"match[type]": "indicator,ipv4-addr"})
    assert sorted(o["type"] for o in mixed) == ["indicator", "ipv4-addr"]
    address = sco("ipv4-addr", "45.1.1.1")["id"]
    assert [o["id"] for o in objects(**{"match[id]": address})] == [address]


def test_manifest_object_and_versions_endpoints(world: World, api: Api) -> None:
    india = world.people["in.analyst"]
    rid = file(world, "bd.analyst", title="v1")
    update(world, "bd.analyst", rid, title="v2")
    objects = get(api, f"{MAIN}/objects/", india, limit=1000).json()["objects"]
    manifest = get(api, f"{MAIN}/manifest/", india, limit=1000).json()["objects"]
    assert [(m["id"], m["version"]) for m in manifest] == [
        (o["id"], o.get("modified") or o.get("created") or m["date_added"])
        for o, m in zip(objects, manifest, strict=True)
    ]
    assert {m["media_type"] for m in manifest} == {STIX_21}
    one = get(api, f"{MAIN}/objects/report--{rid}/", india).json()["objects"]
    assert [o["name"] for o in one] == ["v2"]
    both = get(api, f"{MAIN}/objects/report--{rid}/", india, **{"match[version]": "all"})
    assert [o["name"] for o in both.json()["objects"]] == ["v1", "v2"]
    versions = get(api, f"{MAIN}/objects/report--{rid}/versions/", india).json()
    assert versions["versions"] == [o["modified"] for o in both.json()["objects"]]
    assert versions["more"] is False


def test_each_reader_gets_what_sharing_allows_and_no_trace_of_the_rest(
    world: World, api: Api
) -> None:
    india, myanmar, coast = (world.people[n] for n in ("in.analyst", "mm.analyst", "in.coast"))
    secret_ip = ("ipv4-addr", "45.77.77.77")
    to_india = file(world, "bd.analyst", title="To India", observables=observables(secret_ip))
    own = file(world, "bd.analyst", title="Own only", tlp="amber+strict", distribution={})
    public = file(world, "mm.analyst", title="Public", tlp="clear", distribution={}, country="MM")
    grouped = file(
        world,
        "bd.analyst",
        title="To the maritime group",
        distribution={"sharing_groups": ["bob-maritime"]},
    )
    seen = {
        who.username: report_ids(walk(api, who, f"{MAIN}/objects/", 50)[0])
        for who in (india, myanmar, coast)
    }
    assert seen == {
        "in.analyst": {to_india, public},
        "mm.analyst": {public, grouped},
        "in.coast": {to_india, public, grouped},
    }
    group = f"{ROOT}/collections/{group_id(world)}"
    assert report_ids(walk(api, coast, f"{group}/objects/", 50)[0]) == {grouped}
    assert report_ids(walk(api, myanmar, f"{group}/objects/", 50)[0]) == {grouped}
    assert get(api, f"{group}/objects/", india).status_code == 404

    address = sco(*secret_ip)["id"]
    assert get(api, f"{MAIN}/objects/", india, **{"match[id]": address}).json()["objects"]
    hidden = get(api, f"{MAIN}/objects/", myanmar, **{"match[id]": address})
    absent = get(
        api, f"{MAIN}/objects/", myanmar, **{"match[id]": sco("ipv4-addr", "9.9.9.9")["id"]}
    )
    assert hidden.json() == absent.json() == {"more": False}
    for path in (f"objects/{address}/", f"objects/report--{own}/versions/"):
        answer = get(api, f"{MAIN}/{path}", myanmar)
        assert answer.status_code == 404 and answer.json()["title"] == "Not Found"
        nothing = get(
            api, f"{MAIN}/{path.replace(address, 'ipv4-addr--0').replace(own, '0')}", myanmar
        )
        assert nothing.status_code == 404


def test_disclosures_are_audited_once_per_page(world: World, api: Api) -> None:
    india, bd = world.people["in.analyst"], world.people["bd.analyst"]
    amber = file(world, "bd.analyst", title="Amber to India")
    clear = file(world, "bd.analyst", title="Clear", tlp="clear", distribution={})

    def records() -> list[tuple[str, list[str]]]:
        with world.db.session() as s:
            query = select(AuditRecord.actor, AuditRecord.item_ids).where(
                AuditRecord.action == "report.taxii"
            )
            return [(a, list(i)) for a, i in s.execute(query.order_by(AuditRecord.id))]

    get(api, f"{MAIN}/objects/", bd, limit=1000)  # the originator's own reports
    get(api, f"{MAIN}/objects/", india, limit=5)  # only the node's definitions
    assert records() == []
    get(api, f"{MAIN}/objects/", india, limit=1000)
    assert records() == [("in.analyst", [amber])] and clear != amber
