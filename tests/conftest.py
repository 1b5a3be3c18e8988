"""Stores for every test: a real SQLite file and a real PostgreSQL database.

Each store is migrated once per session with Alembic (the schema the app runs
on), then emptied between tests. `db` is parametrised over both, so every test
that touches the store runs on SQLite and on PostgreSQL.

`make test` runs the suite in processes of pytest-xdist. Each process migrates stores of
its own (databases named at random); without RSN_TEST_PG_URL they share one throwaway
PostgreSQL cluster (`tests.pgcluster.shared`), stopped by the controlling process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text

import rsn.models  # noqa: F401  (all tables known to the metadata)
from rsn import clock as node_clock
from rsn.store import Base, Database, upgrade
from tests import pgcluster

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


PG_STATE = pytest.StashKey[Path]()
PG_STATE_INPUT = "rsn_pg_state"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controlling process (or the only one)
        config.stash[PG_STATE] = Path(tempfile.mkdtemp(prefix="rsn-pg-state-"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each xdist worker where the run's PostgreSQL cluster is noted."""
    node.workerinput[PG_STATE_INPUT] = str(node.config.stash[PG_STATE])


def pytest_unconfigure(config: pytest.Config) -> None:
    """After every worker is done and every database is dropped: stop the cluster."""
    if PG_STATE in config.stash:
        pgcluster.stop_shared(config.stash[PG_STATE])


SHARED_SCOPES = frozenset({"class", "module", "package"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, keep a module's tests on one worker when they share a fixture.

    A module-scoped fixture (a browser, a served node, a seeded demo) is set up once per
    worker that runs any of the module's tests; split across workers, it is set up twice.
    Any other test goes to whichever worker is free.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        if any(defs[-1].scope in SHARED_SCOPES for defs in info.name2fixturedefs.values()):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def pg_server(pytestconfig: pytest.Config) -> str:
    """A PostgreSQL server URL: RSN_TEST_PG_URL, or the run's throwaway cluster."""
    given = os.environ.get("RSN_TEST_PG_URL")
    if given:
        return given
    worker: dict[str, Any] | None = getattr(pytestconfig, "workerinput", None)
    state = Path(worker[PG_STATE_INPUT]) if worker else pytestconfig.stash[PG_STATE]
    return pgcluster.shared(state)


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
    """No rows, every sequence at its start: what `TRUNCATE ... RESTART IDENTITY` of every
    table leaves, at a third of the cost.

    TRUNCATE gives each table and index a new file: ~0.15 s for the 40 tables, before
    every PostgreSQL test. A test fills a few of them; only those are truncated.
    """
    tables = [t.name for t in Base.metadata.sorted_tables] + list(JOB_QUEUE)
    probe = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT FROM \"{name}\")" for name in tables
    )
    with db.engine.begin() as conn:
        filled = list(conn.execute(text(probe)).scalars())
        if filled:
            names = ", ".join(f'"{name}"' for name in filled)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        # a rolled-back insert moves a sequence and leaves its table empty
        conn.execute(text("SELECT setval(seqrelid, seqstart, false) FROM pg_sequence"))


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
