"""The migrations build exactly the schema the models describe, on both stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from rsn.interop import ingest
from rsn.interop.model import Incoming, IncomingVersion, report_data
from rsn.reports import listing, search, service
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate, ReportUpdate
from rsn.sharing import Principal
from rsn.store import Base, Database, upgrade
from rsn.store.migrate import alembic_config, include_name
from tests.factories import bimstec_world, report_payload


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": include_name}), Base.metadata
        )
    assert diff == []


def test_search_documents_live_where_the_store_searches(db: Database) -> None:
    found = inspect(db.engine)
    if db.dialect == "postgresql":
        assert "search_document" in {c["name"] for c in found.get_columns("reports")}
        assert "ix_reports_search_document" in {i["name"] for i in found.get_indexes("reports")}
        assert "report_search" not in found.get_table_names()
    else:
        assert "report_fts" in found.get_table_names()


def test_sqlite_runs_in_wal_with_foreign_keys(db: Database) -> None:
    if db.dialect != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_postgresql_plans_each_query_for_its_own_values(db: Database) -> None:
    """No generic plan for a statement psycopg prepared (see `make_engine`): every
    connection the node opens plans each run for the values it is given. The bench
    shows the time of 30 runs on one connection (`bench/reports.py`)."""
    if db.dialect != "postgresql":
        return
    with db.session() as session:
        mode = session.connection().exec_driver_sql("SHOW plan_cache_mode").scalar()
    assert mode == "force_custom_plan"
    with db.session(write=True) as session:  # a writer's inserts keep their prepared plans
        mode = session.connection().exec_driver_sql("SHOW plan_cache_mode").scalar()
    assert mode == "auto"
    with db.session() as session:  # and the connection reads as before
        mode = session.connection().exec_driver_sql("SHOW plan_cache_mode").scalar()
    assert mode == "force_custom_plan"


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own, which it may migrate up and down."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    server: str = request.getfixturevalue("pg_server")
    name = f"rsn_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _found(db: Database, principal: Principal, q: str) -> list[str]:
    with db.session() as s:
        rows, _ = listing.get_all(s, principal=principal, filters=listing.Filters(q=q))
        return [r.id for r in rows]


def test_0005_keeps_search_documents_down_and_up(scratch_url: str) -> None:
    """Reports filed before the search document moved stay findable after it moved back."""
    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        reader = bimstec_world(db).people["bd.analyst"].principal
        with db.session(write=True) as s:
            data = ReportCreate.model_validate(report_payload())
            report_id = service.create(s, principal=reader, data=data)
    finally:
        db.dispose()

    command.downgrade(alembic_config(scratch_url), "0004")
    db = Database(scratch_url)
    try:
        if db.dialect == "postgresql":
            with db.engine.connect() as conn:
                moved = conn.execute(text("SELECT report_id FROM report_search")).scalars()
                assert list(moved) == [report_id]
    finally:
        db.dispose()

    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        assert _found(db, reader, "bangladeshi") == [report_id]
        assert _found(db, reader, "cox") == [report_id]
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        db.dispose()


def test_0006_drops_two_write_only_indexes_and_reads_stay_the_same(scratch_url: str) -> None:
    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        people = bimstec_world(db).people
        with db.session(write=True) as s:
            data = ReportCreate.model_validate(report_payload())
            report_id = service.create(s, principal=people["bd.analyst"].principal, data=data)
    finally:
        db.dispose()

    def indexes() -> set[str]:
        db = Database(scratch_url)
        try:
            found = inspect(db.engine)
            return {
                i["name"] or ""
                for table in ("sharing_grants", "correlation_index")
                for i in found.get_indexes(table)
            }
        finally:
            db.dispose()

    dropped = {"ix_sharing_grants_key_item", "ix_correlation_index_report"}
    command.downgrade(alembic_config(scratch_url), "0005")
    assert dropped <= indexes()
    upgrade(scratch_url)
    assert not dropped & indexes()
    db = Database(scratch_url)
    try:
        assert _found(db, people["in.analyst"].principal, "bangladeshi") == [report_id]
        assert _found(db, people["mm.analyst"].principal, "bangladeshi") == []
    finally:
        db.dispose()


def _schema(url: str, table: str) -> set[str]:
    db = Database(url)
    try:
        found = inspect(db.engine)
        if table == "":
            return set(found.get_table_names())
        return {c["name"] for c in found.get_columns(table)}
    finally:
        db.dispose()


def test_0007_adds_report_status_and_the_release_setting_down_and_up(scratch_url: str) -> None:
    """Down and up again, published reports read as before and a draft stays closed."""
    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        people = bimstec_world(db).people
        author = people["bd.analyst"].principal
        with db.session(write=True) as s:
            data = ReportCreate.model_validate(report_payload())
            published = service.create(s, principal=author, data=data)
            data = ReportCreate.model_validate(report_payload(title="Bangladeshi draft"))
            draft = service.create(s, principal=author, data=data, draft=True)
    finally:
        db.dispose()

    command.downgrade(alembic_config(scratch_url), "0006")
    assert not {"status", "refusal_reason"} & _schema(scratch_url, "reports")
    assert "release_required" not in _schema(scratch_url, "organizations")
    assert "pending_versions" not in _schema(scratch_url, "")

    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        assert _found(db, people["in.analyst"].principal, "bangladeshi") == [published]
        assert set(_found(db, author, "bangladeshi")) == {published, draft}
        with db.engine.connect() as conn:
            statuses = conn.execute(text("SELECT DISTINCT status FROM reports")).scalars()
            assert list(statuses) == ["published"]
            ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        db.dispose()


def _versions_read(db: Database, principal: Principal, report_id: str) -> list[int]:
    with db.session() as s:
        return [v.version for v in service.history(s, principal=principal, report_id=report_id)]


def test_0009_gives_stored_versions_the_grants_of_their_own_marking(scratch_url: str) -> None:
    """Versions stored before 0009 open, after it, only under the marking they were written with."""
    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        people = bimstec_world(db).people
        author = people["bd.analyst"].principal
        red = {"users": ["in.analyst"]}
        with db.session(write=True) as s:
            data = ReportCreate.model_validate(report_payload(tlp="red", distribution=red))
            report_id = service.create(s, principal=author, data=data)
            wider = ReportUpdate.model_validate({"tlp": "green", "distribution": {}})
            service.update_report(s, principal=author, report_id=report_id, data=wider)
    finally:
        db.dispose()

    command.downgrade(alembic_config(scratch_url), "0008")
    assert "item_id" not in _schema(scratch_url, "report_versions")

    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        assert _versions_read(db, people["bd.police"].principal, report_id) == [2]
        assert _versions_read(db, people["in.analyst"].principal, report_id) == [1, 2]
        assert _versions_read(db, author, report_id) == [1, 2]
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        db.dispose()


def test_0010_keys_report_links_by_the_importing_organization_down_and_up(
    scratch_url: str,
) -> None:
    """Links made before the key had an organization belong to their report's: re-import is kept."""

    def tip() -> Incoming:
        data = report_data("objects[0]", report_payload())
        return Incoming("identity--feed", "report--tip", "objects[0]", [IncomingVersion(data)])

    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        world = bimstec_world(db)
        importer = world.people["in.analyst"].principal
        with db.session(write=True) as s:
            [report_id] = ingest.store(s, principal=importer, items=[tip()]).report_ids
    finally:
        db.dispose()

    command.downgrade(alembic_config(scratch_url), "0009")
    assert "org_id" not in _schema(scratch_url, "report_links")

    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        with db.engine.connect() as conn:
            links = conn.execute(text("SELECT org_id, report_id FROM report_links")).all()
            assert [tuple(link) for link in links] == [(world.orgs["in-cert"].id, report_id)]
            ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
            assert compare_metadata(ctx, Base.metadata) == []
        with db.session(write=True) as s:
            again = ingest.store(s, principal=importer, items=[tip()])
        assert (again.created, again.unchanged, again.report_ids) == (0, 1, [report_id])
    finally:
        db.dispose()


def test_0012_splits_stored_search_documents_by_audience_down_and_up(scratch_url: str) -> None:
    """Reports indexed before 0012 are, after it, found by the text index only for their readers."""
    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        people = bimstec_world(db).people
        with db.session(write=True) as s:
            shown = service.create(
                s,
                principal=people["bd.analyst"].principal,
                data=ReportCreate.model_validate(report_payload(tlp="green", distribution={})),
            )
            hidden = service.create(
                s,
                principal=people["mm.analyst"].principal,
                data=ReportCreate.model_validate(report_payload(tlp="red", distribution={})),
            )
    finally:
        db.dispose()

    command.downgrade(alembic_config(scratch_url), "0011")
    db = Database(scratch_url)
    try:
        with db.engine.connect() as conn:
            if db.dialect == "postgresql":
                weights = (
                    "SELECT count(*) FROM reports WHERE ts_filter(search_document, '{a}') <> ''"
                )
                assert conn.execute(text(weights)).scalar() == 0
            else:
                found = conn.execute(
                    text("SELECT rowid FROM report_fts WHERE report_fts MATCH 'cox'")
                )
                assert len(found.all()) == 2
                assert "keys" not in {
                    r[1] for r in conn.execute(text("PRAGMA table_info(report_fts)"))
                }
    finally:
        db.dispose()

    upgrade(scratch_url)
    db = Database(scratch_url)
    try:
        for reader, ids in (("in.analyst", [shown]), ("mm.analyst", [hidden, shown])):
            keys = people[reader].principal.keys
            with db.session() as s:
                indexed = s.scalars(select(Report.id).where(search.condition(s, "cox", keys)))
                assert sorted(indexed) == sorted(ids)
            assert sorted(_found(db, people[reader].principal, "cox")) == sorted(ids)
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        db.dispose()
