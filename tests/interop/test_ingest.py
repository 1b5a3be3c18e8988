"""The one import path: upsert by (source, external id), atomic, never past sharing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from rsn.errors import Forbidden, ValidationError
from rsn.interop import ingest, outbound
from rsn.interop.model import Incoming, IncomingVersion, report_data
from rsn.interop.models import KeptObject, ReportLink
from rsn.reports import service
from rsn.reports.models import Report, ReportVersion
from rsn.store import Database
from tests.factories import World, bimstec_world, report_payload

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def version(at: datetime, **fields: object) -> IncomingVersion:
    return IncomingVersion(report_data("objects[0]", report_payload(**fields)), at, at)


def incoming(ext: str, *versions: IncomingVersion, preferred: str | None = None) -> Incoming:
    return Incoming(
        source="identity--feed",
        external_id=ext,
        where="objects[0]",
        versions=list(versions),
        source_identity="Feed",
        preferred_id=preferred,
    )


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def run(world: World, who: str, *items: Incoming) -> ingest.Summary:
    with world.db.session(write=True) as s:
        return ingest.store(s, principal=world.people[who].principal, items=list(items))


def count(world: World, model: type) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_keeps_source_times_versions_and_identity(world: World) -> None:
    rid = "0b5e1f0c-7d4a-4e43-9d51-1f2a3b4c5d6e"
    item = incoming(
        "report--" + rid,
        version(T0, title="first"),
        version(T0 + timedelta(hours=1), title="second"),
        preferred=rid,
    )
    summary = run(world, "in.analyst", item)
    [local] = summary.report_ids
    assert (summary.created, summary.versions_added, local != rid) == (1, 2, True)  # never its id
    with world.db.session() as s:
        reader = world.people["in.analyst"].principal
        report = service.get(s, principal=reader, report_id=local)
        assert (report.title, report.version, report.source_identity) == ("second", 2, "Feed")
        assert report.created == T0 and report.modified == T0 + timedelta(hours=1)
        assert report.originator_org_id == world.orgs["in-cert"].id
        history = service.history(s, principal=reader, report_id=local)
        assert [h.snapshot["title"] for h in history] == ["first", "second"]


def test_same_file_twice_changes_nothing_and_newer_versions_append(world: World) -> None:
    first = incoming("x-1", version(T0))
    run(world, "in.analyst", first)
    again = run(world, "in.analyst", incoming("x-1", version(T0)))
    assert (again.created, again.unchanged, again.versions_added) == (0, 1, 0)
    later = run(world, "in.analyst", incoming("x-1", version(T0), version(T0 + timedelta(1))))
    assert (later.updated, later.versions_added) == (1, 1)
    assert count(world, Report) == 1 and count(world, ReportVersion) == 2


def test_hidden_holder_of_an_id_is_neither_confirmed_nor_overwritten(world: World) -> None:
    rid = "1c5e1f0c-7d4a-4e43-9d51-1f2a3b4c5d6e"
    secret = incoming(
        "report--" + rid, version(T0, title="secret", tlp="red", distribution={}), preferred=rid
    )
    [held] = run(world, "bd.analyst", secret).report_ids
    copies = []
    for who in ("mm.analyst", "bd.duty"):  # another organization; a colleague the RED excludes
        guess = incoming("report--" + rid, version(T0, title="guess"), preferred=held)
        summary = run(world, who, guess)
        assert summary.created == 1
        copies += summary.report_ids
    assert not {rid, held} & set(copies) and len(set(copies)) == 2
    with world.db.session() as s:
        assert s.get(Report, held).title == "secret"  # type: ignore[union-attr]
        links = s.scalars(
            select(ReportLink.report_id).where(ReportLink.external_id.like("%" + rid))
        )
        assert len(list(links)) == 3


def test_one_bad_object_stores_nothing(world: World) -> None:
    good = incoming("a", version(T0))
    bad = Incoming("s", "b", "objects[7]", [version(T0, category="no.such")])
    with pytest.raises(ValidationError) as err:
        run(world, "in.analyst", good, bad)
    assert "objects[7].category" in str(err.value)
    assert count(world, Report) == 0 and count(world, ReportLink) == 0


def test_unknown_distribution_names_narrow_with_a_warning(world: World) -> None:
    dist = {"member_states": ["IN"], "organizations": ["elsewhere-cert", "mm-cert"]}
    summary = run(world, "bd.analyst", incoming("d", version(T0, distribution=dist)))
    assert any("elsewhere-cert" in w for w in summary.warnings)
    with world.db.session() as s:
        report = s.get(Report, summary.report_ids[0])
        assert report is not None and report.distribution["organizations"] == ["mm-cert"]


def test_observers_may_not_import_and_kept_objects_follow_sharing(world: World) -> None:
    with pytest.raises(Forbidden):
        run(world, "in.watch", incoming("o", version(T0)))
    item = incoming("k", version(T0, tlp="amber+strict", distribution={}))
    item.kept = [{"type": "malware", "id": "malware--1", "name": "x"}]
    summary = run(world, "bd.analyst", item)
    assert summary.kept == 1 and count(world, KeptObject) == 1
    with world.db.session() as s:
        own = outbound.items(s, principal=world.people["bd.analyst"].principal)
        other = outbound.items(s, principal=world.people["in.analyst"].principal)
    assert [i.kept for i in own] == [[{"type": "malware", "id": "malware--1", "name": "x"}]]
    assert other == []


def test_outbound_streams_all_versions_in_commit_order(world: World) -> None:
    run(world, "bd.analyst", incoming("v", version(T0), version(T0 + timedelta(1), title="two")))
    run(world, "bd.analyst", incoming("w", version(T0, tlp="clear", distribution={})))
    with world.db.session() as s:
        items = list(outbound.stream(s, principal=world.people["bd.analyst"].principal, batch=1))
        watch = outbound.items(s, principal=world.people["in.watch"].principal)
    assert [len(i.versions) for i in items] == [2, 1]
    assert items[0].current["title"] == "two" and items[0].originator.organization == "bd-cert"
    assert [i.current["tlp"] for i in watch] == ["clear"]
