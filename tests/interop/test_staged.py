"""A staged import: checked whole before any lock, written in chunks open to nobody,
published at once, and removed without a trace when refused, failed, dry or cut short."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from rsn import fusion, sharing
from rsn.audit.models import AuditRecord
from rsn.errors import ValidationError
from rsn.interop import formats, staged
from rsn.interop.model import ImportContext, Incoming
from rsn.interop.models import StagedImport, StagedReport
from rsn.registry import catalog
from rsn.reports import search, service
from rsn.reports.models import Report, ReportVersion
from rsn.reports.schemas import ReportCreate
from rsn.sharing import Principal, StagedGrant
from rsn.store import Database
from tests.conftest import Clock
from tests.factories import World, api_for, bimstec_world, report_payload, stamp

SHARED = "198.51.100.77"  # an address every imported row and one filed report hold
HEAD = "title,category,country,occurred_at,severity,confidence,tlp,observables\r\n"


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staged, "CHUNK", 10)
    monkeypatch.setattr(staged, "DISCARD_CHUNK", 7)


def csv_file(clock: Clock, rows: int, *, bad_at: int | None = None) -> bytes:
    when = stamp(clock.now - timedelta(days=1))
    lines = [HEAD]
    for n in range(rows):
        confidence = "lots" if n == bad_at else "55"
        lines.append(
            f"Quokka sighting {n},cyber.attack,BD,{when},high,{confidence},green,"
            f"ipv4-addr:{SHARED}\r\n"
        )
    return "".join(lines).encode()


Probe = Callable[[], None]


def reader(
    db: Database, principal: Principal, body: bytes, probes: dict[tuple[int, int], Probe]
) -> Callable[[], Iterator[Incoming]]:
    """The file's items, read afresh on each pass; probes[(pass, position)] run before that item."""
    with db.session() as s:
        context = ImportContext(
            importer_org=principal.organization_slug,
            default_country="BD",
            categories=catalog.category_ids(s),
            node_name="rsn",
        )
    passes = 0

    def items() -> Iterator[Incoming]:
        nonlocal passes
        passes += 1
        this_pass = passes
        parsed = formats.get("csv", reading=True).load().parse(io.BytesIO(body), context)
        for position, item in enumerate(parsed):
            probe = probes.get((this_pass, position))
            if probe is not None:
                probe()
            yield item

    return items


def visible_count(db: Database, principal: Principal) -> int:
    with db.session() as s:
        query = (
            select(func.count()).select_from(Report).where(sharing.visible(principal, Report.id))
        )
        return int(s.scalar(query) or 0)


def correlated(db: Database, principal: Principal, report_id: str) -> int:
    with db.session() as s:
        found = fusion.correlations(
            s,
            principal=principal,
            report_id=report_id,
            observables=[("ipv4-addr", SHARED)],
            threshold=1000,
        )
        return len(found.matches)


def found_by_search(db: Database, principal: Principal, word: str) -> int:
    with db.session() as s:
        query = select(func.count()).select_from(Report)
        query = query.where(
            sharing.visible(principal, Report.id), search.condition(s, word, principal.keys)
        )
        return int(s.scalar(query) or 0)


def leftovers(db: Database) -> dict[str, int]:
    """Every row a staged import may leave, counted: all zero when it left nothing."""
    with db.session() as s:
        counts = {
            "reports": s.scalar(select(func.count()).select_from(Report)),
            "versions": s.scalar(select(func.count()).select_from(ReportVersion)),
            "staged grants": s.scalar(select(func.count()).select_from(StagedGrant)),
            "staged reports": s.scalar(select(func.count()).select_from(StagedReport)),
            "staged imports": s.scalar(select(func.count()).select_from(StagedImport)),
        }
        if db.dialect == "sqlite":
            counts["text index"] = s.scalar(text("SELECT count(*) FROM report_fts"))
        return {name: int(n or 0) for name, n in counts.items()}


def file_report(world: World, who: str, **fields: object) -> str:
    with world.db.session(write=True) as s:
        data = ReportCreate.model_validate(report_payload(**fields))
        return service.create(s, principal=world.people[who].principal, data=data)


def test_chunks_stay_hidden_on_every_path_until_the_import_publishes(
    world: World, clock: Clock
) -> None:
    importer = world.people["bd.analyst"].principal
    colleague = world.people["in.analyst"].principal
    theirs = file_report(
        world,
        "in.analyst",
        tlp="green",
        distribution={},
        observables=[{"type": "ipv4-addr", "value": SHARED}],
        occurred_at=stamp(clock.now - timedelta(days=2)),
    )
    seen: list[tuple[int, int, int, int]] = []

    def look() -> None:
        with world.db.session() as s:
            written = int(s.scalar(select(func.count()).select_from(StagedReport)) or 0)
        seen.append(
            (
                written,
                visible_count(world.db, importer) + visible_count(world.db, colleague),
                correlated(world.db, colleague, theirs),
                found_by_search(world.db, importer, "quokka"),
            )
        )

    items = reader(world.db, importer, csv_file(clock, 35), {(2, 25): look})
    summary = staged.run(world.db, principal=importer, items=items, format_name="csv")

    # Two chunks of 10 were stored when the probe looked, and nobody saw any of them:
    # only the colleague's own report, by both readers; no correlation; no search hit.
    assert seen == [(20, 2, 0, 0)]
    assert summary.created == 35 and len(set(summary.report_ids)) == 35
    assert visible_count(world.db, importer) == 36
    assert correlated(world.db, colleague, theirs) == 35
    assert found_by_search(world.db, importer, "quokka") == 35
    assert leftovers(world.db)["staged grants"] == 0
    assert leftovers(world.db)["staged imports"] == 0


def test_a_bad_object_refuses_the_file_before_any_write_lock(world: World, clock: Clock) -> None:
    importer = world.people["bd.analyst"].principal
    free: list[bool] = []

    def try_to_write() -> None:
        with world.db.try_write() as s:
            free.append(s is not None)

    items = reader(world.db, importer, csv_file(clock, 30, bad_at=27), {(1, 15): try_to_write})
    with pytest.raises(ValidationError) as refused:
        staged.run(world.db, principal=importer, items=items, format_name="csv")
    assert [p.field for p in refused.value.problems] == ["rows[27].confidence"]
    assert free == [True]  # another writer got the store while the file was being checked
    assert set(leftovers(world.db).values()) == {0}


def test_a_failure_while_writing_removes_every_chunk(world: World, clock: Clock) -> None:
    importer = world.people["bd.analyst"].principal

    def fail() -> None:
        raise RuntimeError("the disk is full")

    items = reader(world.db, importer, csv_file(clock, 35), {(2, 25): fail})
    with pytest.raises(RuntimeError):
        staged.run(world.db, principal=importer, items=items, format_name="csv")
    assert set(leftovers(world.db).values()) == {0}
    with world.db.session() as s:
        [record] = s.scalars(select(AuditRecord).where(AuditRecord.action == "import.discarded"))
        assert record.detail["reports"] == 20
        assert record.detail["reason"] == "refused or failed"


def test_a_dry_run_counts_what_a_real_run_does_and_keeps_nothing(
    world: World, clock: Clock
) -> None:
    importer = world.people["bd.analyst"].principal
    body = csv_file(clock, 23)
    dry = staged.run(
        world.db,
        principal=importer,
        items=reader(world.db, importer, body, {}),
        format_name="csv",
        dry_run=True,
    )
    assert set(leftovers(world.db).values()) == {0}
    real = staged.run(
        world.db, principal=importer, items=reader(world.db, importer, body, {}), format_name="csv"
    )
    assert (dry.created, dry.versions_added) == (real.created, real.versions_added) == (23, 23)
    assert visible_count(world.db, importer) == 23


def test_updates_to_held_reports_wait_for_the_publishing_transaction(
    world: World, clock: Clock
) -> None:
    """Importing the same file again finds every row held: nothing is staged, all unchanged."""
    importer = world.people["bd.analyst"].principal
    body = csv_file(clock, 12)
    first = staged.run(
        world.db, principal=importer, items=reader(world.db, importer, body, {}), format_name="csv"
    )
    again = staged.run(
        world.db, principal=importer, items=reader(world.db, importer, body, {}), format_name="csv"
    )
    assert (again.created, again.unchanged) == (0, 12)
    assert again.report_ids == first.report_ids


def test_published_reports_come_after_what_others_wrote_meanwhile(
    world: World, clock: Clock
) -> None:
    """A TAXII reader pages in commit order: what it passed while the import ran stays passed."""
    importer = world.people["bd.analyst"].principal
    meanwhile: list[str] = []

    def file_one() -> None:
        meanwhile.append(file_report(world, "in.analyst", tlp="green", distribution={}))

    items = reader(world.db, importer, csv_file(clock, 25), {(2, 15): file_one})
    summary = staged.run(world.db, principal=importer, items=items, format_name="csv")
    with world.db.session() as s:
        theirs = s.get_one(Report, meanwhile[0])
        [their_date] = s.scalars(
            select(ReportVersion.date_added).where(ReportVersion.report_id == theirs.id)
        )
        ours = s.execute(
            select(Report.seq, ReportVersion.seq, ReportVersion.date_added)
            .join(ReportVersion, ReportVersion.report_id == Report.id)
            .where(Report.id.in_(summary.report_ids))
        ).all()
    assert len(ours) == 25
    assert all(seq > theirs.seq and version_seq > theirs.seq for seq, version_seq, _ in ours)
    assert all(added >= their_date for _, _, added in ours)


def test_an_import_cut_short_is_removed_at_the_next_start_once_stale(
    world: World, clock: Clock, tmp_path: Path
) -> None:
    importer = world.people["bd.analyst"].principal
    items = reader(world.db, importer, csv_file(clock, 25), {})
    cut_short = staged._begin(world.db, importer, "csv")
    staged._write_chunks(world.db, importer, items, cut_short)  # then the process died
    assert leftovers(world.db)["reports"] == 25
    assert visible_count(world.db, importer) == 0

    assert staged.discard_stale(world.db) == 0  # it may still be running
    assert leftovers(world.db)["reports"] == 25
    clock.advance(minutes=11)
    api_for(world.db, tmp_path)  # a node starting on this store cleans up
    assert set(leftovers(world.db).values()) == {0}
