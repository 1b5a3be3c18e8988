"""The demo node: seeded once for this module on SQLite, once more on PostgreSQL as a smoke test.

Seeding takes a few seconds, so the SQLite node is shared by the tests that only
read it; tests that need a node of their own say so.
"""

from __future__ import annotations

import json
import random
import shutil
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rsn import audit, fusion, sharing
from rsn.config import Settings
from rsn.demo import ACCOUNTS_FILE, Account, data, prepare, scenario, selectors
from rsn.demo import settings as demo_settings
from rsn.errors import Conflict, ValidationError
from rsn.node import open_database
from rsn.notify import webhook
from rsn.observables import normalize
from rsn.registry import ROLES, approvals, regionpacks, taxonomy, tokens
from rsn.registry import service as registry
from rsn.registry.models import User
from rsn.reports import listing, release
from rsn.reports import service as reports
from rsn.reports.models import Report
from rsn.sharing import Principal
from rsn.store import Database

PHONE = "+8801711460983"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@dataclass
class Seeded:
    settings: Settings
    db: Database
    accounts: list[Account]

    def principal(self, username: str) -> Principal:
        with self.db.session() as s:
            return sharing.for_user(s, registry.get_user(s, username=username))


def _fresh(template: Path, data_dir: Path) -> Settings:
    shutil.copy(template, data_dir / "rsn.sqlite3")
    return Settings.for_data_dir(data_dir)


@pytest.fixture(scope="module")
def seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    settings = _fresh(sqlite_template, tmp_path_factory.mktemp("demo"))
    accounts = prepare(settings)
    db = open_database(settings)
    yield Seeded(settings, db, accounts)
    db.dispose()


def _count(db: Database, model: type[object]) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_accounts_file_is_owner_only_with_exact_keys(seeded: Seeded) -> None:
    path = seeded.settings.data_dir / ACCOUNTS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    listed = json.loads(path.read_text(encoding="utf-8"))
    keys = {"username", "password", "member_state", "organization", "role", "api_token"}
    assert all(set(item) == keys for item in listed)
    assert listed == [asdict(a) for a in seeded.accounts]
    assert 15 <= len(listed) <= 20


def test_every_member_state_has_a_government_analyst_account(seeded: Seeded) -> None:
    with seeded.db.session() as s:
        types = {o.slug: o.type for o in registry.get_organizations(s)}
    states = {
        a.member_state
        for a in seeded.accounts
        if a.role == "analyst" and types[a.organization] == "government-agency"
    }
    assert states == set(regionpacks.load("bimstec").members)


def test_every_role_has_an_account(seeded: Seeded) -> None:
    assert {a.role for a in seeded.accounts} == set(ROLES)


def test_every_tlp_level_and_every_leaf_category_is_used(seeded: Seeded) -> None:
    with seeded.db.session() as s:
        levels = set(s.scalars(select(Report.tlp).distinct()))
        categories = set(s.scalars(select(Report.category).distinct()))
        total = s.scalar(select(func.count()).select_from(Report))
    assert levels == set(sharing.TLP_LEVELS)
    assert categories == {c.id for c in scenario.leaves(list(taxonomy.load_base()))}
    assert total == scenario.REPORTS + len(data.cast().awaiting_release)


def test_one_organization_requires_release_and_its_queue_is_not_empty(seeded: Seeded) -> None:
    with seeded.db.session() as s:
        requiring = [o.slug for o in registry.get_organizations(s) if o.release_required]
        queue = release.queue(s, principal=seeded.principal("bd.ddm.liaison"))
        waiting = [q.report.id for q in queue]
        assert requiring == ["bd-ddm"] and len(waiting) == 1
        for other in ("in.ndma.policymaker", "bimstec.duty", "bd.police.analyst"):
            hidden = listing.get_all(
                s, principal=seeded.principal(other), filters=listing.Filters()
            )
            assert waiting[0] not in {r.id for r in hidden[0]}, other


def test_each_state_has_a_focal_point_and_bangladeshs_queue_waits(seeded: Seeded) -> None:
    with seeded.db.session() as s:
        points = {m.code: m.focal_point_org_id for m in registry.get_member_states(s)}
        orgs = {o.id: o for o in registry.get_organizations(s)}
        states = {o.member_state for o in orgs.values() if o.member_state}
        assert all(points[code] for code in states)
        assert orgs[points["BD"]].slug == "bd-ddm"
        liaison = registry.get_user(s, username="bd.ddm.liaison")
        waiting = [approvals.describe(a) for a in approvals.waiting(s, user=liaison)]
        assert waiting == [
            "bd.ddm.officer as analyst of bd-ddm",
            "bd-fscd, government-agency of BD",
        ]
        asked = registry.get_user(s, username="bd.ddm.officer")
        assert asked.pending and asked.disabled and asked.password_hash is None
        assert approvals.waiting(s, user=registry.get_user(s, username="bimstec.admin")) == []


def test_some_reports_have_a_second_version_and_two_are_revoked(seeded: Seeded) -> None:
    with seeded.db.session() as s:
        updated = s.scalar(
            select(func.count()).where(Report.version > 1, Report.revoked.is_(False))
        )
        revoked = list(s.scalars(select(Report).where(Report.revoked.is_(True))))
    assert updated is not None and updated >= 5
    assert len(revoked) == 2 and all(r.revoked_reason for r in revoked)


def _report_with(seeded: Seeded, reader: Principal, value: str, state: str) -> Report:
    with seeded.db.session() as s:
        found, _ = listing.get_all(
            s, principal=reader, filters=listing.Filters(observable=value, country=state)
        )
    assert found, f"{reader.username} sees no report from {state} with {value}"
    return found[0]


def _correlated_states(seeded: Seeded, reader: Principal, report: Report) -> set[str]:
    with seeded.db.session() as s:
        [loaded] = reports.load(s, principal=reader, reports=[report])
        fusion.attach(s, principal=reader, item=loaded, threshold=fusion.DEFAULT_THRESHOLD)
        assert loaded.correlations is not None
        ids = [m.report_id for m in loaded.correlations.matches]
        return set(s.scalars(select(Report.country).where(Report.id.in_(ids))))


def test_planted_phone_correlates_across_borders_for_a_reader_of_both(seeded: Seeded) -> None:
    reader = seeded.principal("in.police.analyst")
    report = _report_with(seeded, reader, PHONE, "BD")
    assert {"IN", "NP"} <= _correlated_states(seeded, reader, report)


def test_a_correlation_never_reveals_what_the_reader_may_not_see(seeded: Seeded) -> None:
    reader = seeded.principal("th.police.analyst")  # BD and IN shared it amber, not with TH
    report = _report_with(seeded, reader, PHONE, "NP")  # the Nepal Police report is green
    assert _correlated_states(seeded, reader, report) == set()


@pytest.mark.parametrize(
    ("reader", "value", "state", "others"),
    [
        ("lk.cert.analyst", "secure-docs-gov.example", "LK", {"BD", "NP"}),
        ("lk.navy.analyst", "IMO9274185", "LK", {"IN", "MM"}),
        ("th.police.analyst", "0x7a2d4e1c9b8f60a3d5e7c2b1f0a9e8d7c6b5a493", "TH", {"MM"}),
        ("in.cert.analyst", "198.51.100.23", "IN", {"TH"}),
    ],
)
def test_other_planted_selectors_correlate(
    seeded: Seeded, reader: str, value: str, state: str, others: set[str]
) -> None:
    principal = seeded.principal(reader)
    report = _report_with(seeded, principal, value, state)
    assert others <= _correlated_states(seeded, principal, report)


def test_audit_log_is_chained_and_verifies(seeded: Seeded) -> None:
    verdict = audit.verify(seeded.db)
    assert verdict.ok, verdict.reason
    assert verdict.unchained == 0
    assert verdict.checked > scenario.REPORTS


def test_every_api_token_authenticates_as_its_account(seeded: Seeded) -> None:
    with seeded.db.session() as s:
        for account in seeded.accounts:
            assert tokens.authenticate(s, account.api_token).user.username == account.username


def test_listed_passwords_sign_in_and_unlisted_users_have_none(seeded: Seeded) -> None:
    listed = {a.username: a for a in seeded.accounts}
    with seeded.db.session() as s:
        users = registry.get_users(s)
        analyst = next(a for a in seeded.accounts if a.role == "analyst")
        assert registry.check_password(
            registry.get_user(s, username=analyst.username), analyst.password
        )
    assert all(u.password_hash is None for u in users if u.username not in listed)
    assert all(u.password_hash for u in users if u.username in listed)


def test_a_second_prepare_creates_nothing_and_returns_the_same_accounts(seeded: Seeded) -> None:
    before = _count(seeded.db, Report), _count(seeded.db, User), audit.verify(seeded.db).checked
    assert prepare(seeded.settings) == seeded.accounts
    after = _count(seeded.db, Report), _count(seeded.db, User), audit.verify(seeded.db).checked
    assert after == before


def test_a_node_with_users_but_no_accounts_file_is_refused(
    sqlite_template: Path, tmp_path: Path
) -> None:
    settings = _fresh(sqlite_template, tmp_path)
    db = Database(settings.database_url)
    try:
        with db.session(write=True) as s:
            org = registry.create_organization(
                s, slug="bd-cert", name="BD CERT", type="government-agency", member_state="BD"
            )
            registry.create_user(
                s, username="someone", display_name="Someone", organization=org, role="analyst"
            )
    finally:
        db.dispose()
    with pytest.raises(Conflict, match=r"demo-accounts\.json' is missing"):
        prepare(settings)
    assert not (tmp_path / ACCOUNTS_FILE).exists()


def test_the_scenario_is_deterministic_for_a_seed() -> None:
    categories = list(taxonomy.load_base())

    def dump(seed: int) -> list[dict[str, object]]:
        planned = scenario.plan(categories, now=NOW, rng=random.Random(seed))
        return [{"by": p.username, **p.data.model_dump(mode="json")} for p in planned]

    first = dump(2026)
    assert first == dump(2026)
    assert first != dump(7)
    assert all(datetime.fromisoformat(str(r["occurred_at"])) < NOW for r in first)


@pytest.mark.parametrize("state", ["BD", "BT", "IN", "MM", "NP", "LK", "TH"])
def test_made_up_selectors_are_valid_for_their_type(state: str) -> None:
    rng = random.Random(state)
    where = selectors.Where(state, data.scenario().vocabulary)
    for _ in range(50):
        for kind, value in selectors.make_all(rng, list(selectors.MAKERS), where).items():
            normalize(kind, value)
    assert selectors.imo_check_digit("927418") == 5


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_seeds_and_reuses_a_postgresql_node(db: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=db.url, data_dir=tmp_path)
    accounts = prepare(settings, now=NOW)
    seeded = scenario.REPORTS + len(data.cast().awaiting_release)
    assert _count(db, Report) == seeded
    audit.attach(db, audit.load_or_create(tmp_path)[0])
    assert audit.verify(db).ok
    assert prepare(settings, now=NOW) == accounts
    assert _count(db, Report) == seeded


def test_the_demo_node_lets_webhooks_reach_a_receiver_on_this_machine(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, port=8080)
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    policy = webhook.Policy.of(settings)
    for url in ("http://127.0.0.1:9000/hook", "http://[::1]:9000/hook"):
        assert webhook.check_target(url, policy) == url
    with pytest.raises(ValidationError, match="private address"):
        webhook.check_target("http://192.168.1.10/hook", policy)
