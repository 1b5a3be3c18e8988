"""A report exported as STIX 2.1 and imported into a fresh store is the same report.

The same but for its id: a foreign report always gets a fresh local id, so that
an import never tells whether a report holds the id its file names.

The fresh store is the same database with the same registry: the originator's
transaction (file the report, edit it, revoke it, export it) is rolled back
before the importer, of another organization, imports the bundle.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rsn.interop import ingest, outbound, stix
from rsn.interop.model import ExportContext, ImportContext
from rsn.registry import catalog
from rsn.registry import service as registry
from rsn.reports import service
from rsn.reports.schemas import ReportCreate, ReportUpdate
from rsn.store import Database
from tests.factories import World, bimstec_world

FIELDS = (
    "id", "version", "title", "category", "description", "occurred_at", "country", "lat", "lon",
    "sea_area", "severity", "confidence", "source_reliability", "information_credibility", "tlp",
    "distribution", "created", "modified", "revoked", "revoked_reason", "revoked_at",
)  # fmt: skip
STATES = ["BD", "IN", "MM", "NP", "LK"]
ORGS = ["bd-cert", "bd-police", "in-cert", "in-coastguard", "mm-cert"]
USERS = ["bd.analyst", "bd.police", "in.analyst", "in.coast", "mm.analyst"]
CATEGORIES = ["cyber.attack", "maritime.piracy", "organized-crime.human-trafficking", "disaster"]
POOL = {
    "domain-name": ["example.org", "xn--bcher-kva.example", "mail.example.net"],
    "url": ["https://example.org/a?b=c'd", "http://198.51.100.4:8080/x", "ftp://example.net/f"],
    "email-addr": ["ops@example.org", "O'Brien@example.net"],
    "file-md5": ["d41d8cd98f00b204e9800998ecf8427e"],
    "file-sha1": ["da39a3ee5e6b4b0d3255bfef95601890afd80709"],
    "file-sha256": ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    "phone-number": ["+8801712345678", "+919812345678"],
    "vessel-imo": ["IMO9074729", "IMO9176187"],
    "vessel-mmsi": ["538004753", "419000001"],
    "vehicle-plate": ["DHA GA 11-2345", "ঢাকা মেট্রো-গ ১১-২৩৪৫"],
    "person-name": ["Abdul Karim", "María José"],
    "group-name": ["Harbour Crew Seven"],
    "crypto-wallet": [
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "0x52908400098527886e0f7030069857d2e4169ee7",
    ],
    "bank-account": ["GB82WEST12345698765432", "BD:1234567890123"],
}  # fmt: skip
text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
titles = text.map(str.strip).filter(bool)


@st.composite
def observables(draw: st.DrawFn) -> list[dict[str, str]]:
    pool = st.one_of(
        st.ip_addresses(v=4).map(lambda a: ("ipv4-addr", str(a))),
        st.ip_addresses(v=6).map(lambda a: ("ipv6-addr", str(a))),
        st.sampled_from([(t, v) for t, vs in POOL.items() for v in vs]),
    )
    pairs = draw(st.lists(pool, max_size=6))
    return [{"type": t, "value": v} for t, v in pairs]


@st.composite
def markings(draw: st.DrawFn) -> dict[str, Any]:
    tlp = draw(st.sampled_from(["clear", "green", "amber", "amber+strict", "red"]))
    some = lambda names: st.lists(st.sampled_from(names), max_size=2, unique=True)  # noqa: E731
    dist: dict[str, list[str]] = {}
    if tlp == "amber":
        dist["member_states"] = draw(some(STATES))
        dist["organizations"] = draw(some(ORGS))
        dist["sharing_groups"] = draw(some(["bay-watch"]))
    elif tlp == "amber+strict":
        dist["organizations"] = draw(some(ORGS))
    elif tlp == "red":
        dist["users"] = draw(some(USERS))
    return {"tlp": tlp, "distribution": dist}


points = st.none() | st.fixed_dictionaries(
    {"lat": st.floats(-90, 90, allow_nan=False), "lon": st.floats(-180, 180, allow_nan=False)}
)
times = st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC))


@st.composite
def reports(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "title": draw(titles),
        "category": draw(st.sampled_from(CATEGORIES)),
        "description": draw(text),
        "occurred_at": draw(times).isoformat(),
        "country": draw(st.sampled_from(STATES)),
        "location": draw(points),
        "sea_area": draw(st.none() | titles),
        "severity": draw(st.sampled_from(["low", "medium", "high", "critical"])),
        "confidence": draw(st.integers(0, 100)),
        "source_reliability": draw(st.sampled_from("ABCDEF")),
        "information_credibility": draw(st.sampled_from("123456")),
        "observables": draw(observables()),
        **draw(markings()),
    }


edits = st.one_of(
    st.fixed_dictionaries({"title": titles}),
    st.fixed_dictionaries({"observables": observables()}),
    st.fixed_dictionaries({"severity": st.sampled_from(["low", "critical"]), "location": points}),
    markings(),
)


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    with db.session(write=True) as s:
        group = registry.create_sharing_group(
            s, slug="bay-watch", name="Bay", owner=w.orgs["in-cert"]
        )
        registry.set_group_members(
            s, group=group, acting_org=w.orgs["in-cert"], organizations=[w.orgs["bd-police"]]
        )
    return w


def file_and_export(
    world: World, body: dict[str, Any], changes: list[dict[str, Any]], revoke: str | None
) -> tuple[bytes, dict[str, Any]]:
    """File, edit and revoke as bd.analyst, export; the store is left as it was."""
    author = world.people["bd.analyst"].principal
    with world.db.session() as s:
        try:
            rid = service.create(s, principal=author, data=ReportCreate(**body))
            for change in changes:
                service.update_report(
                    s, principal=author, report_id=rid, data=ReportUpdate(**change)
                )
            if revoke:
                service.revoke(s, principal=author, report_id=rid, reason=revoke)
            original = state(s, author, rid)
            out = io.BytesIO()
            stix.export(
                outbound.items(s, principal=author, report_ids=[rid]), out, ExportContext("a")
            )
            return out.getvalue(), original
        finally:
            s.rollback()


def state(s: Any, principal: Any, rid: str) -> dict[str, Any]:
    report = service.get(s, principal=principal, report_id=rid)
    found = {name: getattr(report, name) for name in FIELDS}
    found["observables"] = service.observables_of(s, [rid])[rid]
    found["history"] = [
        (h.version, {k: v for k, v in h.snapshot.items() if k != "source_identity"})
        for h in service.history(s, principal=principal, report_id=rid)
    ]
    found["source_identity"] = report.source_identity
    return found


def import_as(world: World, raw: bytes, username: str) -> dict[str, Any]:
    importer = world.people[username].principal
    with world.db.session() as s:
        try:
            context = ImportContext("in-cert", "IN", catalog.category_ids(s))
            items = list(stix.parse(io.BytesIO(raw), context))
            summary = ingest.store(s, principal=importer, items=items)
            [rid] = summary.report_ids
            found = state(s, importer, rid)
            assert (
                service.get(s, principal=importer, report_id=rid).originator_org_id
                == importer.organization_id
            )
            return found
        finally:
            s.rollback()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    body=reports(),
    changes=st.lists(edits, max_size=2),
    revoke=st.none() | st.just("Withdrawn: the source recanted."),
)
def test_export_then_import_gives_the_same_report(
    world: World, body: dict[str, Any], changes: list[dict[str, Any]], revoke: str | None
) -> None:
    raw, original = file_and_export(world, body, changes, revoke)
    imported = import_as(world, raw, "in.analyst")
    assert original.pop("source_identity") is None
    assert imported.pop("source_identity") == "BD-CERT"  # the originator's organization
    assert imported.pop("id") != original.pop("id")  # a copy of the importer's own
    assert imported == original
