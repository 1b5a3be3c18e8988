"""Every parser refuses, while it streams, a file past the limits of `rsn.interop.limits`.

Each refusal is a 4xx naming the place, and stores nothing; the same file just
within a limit goes through. A 200 KB file of 100,000 nested arrays once took
the node past 20 GB: it is read here in a process with 512 MB of address space.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.interop import limits
from rsn.reports.models import Report
from rsn.store import Database
from rsn.taxii import TAXII_21
from tests.factories import Api, World, api_for, bimstec_world, days_ago, stamp
from tests.taxii.helpers import ACCEPT, MAIN

DEEP = "@deep@"


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(world: World, tmp_path: Path) -> Api:
    return api_for(world.db, tmp_path)


def reports(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


def malware(**props: Any) -> dict[str, Any]:
    when = stamp(days_ago(3))
    return {
        "type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}",
        "created": when, "modified": when, "name": "SeaRat", "is_family": False, **props,
    }  # fmt: skip


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}


def misp_event(**props: Any) -> dict[str, Any]:
    attribute = {"type": "domain", "value": "phish.example"}
    event = {"info": "Phishing wave", "date": str(days_ago(3).date()), "Attribute": [attribute]}
    return {"Event": {**event, **props}}


def deepened(document: dict[str, Any], arrays: int) -> bytes:
    """The document with its `@deep@` value replaced by `arrays` nested empty lists."""
    return json.dumps(document).replace(f'"{DEEP}"', "[" * arrays + "]" * arrays).encode()


def taxii_post(api: Api, world: World, body: bytes) -> Any:
    headers = {**ACCEPT, "Content-Type": TAXII_21}
    who = world.people["bd.analyst"]
    return api.post(f"{MAIN}/objects/", as_=who, content=body, headers=headers)


def rest_import(api: Api, world: World, body: bytes) -> Any:
    return api.post("/api/v1/import", as_=world.people["in.analyst"], content=body)


def refused(answer: Any, status: int, field: str, words: str) -> None:
    assert answer.status_code == status, answer.text
    assert field in answer.text and words in answer.text, answer.text


# The bundle (1), its objects list (2) and an object (3) hold 61 lists: 64 levels.
def test_stix_import_takes_64_levels_and_refuses_65_naming_the_property(
    world: World, api: Api
) -> None:
    document = bundle(malware(x_deep=DEEP))
    answer = rest_import(api, world, deepened(document, 62))
    refused(answer, 422, "objects[0].x_deep[0]", "nested deeper than 64 levels")
    assert reports(world) == 0
    answer = rest_import(api, world, deepened(document, 61))
    assert answer.status_code == 200, answer.text
    assert reports(world) == 1


def test_misp_import_takes_64_levels_and_refuses_65_naming_the_property(
    world: World, api: Api
) -> None:
    document = misp_event(x_deep=DEEP)  # the wrapper (1) and the event (2) hold 62 lists
    answer = rest_import(api, world, deepened(document, 63))
    refused(answer, 422, "Event.x_deep[0]", "nested deeper than 64 levels")
    assert reports(world) == 0
    answer = rest_import(api, world, deepened(document, 62))
    assert answer.status_code == 200, answer.text
    assert reports(world) == 1


def test_taxii_post_takes_64_levels_and_refuses_65_naming_the_property(
    world: World, api: Api
) -> None:
    document = {"objects": [malware(x_deep=DEEP)]}
    refused(taxii_post(api, world, deepened(document, 62)), 400, "objects[0].x_deep[0]", "64")
    assert reports(world) == 0
    answer = taxii_post(api, world, deepened(document, 61))
    assert answer.status_code == 202 and answer.json()["success_count"] == 1, answer.text
    assert reports(world) == 1


def test_too_many_objects_are_refused_in_every_format(
    world: World, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_OBJECTS", 2)
    three = [malware(), malware(), malware()]
    refused(
        rest_import(api, world, json.dumps(bundle(*three)).encode()), 422, "objects[2]", "at most 2"
    )
    events = json.dumps({"response": [misp_event()] * 3}).encode()
    refused(rest_import(api, world, events), 422, "Event[2]", "at most 2")
    refused(
        taxii_post(api, world, json.dumps({"objects": three}).encode()),
        400,
        "objects[2]",
        "at most 2",
    )
    row = f"scan,cyber.attack,IN,{stamp(days_ago(2))},high,70,green\n"
    rows = ("title,category,country,occurred_at,severity,confidence,tlp\n" + row * 3).encode()
    refused(rest_import(api, world, rows), 422, "rows[2]", "at most 2")
    assert reports(world) == 0


def test_a_too_long_string_is_refused_naming_its_property(world: World, api: Api) -> None:
    long = "a" * (limits.MAX_STRING + 1)
    body = json.dumps(bundle(malware(description=long))).encode()
    refused(rest_import(api, world, body), 422, "objects[0].description", "string longer than")
    refused(taxii_post(api, world, body), 400, "objects[0].description", "string longer than")
    events = json.dumps(misp_event(info=long)).encode()
    refused(rest_import(api, world, events), 422, "Event.info", "string longer than")
    assert reports(world) == 0


def test_a_too_large_upload_is_refused_with_413(
    world: World, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_UPLOAD", 1000)
    body = json.dumps(bundle(*[malware() for _ in range(10)])).encode()
    refused(rest_import(api, world, body), 413, "file", "larger than")
    monkeypatch.setattr(limits, "MAX_ENVELOPE", 1000)
    refused(taxii_post(api, world, body), 413, "envelope", "max_content_length")
    assert reports(world) == 0


def test_a_csv_line_past_the_limit_is_refused_before_it_is_read_whole(
    world: World, api: Api
) -> None:
    header = "title,category,country,occurred_at,severity,confidence,tlp\n"
    body = (header + "x" * (limits.MAX_LINE + 1) + "\n").encode()
    refused(rest_import(api, world, body), 422, "file", "line 2 is longer than")
    assert reports(world) == 0


def test_cap_refuses_deep_xml_with_lxml_limits_on(world: World, api: Api) -> None:
    depth = 100_000
    inner = "<a>" * depth + "</a>" * depth
    body = f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">{inner}</alert>'
    refused(rest_import(api, world, body.encode()), 422, "file", "not well-formed XML")
    assert reports(world) == 0


CHILD = """
import io, sys
from rsn.errors import RSNError
from rsn.interop import misp
from rsn.interop.stix import reading as stix_in
from rsn.interop.model import ImportContext
from rsn.taxii import media
data = sys.stdin.buffer.read()
context = ImportContext(importer_org="in-cert", default_country="IN", categories=frozenset())
readers = {
    "stix": lambda: list(stix_in.parse(io.BytesIO(data), context)),
    "misp": lambda: list(misp.parse(io.BytesIO(data), context)),
    "taxii": lambda: media.envelope_objects(data),
}
try:
    readers[sys.argv[1]]()
except RSNError as exc:
    print("refused:", exc)
"""


def _capped() -> None:
    """In the child only: 512 MB of address space, so a blow-up ends in MemoryError."""
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


CAP = 512 * 2**20  # bytes of address space


@pytest.mark.parametrize(
    ("reader", "document"),
    [
        ("stix", {"type": "bundle", "objects": [{"x": DEEP}]}),
        ("misp", {"Event": {"info": "deep", "x": DEEP}}),
        ("taxii", {"objects": [DEEP]}),
    ],
)
def test_100000_levels_are_refused_within_512_mb(reader: str, document: dict[str, Any]) -> None:
    data = deepened(document, 100_000)
    assert len(data) < 210_000
    done = subprocess.run(
        [sys.executable, "-c", CHILD, reader],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
        preexec_fn=_capped,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert "nested deeper than 64 levels" in done.stdout.decode(), done.stdout
