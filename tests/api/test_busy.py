"""When the store's write lock stays taken: writers get 503 and Retry-After, readers an answer."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from rsn.registry.models import ApiToken
from rsn.reports.models import Report
from rsn.store import Database
from rsn.store import db as store_db
from tests.conftest import Clock
from tests.factories import Api, World, api_for, bimstec_world, report_payload, stamp


@pytest.fixture(autouse=True)
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_db, "WRITE_WAIT", 0.5)


@contextmanager
def writer_elsewhere(db: Database) -> Iterator[None]:
    """Another process's long write: SQLite's write lock; PostgreSQL's commit counter and tokens.

    PostgreSQL writers wait only for the rows they touch: the counter that orders
    every report write, and (here) the API tokens, as a long transaction might hold.
    """
    if db.dialect == "sqlite":
        path = db.engine.url.database
        assert path is not None
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    with psycopg.connect(db.url) as conn:
        conn.execute("SELECT value FROM counters WHERE name = 'report_seq' FOR UPDATE")
        conn.execute("SELECT id FROM api_tokens FOR UPDATE")
        yield
        conn.rollback()


def reports(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(world: World, tmp_path: Path) -> Api:
    return api_for(world.db, tmp_path)


def test_a_writer_that_cannot_get_the_lock_gets_503_with_retry_after(
    world: World, api: Api
) -> None:
    analyst = world.people["bd.analyst"]
    assert api.post("/api/v1/reports", as_=analyst, json=report_payload()).status_code == 201
    with writer_elsewhere(world.db):
        busy = api.post("/api/v1/reports", as_=analyst, json=report_payload(title="Later"))
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "1"
    assert "busy" in busy.json()["detail"]
    assert reports(world.db) == 1  # nothing of the refused request was stored
    again = api.post("/api/v1/reports", as_=analyst, json=report_payload(title="Later"))
    assert again.status_code == 201


def test_a_reader_is_answered_while_the_lock_is_taken(world: World, api: Api) -> None:
    """A token's first use is due a last-used note; the note waits, the read does not."""
    reader = world.people["in.analyst"]
    with writer_elsewhere(world.db):
        assert api.get("/api/v1/reports", as_=reader).status_code == 200
        assert api.get("/taxii2/", as_=reader).status_code == 200
    with world.db.session() as s:
        token = s.scalar(select(ApiToken).where(ApiToken.user_id == reader.user.id))
        assert token is not None and token.last_used_at is None
    assert api.get("/api/v1/reports", as_=reader).status_code == 200
    with world.db.session() as s:
        token = s.scalar(select(ApiToken).where(ApiToken.user_id == reader.user.id))
        assert token is not None and token.last_used_at is not None


def test_an_import_that_cannot_begin_gets_503_and_stores_nothing(
    sqlite_db: Database, tmp_path: Path, clock: Clock
) -> None:
    """SQLite only: on PostgreSQL an import begins beside other writers, without a store lock."""
    world = bimstec_world(sqlite_db)
    api = api_for(sqlite_db, tmp_path)
    analyst = world.people["bd.analyst"]
    when = stamp(clock.now - timedelta(days=1))
    body = (
        "title,category,country,occurred_at,severity,confidence,tlp\r\n"
        f"T,cyber.attack,BD,{when},high,55,green\r\n"
    ).encode()
    with writer_elsewhere(world.db):
        busy = api.post("/api/v1/import", as_=analyst, content=body, params={"format": "csv"})
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert reports(world.db) == 0
    done = api.post("/api/v1/import", as_=analyst, content=body, params={"format": "csv"})
    assert done.status_code == 200 and done.json()["created"] == 1


def test_a_read_that_discloses_waits_for_its_record_rather_than_fail(
    world: World, api: Api
) -> None:
    """Listing another organization's green report is recorded; the read waits for the lock."""
    filed = api.post("/api/v1/reports", as_=world.people["bd.analyst"], json=report_payload())
    assert filed.status_code == 201
    reader = world.people["in.analyst"]
    assert api.get("/api/v1/reports", as_=reader).status_code == 200  # its token noted
    taken, released = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with writer_elsewhere(world.db):
            taken.set()
            time.sleep(1.5)  # three times WRITE_WAIT
        released.set()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    taken.wait()
    answer = api.get("/api/v1/reports", as_=reader)
    holder.join()
    assert answer.status_code == 200
    assert [r["id"] for r in answer.json()["items"]] == [filed.json()["id"]]
