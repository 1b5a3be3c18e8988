"""Stores for every test: a real SQLite file and a real PostgreSQL database.

Each store is migrated once per session with Alembic (the schema the app runs
on), then emptied between tests. `db` is parametrised over both, so every test
that touches the store runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text

import rsn.models  # noqa: F401  (all tables known to the metadata)
from rsn import clock as node_clock
from rsn.store import Base, Database, upgrade
from tests.pgcluster import Cluster

# Fixtures other test folders share: a real SMTP server (`smtp_server`).
pytest_plugins = ["tests.smtp"]

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

STORES = ["sqlite", "postgresql"]


class Clock:
    """The node's clock as a test holds it: pinned, and moved only when the test says so."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        node_clock.pin(at)

    @property
    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at = node_clock.advance(timedelta(**delta))
        return self.at


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Pins the node's clock at today 12:00 UTC by that clock (RSN_CLOCK_OFFSET moves it).

    Tests build their times relative to `clock.now`, never from literal dates, so the
    suite passes next year as it does today; `make test` proves it by running again a
    year ahead.
    """
    noon = node_clock.now().replace(hour=12, minute=0, second=0, microsecond=0)
    yield Clock(noon)
    node_clock.pin(None)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server URL: RSN_TEST_PG_URL, or a throwaway cluster of our own."""
    given = os.environ.get("RSN_TEST_PG_URL")
    if given:
        yield given
        return
    cluster = Cluster()
    url = cluster.start()
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """A migrated database of our own on the server, dropped at the end."""
    name = f"rsn_test_{uuid.uuid4().hex[:10]}"
    base = pg_server.rsplit("/", 1)[0]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


# The background jobs' queue on PostgreSQL: procrastinate's tables, not in the models.
JOB_QUEUE = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)


def _empty_postgres(db: Database) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables] + list(JOB_QUEUE)
    names = ", ".join(f'"{name}"' for name in tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=STORES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty store: SQLite in a file, or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "rsn.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_template"))
        _empty_postgres(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for slow end-to-end tests that run on PostgreSQL once elsewhere."""
    path = tmp_path / "rsn.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()
