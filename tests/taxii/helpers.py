"""What the TAXII server tests share: a node with a sharing group, filing, and paging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from rsn.registry import service as registry
from rsn.reports import service
from rsn.reports.schemas import ReportCreate, ReportUpdate
from rsn.store import Database
from rsn.taxii import MAIN_COLLECTION, TAXII_21
from tests.factories import Api, Person, World, api_for, bimstec_world, report_payload

ACCEPT = {"Accept": TAXII_21}
ROOT = "/taxii2/rsn"
MAIN = f"{ROOT}/collections/{MAIN_COLLECTION}"
GROUP = "bob-maritime"


def taxii_world(db: Database) -> World:
    """BIMSTEC, plus a sharing group of India's coastguard and the state of Myanmar."""
    w = bimstec_world(db)
    with db.session(write=True) as s:
        group = registry.create_sharing_group(
            s, slug=GROUP, name="Bay of Bengal maritime", owner=w.orgs["in-coastguard"]
        )
        registry.set_group_members(
            s,
            group=group,
            acting_org=w.orgs["in-coastguard"],
            organizations=[w.orgs["in-coastguard"]],
            member_states=["MM"],
        )
    for name in w.people:
        w.refresh(name)
    return w


def group_id(world: World) -> str:
    with world.db.session() as s:
        return registry.get_sharing_group(s, slug=GROUP).id


def node_api(world: World, tmp_path: Path) -> Api:
    return api_for(world.db, tmp_path)


def file(world: World, who: str, **fields: Any) -> str:
    """A report filed through the service, as the API would; returns its id."""
    with world.db.session(write=True) as s:
        return service.create(
            s,
            principal=world.people[who].principal,
            data=ReportCreate.model_validate(report_payload(**fields)),
        )


def update(world: World, who: str, report_id: str, **fields: Any) -> None:
    with world.db.session(write=True) as s:
        service.update_report(
            s,
            principal=world.people[who].principal,
            report_id=report_id,
            data=ReportUpdate.model_validate(fields),
        )


def observables(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"type": t, "value": v} for t, v in pairs]


def get(api: Api, url: str, who: Person | None, **params: Any) -> httpx.Response:
    return api.get(url, as_=who, headers=ACCEPT, params=params)


def walk(
    api: Api, who: Person, url: str, limit: int, start: str | None = None, **params: Any
) -> tuple[list[dict[str, Any]], list[httpx.Response]]:
    """Every object of a collection (from `start` on), a page at a time through `next`."""
    objects: list[dict[str, Any]] = []
    pages: list[httpx.Response] = []
    more, cursor = True, start
    while more:
        extra = {"next": cursor} if cursor else {}
        page = get(api, url, who, limit=limit, **params, **extra)
        assert page.status_code == 200, page.text
        body = page.json()
        pages.append(page)
        objects.extend(body.get("objects", []))
        more, cursor = body["more"], body.get("next")
        assert len(pages) < 500, "paging did not end"
    return objects, pages


def keys(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(id, version) of each object, as TAXII tells versions apart."""
    return {(o["id"], o.get("modified") or o.get("created") or "") for o in objects}


def report_ids(objects: list[dict[str, Any]]) -> set[str]:
    return {o["id"].removeprefix("report--") for o in objects if o["type"] == "report"}
