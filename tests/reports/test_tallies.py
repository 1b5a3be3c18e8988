"""The counts kept on write equal a live count, for every reader, after any writes.

The property: whatever sequence of filings, drafts, releases, edits (marking,
distribution, category, country, date), revocations and registry changes (a group's
members replaced, a new agency, an organization's type or state changed, a person
given another role, a new releaser) happens,
each reader's tallies (`rsn.reports.tallies.counts`) are exactly what counting the
reports they may read gives (`listing.live_counts`), by every field, over all time
and over windows of whole days that cut months and years; and `tallies.check` finds
nothing to correct.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rsn import events, sharing
from rsn.cli.main import app
from rsn.interop import staged
from rsn.registry import approvals
from rsn.registry import service as registry
from rsn.registry.events import ScopesMoved
from rsn.registry.models import NodeSetting
from rsn.reports import listing, tallies
from rsn.store import Database
from tests.conftest import Clock
from tests.factories import Api, Person, World, api_for, bimstec_world, report_payload, stamp
from tests.interop.test_staged import csv_file as staged_csv
from tests.interop.test_staged import reader as staged_items

READERS = [
    "bd.analyst",
    "bd.duty",
    "bd.policy",
    "bd.police",
    "in.analyst",
    "in.watch",
    "mm.analyst",
]
MARKINGS: list[dict[str, Any]] = [
    {"tlp": "clear", "distribution": {}},
    {"tlp": "green", "distribution": {}},
    {"tlp": "amber", "distribution": {"member_states": ["IN"]}},
    {"tlp": "amber", "distribution": {"organizations": ["mm-cert"]}},
    {"tlp": "amber", "distribution": {"sharing_groups": ["bay"]}},
    {"tlp": "amber+strict", "distribution": {"organizations": ["bd-police"]}},
    {"tlp": "red", "distribution": {"users": ["in.analyst"]}},
]
CATEGORIES = ["organized-crime.human-trafficking", "cyber.attack", "maritime.piracy"]
AUTHORS = ["bd.analyst", "in.analyst", "mm.analyst"]
runner = CliRunner()


GROUPINGS: list[tuple[list[str], list[str]]] = [  # (organizations, member states)
    (["in-coastguard"], []),
    (["mm-cert", "in-watch"], []),
    ([], ["IN"]),
    ([], []),
]


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    with db.session(write=True) as s:  # bd-cert's outward reports wait for a releaser
        bd_cert = registry.get_organization(s, slug="bd-cert")
        registry.set_release_required(s, organization=bd_cert, required=True)
        registry.create_sharing_group(s, slug="bay", name="Bay watch", owner=bd_cert)
    regroup(w, 0)
    return w


def regroup(world: World, grouping: int) -> None:
    """Replace the members of the group `bay`: its members' keys move, reports' do not."""
    orgs, states = GROUPINGS[grouping]
    with world.db.session(write=True) as s:
        registry.set_group_members(
            s,
            group=registry.get_sharing_group(s, slug="bay"),
            acting_org=registry.get_organization(s, slug="bd-cert"),
            organizations=[registry.get_organization(s, slug=o) for o in orgs],
            member_states=states,
        )
    for name in list(world.people):
        world.refresh(name)


RETYPES = [  # (organization, type, member state): what an approved change may make of it
    ("in-watch", "government-agency", "IN"),  # now holds IN's key: counted in IN's scope
    ("in-watch", "cso", "IN"),
    ("bd-police", "government-agency", "MM"),  # another state's agency
    ("bd-police", "government-agency", "BD"),
]


def retype(world: World, change: int) -> None:
    """An organization's type or state changed, as an approved request changes it."""
    retyped(world, *RETYPES[change])


def retyped(world: World, slug: str, kind: str, state: str) -> None:
    """The organization made `kind` in `state`, and everyone's keys read again."""
    with world.db.session(write=True) as s:
        org = registry.get_organization(s, slug=slug)
        org.type, org.member_state = kind, state
        s.flush()
        events.publish(s, ScopesMoved((org.id,)))
    for name in list(world.people):
        world.refresh(name)


ROLES = ["liaison", "analyst", "observer"]  # what bd.policy may become: a releaser, or not


def change_role(world: World, role: str, username: str = "bd.policy") -> None:
    """A bd-cert member's role changed as an approved request changes it (bd.analyst asks,
    bd.duty approves): a liaison reads what waits for release in bd-cert, an observer
    loses the `members` key."""
    with world.db.session(write=True) as s:
        user = registry.get_user(s, username=username)
        if user.role == role:
            return
        asked = approvals.request_role(
            s, by=registry.get_user(s, username="bd.analyst"), user=user, role=role
        )
        approver = registry.get_user(s, username="bd.duty")
        approvals.decide(s, approval_id=asked.id, approver=approver, approve=True)
    world.refresh(username)


def new_releaser(world: World) -> str:
    """A new liaison of bd-cert: what waits for its release opens to them at once."""
    name = f"bd.liaison{sum(1 for p in world.people if p.startswith('bd.liaison'))}"
    world.person(name, "bd-cert", role="liaison")
    return name


def new_agency(world: World) -> str:
    """A new Indian agency and its analyst: amber reports to IN open to them at once."""
    slug = f"in-new{sum(1 for o in world.orgs if o.startswith('in-new'))}"
    world.org(slug, state="IN")
    world.person(f"{slug}.analyst", slug)
    return f"{slug}.analyst"


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def agree(db: Database, world: World, now: datetime, extra: tuple[str, ...] = ()) -> None:
    """Every reader's tallies equal their live count, by every field, all time and windows."""

    def ago(days: int) -> datetime:
        return datetime.combine(now.date() - timedelta(days=days), time(), tzinfo=UTC)

    windows = [
        listing.Filters(),
        listing.Filters(since=ago(7)),
        listing.Filters(until=ago(7)),
        listing.Filters(since=ago(45)),  # a month or two cut at both ends
        listing.Filters(since=ago(400), until=ago(40)),  # across a new year
        listing.Filters(since=ago(700), until=ago(20), category="cyber"),
        listing.Filters(since=ago(3), until=ago(2), country="MM"),
    ]
    names = [*READERS, *extra]
    readers = [world.people[r].principal for r in names] + [sharing.public_reader()]
    with db.session() as s:
        assert tallies.check(s) == []
        for who in readers:
            for f in windows:
                for by in listing.COUNTABLE:
                    live = listing.live_counts(s, principal=who, by=by, filters=f)
                    kept = listing.counts(s, principal=who, by=by, filters=f)
                    assert kept == live, (who.username, by, f)


def file(api: Api, who: Person, now: datetime, **fields: Any) -> str:
    draft = fields.pop("draft", False)
    url = "/api/v1/reports?draft=true" if draft else "/api/v1/reports"
    answer = api.post(url, as_=who, json=report_payload(**fields))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


operation = st.one_of(
    st.tuples(
        st.just("file"),
        st.sampled_from(AUTHORS),
        st.sampled_from(range(len(MARKINGS))),
        st.sampled_from(CATEGORIES),
        st.sampled_from(["BD", "IN", "MM"]),
        st.integers(0, 800),
        st.booleans(),
    ),
    st.tuples(st.just("edit"), st.integers(0, 50), st.sampled_from(range(len(MARKINGS)))),
    st.tuples(
        st.just("move"), st.integers(0, 50), st.sampled_from(CATEGORIES), st.integers(0, 800)
    ),
    st.tuples(st.just("revoke"), st.integers(0, 50)),
    st.tuples(st.just("release"), st.integers(0, 50)),
    st.tuples(st.just("regroup"), st.sampled_from(range(len(GROUPINGS)))),
    st.tuples(st.just("agency")),
    st.tuples(st.just("retype"), st.sampled_from(range(len(RETYPES)))),
    st.tuples(st.just("role"), st.sampled_from(ROLES)),
    st.tuples(st.just("releaser")),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(ops=st.lists(operation, min_size=1, max_size=8))
def test_kept_counts_equal_live_counts_after_any_writes(
    db: Database, api: Api, world: World, clock: Clock, ops: list[tuple[Any, ...]]
) -> None:
    filed: list[tuple[str, str]] = []  # (report id, its author)
    for op in ops:
        if op[0] == "file":
            _, author, marking, category, country, days, draft = op
            when = stamp(clock.now - timedelta(days=days, hours=3))
            rid = file(
                api,
                world.people[author],
                clock.now,
                category=category,
                country=country,
                occurred_at=when,
                draft=draft,
                **MARKINGS[marking],
            )
            filed.append((rid, author))
            if draft:
                api.post(f"/api/v1/reports/{rid}/submit", as_=world.people[author])
        elif filed and op[0] == "edit":
            rid, author = filed[op[1] % len(filed)]
            api.patch(f"/api/v1/reports/{rid}", as_=world.people[author], json=MARKINGS[op[2]])
        elif filed and op[0] == "move":
            rid, author = filed[op[1] % len(filed)]
            when = stamp(clock.now - timedelta(days=op[3]))
            body = {"category": op[2], "occurred_at": when, "country": "MM"}
            api.patch(f"/api/v1/reports/{rid}", as_=world.people[author], json=body)
        elif filed and op[0] == "revoke":
            rid, author = filed[op[1] % len(filed)]
            api.post(
                f"/api/v1/reports/{rid}/revoke",
                as_=world.people[author],
                json={"reason": "wrong"},
            )
        elif filed and op[0] == "release":
            rid, _ = filed[op[1] % len(filed)]
            api.post(f"/api/v1/reports/{rid}/release", as_=world.people["bd.duty"])
        elif op[0] == "regroup":
            regroup(world, op[1])
        elif op[0] == "agency" and len(world.orgs) < 9:
            new_agency(world)
        elif op[0] == "retype":
            retype(world, op[1])
        elif op[0] == "role":
            change_role(world, op[1])
        elif op[0] == "releaser" and len(world.people) < 14:
            new_releaser(world)
    added = tuple(p for p in world.people if p.startswith(("in-new", "bd.liaison")))
    agree(db, world, clock.now, added)


def test_a_staged_import_counts_when_published_not_before(
    db: Database, world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staged, "CHUNK", 10)
    importer = reader = world.people["bd.analyst"].principal
    seen: list[int] = []

    def look() -> None:  # two chunks stored, not yet published
        with db.session() as s:
            seen.append(
                sum(
                    n
                    for _, n in listing.counts(
                        s, principal=reader, by="country", filters=listing.Filters()
                    )
                )
            )

    items = staged_items(db, importer, staged_csv(clock, 25), {(2, 25 - 1): look})
    staged.run(db, principal=importer, items=items, format_name="csv")
    assert seen == [0]
    agree(db, world, clock.now)
    with db.session() as s:
        total = listing.counts(s, principal=reader, by="country", filters=listing.Filters())
    assert sum(n for _, n in total) == 25


def test_a_store_upgraded_with_reports_is_recounted_and_check_finds_a_wrong_row(
    db: Database, api: Api, world: World, clock: Clock
) -> None:
    for n in range(3):
        file(
            api, world.people["in.analyst"], clock.now, title=f"R{n}", tlp="green", distribution={}
        )
    with db.session(write=True) as s:
        s.execute(tallies.Tally.__table__.update().values(n=tallies.Tally.n + 1))
        assert len(tallies.check(s)) >= 1
        s.add(NodeSetting(key=tallies.STALE, value="1"))
    assert tallies.recount_if_stale(db) == 3
    assert tallies.recount_if_stale(db) is None
    with db.session() as s:
        assert tallies.check(s) == []


def test_the_operator_checks_and_fixes_the_tallies(
    db: Database, api: Api, world: World, clock: Clock, tmp_path: Path
) -> None:
    file(api, world.people["in.analyst"], clock.now, tlp="green", distribution={})
    config = tmp_path / "rsn.toml"
    config.write_text(f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n')
    check = ["db", "check-aggregates", "--config", str(config)]
    agreed = runner.invoke(app, check)
    assert agreed.exit_code == 0 and "agree" in agreed.output, agreed.output
    with db.session(write=True) as s:
        s.execute(tallies.Tally.__table__.update().values(n=tallies.Tally.n + 2))
    wrong = runner.invoke(app, check)
    assert wrong.exit_code == 1 and "kept 3, counted 1" in wrong.output, wrong.output
    fixed = runner.invoke(app, [*check, "--fix"])
    assert fixed.exit_code == 0 and "recounted 1 reports" in fixed.output, fixed.output
    assert runner.invoke(app, check).exit_code == 0
