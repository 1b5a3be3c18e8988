"""`rsn taxii pull` against the OASIS reference server (medallion, memory backend)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from taxii2client.v21 import Collection
from typer.testing import CliRunner

from rsn.cli.main import app
from rsn.config import Settings
from rsn.interop import outbound, stix
from rsn.interop.model import ExportContext
from rsn.interop.taxii_state import PullCursor
from rsn.node import Node
from rsn.reports import service
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import World, bimstec_world, report_payload

pytestmark = pytest.mark.slow

COLLECTION = "365fed99-08fa-fdcd-a1b3-fb247eb41d01"
USER, PASSWORD = "puller", "Medallion-Password-1"
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[str]:
    """A medallion server on 127.0.0.1 with one empty, writable collection."""
    port = free_port()
    root = f"http://127.0.0.1:{port}/rsn-peer/"
    data = {
        "/discovery": {"title": "peer", "default": root, "api_roots": [root]},
        "rsn-peer": {
            "information": {
                "title": "peer root",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 50_000_000,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION,
                    "title": "shared reports",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(tmp_path / "data.json"),
        },
        "users": {USER: PASSWORD},
        "taxii": {"max_page_size": 100},
    }
    (tmp_path / "medallion.json").write_text(json.dumps(config))
    medallion_bin = str(Path(sys.executable).with_name("medallion"))
    proc = subprocess.Popen(
        [
            medallion_bin,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            str(tmp_path / "medallion.json"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/taxii2/", proc)
        yield root
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "medallion exited"
        try:
            httpx.get(url, auth=(USER, PASSWORD), timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("medallion did not start")


def publish(world: World, who: str, root: str, **fields: Any) -> str:
    """File a report on the source node and post its STIX objects to medallion."""
    person = world.people[who]
    with world.db.session(write=True) as s:
        rid = service.create(
            s,
            principal=person.principal,
            data=ReportCreate.model_validate(report_payload(**fields)),
        )
    with world.db.session() as s:
        [item] = outbound.items(s, principal=person.principal, report_ids=[rid])
    objects = stix.objects_for(item, ExportContext("source-node"))
    # medallion's memory backend cannot serve extension-definition objects (STANDARDS.md).
    objects = [o for o in objects if o["type"] != "extension-definition"]
    collection = Collection(f"{root}collections/{COLLECTION}/", user=USER, password=PASSWORD)
    status = collection.add_objects({"objects": objects}, wait_for_completion=True, timeout=20)
    # medallion answers "failure" for an object it already holds (the shared identity, say).
    answered = {f["id"] for f in status.failures} | {s["id"] for s in status.successes}
    assert {o["id"] for o in objects} <= answered
    assert f"report--{rid}" in {s["id"] for s in status.successes}
    return rid


def pull(target: Path, *extra: str) -> str:
    args = ["taxii", "pull", *extra, "--as", "in.analyst", "--username", USER]
    args += ["--data-dir", str(target)]
    result = runner.invoke(app, args, env={"RSN_TAXII_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    return result.output


def test_pull_imports_and_resumes(medallion: str, tmp_path: Path) -> None:
    source = bimstec_world(_node_db(tmp_path / "source"))
    target_dir = tmp_path / "target"
    target_db = _node_db(target_dir)
    bimstec_world(target_db)
    first = publish(source, "bd.analyst", medallion, title="first", tlp="green", distribution={})
    out = pull(target_dir, medallion, "--collection", COLLECTION)
    assert "1 created" in out
    second = publish(source, "bd.analyst", medallion, title="second", tlp="clear", distribution={})
    out = pull(target_dir, medallion, "--collection", COLLECTION)
    assert "1 created" in out and "0 unchanged" in out  # only what was added since
    out = pull(target_dir, medallion, "--collection", COLLECTION)
    assert "Fetched 0 objects" in out
    out = pull(target_dir, medallion, "--collection", COLLECTION, "--since", "2000-01-01T00:00:00Z")
    assert "0 created" in out and "2 unchanged" in out  # the same objects twice change nothing
    with target_db.session() as s:
        titles = dict(s.execute(select(Report.id, Report.title)).all())
        cursor = s.scalar(select(PullCursor.added_after))
        assert s.scalar(select(func.count()).select_from(PullCursor)) == 1
    assert sorted(titles.values()) == ["first", "second"]
    assert not {first, second} & titles.keys()  # foreign reports get ids of their own
    assert cursor is not None
    target_db.dispose()
    source.db.dispose()


def _node_db(data_dir: Path) -> Database:
    """A fresh SQLite node in `data_dir` (the pull's own transaction is store-agnostic)."""
    settings = Settings.for_data_dir(data_dir)
    Node(settings).db.dispose()
    return Database(settings.database_url)


def test_pull_from_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    bimstec_world(_node_db(tmp_path / "t")).db.dispose()
    port = free_port()
    target = str(tmp_path / "t")
    url = f"http://127.0.0.1:{port}/x/"
    args = ["taxii", "pull", url, "--collection", "c", "--as", "in.analyst", "--data-dir", target]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "is not a TAXII 2.1 API root" in result.output
