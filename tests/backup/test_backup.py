"""`rsn backup` and `rsn restore`: restored into an empty node of either store, the same node."""

from __future__ import annotations

import io
import json
import stat
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from rsn.audit.keys import MAC_KEY_NAME, SIGNING_KEY_NAME
from rsn.cli.main import app
from rsn.registry import approvals
from rsn.registry import service as registry
from rsn.registry.models import User
from rsn.reports.models import Report
from rsn.sharing.models import SharingGrant
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world, report_payload

runner = CliRunner()


def rsn(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def node_args(url: str, data_dir: Path) -> list[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "rsn.toml"
    config.write_text(f'[node]\ndatabase_url = "{url}"\ndata_dir = "{data_dir}"\n')
    return ["--config", str(config)]


@pytest.fixture
def new_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty PostgreSQL database: no schema, no rows."""
    server = request.getfixturevalue("pg_server")
    name = f"rsn_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def target_url(db: Database, into: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database on the store `into` names, relative to the source's."""
    sqlite = (db.dialect == "sqlite") == (into == "same")
    if sqlite:
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    return str(request.getfixturevalue("new_postgres"))


@pytest.fixture
def world(db: Database) -> World:
    """With a focal point and a request waiting: the registry refers to itself both ways."""
    w = bimstec_world(db)
    with db.session(write=True) as s:
        police = registry.get_organization(s, slug="bd-police")
        approvals.set_focal_point(s, organization=police)
        approvals.request_member(
            s,
            by=registry.get_user(s, username="bd.admin"),
            username="bd.asked",
            display_name="Asked For",
            organization=registry.get_organization(s, slug="bd-cert"),
            role="analyst",
        )
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path / "source")


def filed(api: Api, world: World) -> str:
    made = api.post("/api/v1/reports", as_=world.people["bd.analyst"], json=report_payload())
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Report, User, SharingGrant)
        )


def read_as(api: Api, world: World, who: str, rid: str) -> tuple[int, Any]:
    got = api.get(f"/api/v1/reports/{rid}", as_=world.people[who])
    return got.status_code, got.json()


def search_as(api: Api, world: World, who: str) -> list[str]:
    got = api.get("/api/v1/reports?q=Bazar", as_=world.people[who])
    assert got.status_code == 200, got.text
    return sorted(item["id"] for item in got.json()["items"])


@pytest.mark.parametrize("into", ["same", "other"])
def test_a_backup_restores_into_an_empty_node_of_either_store(
    db: Database,
    tmp_path: Path,
    world: World,
    api: Api,
    into: str,
    request: pytest.FixtureRequest,
) -> None:
    rid = filed(api, world)
    original = read_as(api, world, "in.analyst", rid)
    assert original[0] == 200
    found = search_as(api, world, "bd.analyst")
    assert read_as(api, world, "mm.analyst", rid)[0] == 404
    source = node_args(db.url, tmp_path / "source")
    copy = tmp_path / "node.rsnbackup"
    code, said = rsn("backup", "-o", str(copy), *source)
    assert code == 0, said
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600

    url = target_url(db, into, tmp_path, request)
    target = node_args(url, tmp_path / "restored")
    code, said = rsn("restore", str(copy), *target)
    assert code == 0, said
    code, said = rsn("audit", "verify", *target)
    assert code == 0 and "intact" in said, said
    for name in (MAC_KEY_NAME, SIGNING_KEY_NAME):
        assert stat.S_IMODE((tmp_path / "restored" / name).stat().st_mode) == 0o600

    restored = Database(url)
    try:
        assert counts(restored) == counts(db)
        again = api_for(restored, tmp_path / "restored")
        assert read_as(again, world, "in.analyst", rid) == original
        assert read_as(again, world, "mm.analyst", rid)[0] == 404  # still hidden from Myanmar
        assert search_as(again, world, "bd.analyst") == found == [rid]
        assert filed(again, world) != rid  # the restored node files on
        with restored.session() as s:
            asked = registry.get_user(s, username="bd.asked")
            assert asked.pending and asked.disabled
            assert approvals.focal_point(s, "BD").slug == "bd-police"  # type: ignore[union-attr]
    finally:
        restored.dispose()


def test_restore_refuses_a_node_that_is_not_empty_unless_forced(
    db: Database, tmp_path: Path, world: World, api: Api
) -> None:
    rid = filed(api, world)
    source = node_args(db.url, tmp_path / "source")
    copy = tmp_path / "node.rsnbackup"
    assert rsn("backup", "-o", str(copy), *source)[0] == 0
    later = filed(api, world)
    code, said = rsn("restore", str(copy), *source)
    assert code == 1 and "not empty" in said and "--force" in said
    assert read_as(api, world, "bd.analyst", later)[0] == 200  # nothing was touched
    code, said = rsn("restore", str(copy), "--force", *source)
    assert code == 0, said
    assert read_as(api, world, "bd.analyst", later)[0] == 404
    assert read_as(api, world, "bd.analyst", rid)[0] == 200
    assert rsn("audit", "verify", *source)[0] == 0


def test_restore_refuses_a_backup_of_a_newer_schema(
    db: Database, tmp_path: Path, world: World, api: Api
) -> None:
    filed(api, world)
    copy = tmp_path / "node.rsnbackup"
    assert rsn("backup", "-o", str(copy), *node_args(db.url, tmp_path / "source"))[0] == 0
    newer = tmp_path / "newer.rsnbackup"
    with tarfile.open(copy, "r:gz") as old, tarfile.open(newer, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member)
            assert data is not None
            body = data.read()
            if member.name == "manifest.json":
                body = json.dumps({**json.loads(body), "revision": "9999"}).encode()
                member.size = len(body)
            new.addfile(member, io.BytesIO(body))
    target = node_args(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path / "empty")
    code, said = rsn("restore", str(newer), *target)
    assert code == 1 and "'9999', newer than this RSN" in " ".join(said.split())
    assert not (tmp_path / "empty" / MAC_KEY_NAME).exists()
