"""The OASIS `taxii2-client` against a real `rsn serve` on 127.0.0.1.

What crosses the wire: discovery, collections, paging with `next`, `added_after`,
readers of two states seeing different objects, and a POSTed envelope turning
into reports for the right readers. SQLite throughout, plus one PostgreSQL smoke test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from rsn.store import Database
from rsn.taxii import MAIN_COLLECTION
from tests.factories import Person, World
from tests.served import serve
from tests.taxii.helpers import file, group_id, observables, taxii_world
from tests.taxii.test_post import GREEN_REPORT, feed_envelope

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"


class Bearer(requests.auth.AuthBase):
    """An RSN API token on every request taxii2-client makes."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


@dataclass
class Served:
    url: str
    world: World

    def root(self, who: str) -> ApiRoot:
        return ApiRoot(f"{self.url}/taxii2/rsn/", auth=Bearer(self.world.people[who].token))

    def main(self, who: str) -> Collection:
        url = f"{self.url}/taxii2/rsn/collections/{MAIN_COLLECTION}/"
        return Collection(url, auth=Bearer(self.world.people[who].token))


@pytest.fixture
def served(sqlite_db: Database, tmp_path: Path) -> Iterator[Served]:
    world = taxii_world(sqlite_db)
    with serve(sqlite_db, tmp_path) as url:
        yield Served(url, world)


def everything(collection: Collection, per_request: int, **filters: Any) -> list[dict[str, Any]]:
    pages = list(as_pages(collection.get_objects, per_request=per_request, **filters))
    return [o for page in pages for o in page.get("objects", [])]


def reports_in(objects: list[dict[str, Any]]) -> set[str]:
    return {o["name"] for o in objects if o["type"] == "report"}


def test_taxii2_client_reads_what_each_reader_may_read(served: Served) -> None:
    world = served.world
    for i in range(5):
        addresses = observables(("ipv4-addr", f"45.3.3.{i}"), ("domain-name", f"x{i}.example"))
        file(world, "bd.analyst", title=f"Boarding {i}", observables=addresses)
    file(world, "bd.analyst", title="Own only", tlp="amber+strict", distribution={})
    file(world, "mm.analyst", title="Public", tlp="clear", distribution={}, country="MM")
    file(world, "bd.analyst", title="Group", distribution={"sharing_groups": ["bob-maritime"]})
    person: Person = world.person("in.taxii", "in-cert", password=PASSWORD)

    server = Server(f"{served.url}/taxii2/", user=person.username, password=PASSWORD)
    assert server.title and server.default is not None
    [main] = server.default.collections
    assert main.id == MAIN_COLLECTION and main.can_read and main.can_write
    coast_collections = served.root("in.coast").collections
    assert [c.id for c in coast_collections] == [MAIN_COLLECTION, group_id(world)]

    pages = list(as_pages(served.main("in.analyst").get_objects, per_request=10))
    assert len(pages) > 5 and not pages[-1]["more"]
    india = [o for page in pages for o in page.get("objects", [])]
    whole = served.main("in.analyst").get_objects(limit=1000)["objects"]
    assert {o["id"] for o in india} == {o["id"] for o in whole}  # the identity may recur
    assert reports_in(india) == {f"Boarding {i}" for i in range(5)} | {"Public"}
    myanmar = everything(served.main("mm.analyst"), 25)
    assert reports_in(myanmar) == {"Public", "Group"}
    assert not {o["id"] for o in india if o["type"] == "ipv4-addr"} & {o["id"] for o in myanmar}
    group = Collection(
        f"{served.url}/taxii2/rsn/collections/{group_id(world)}/",
        auth=Bearer(world.people["in.coast"].token),
    )
    assert reports_in(everything(group, 10)) == {"Group"}

    manifest = served.main("in.analyst").get_manifest(limit=1000)["objects"]
    last = max(m["date_added"] for m in manifest)
    file(world, "bd.analyst", title="Late boarding")
    assert reports_in(everything(served.main("in.analyst"), 4, added_after=last)) == {
        "Late boarding"
    }


def test_a_posted_envelope_reaches_the_right_readers(served: Served) -> None:
    collection = served.main("bd.analyst")
    status = collection.add_objects(feed_envelope())
    assert status.status == "complete" and status.success_count == 7 and status.failure_count == 0
    status.refresh()  # GET .../status/<id> as taxii2-client builds the URL
    assert status.success_count == 7
    duty = {o["id"] for o in everything(served.main("bd.duty"), 20) if o["type"] == "report"}
    police = {o["id"] for o in everything(served.main("bd.police"), 20) if o["type"] == "report"}
    assert len(duty) == 2 and len(police) == 1
    [green], [unmarked] = police, duty - police
    assert GREEN_REPORT not in duty  # a posted report is stored under a local id of its own
    found = served.main("bd.police").get_object(green)["objects"][0]
    assert (found["id"], found["name"]) == (green, "Boarding off Paradip")
    with pytest.raises(requests.HTTPError) as hidden:
        served.main("bd.police").get_object(unmarked)
    assert hidden.value.response is not None and hidden.value.response.status_code == 404


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_taxii2_client_on_postgresql(db: Database, tmp_path: Path) -> None:
    world = taxii_world(db)
    for i in range(3):
        file(world, "bd.analyst", title=f"Boarding {i}")
    with serve(db, tmp_path) as url:
        served = Served(url, world)
        objects = everything(served.main("in.analyst"), 5)
        assert reports_in(objects) == {f"Boarding {i}" for i in range(3)}
        assert everything(served.main("mm.analyst"), 5) == [
            o
            for o in objects
            if o["type"] in {"marking-definition", "extension-definition"}
            or o["id"] == "identity--d9630147-634e-47ee-a08c-d1148cd3dbf7"
        ]
