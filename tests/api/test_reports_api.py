"""The reports API as a client uses it: create, read, update, revoke, list, count, correlate.

Every test runs on SQLite and on PostgreSQL (the `db` fixture) with one BIMSTEC world.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from rsn import clock
from rsn.models import AuditRecord, Report, ReportVersion
from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import (
    Api,
    Person,
    World,
    api_for,
    bimstec_world,
    days_ago,
    millis,
    report_payload,
    stamp,
)

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PHONE = "+8801712345678"
READ_FIELDS = {
    "id",
    "version",
    "title",
    "category",
    "description",
    "occurred_at",
    "country",
    "location",
    "sea_area",
    "severity",
    "confidence",
    "source_reliability",
    "information_credibility",
    "tlp",
    "distribution",
    "observables",
    "originator",
    "source_identity",
    "created",
    "modified",
    "revoked",
    "revoked_reason",
    "revoked_at",
    "correlations",
    "common_observables",
    "status",
    "refusal_reason",
    "next_version",
}
SNAPSHOT_FIELDS = READ_FIELDS - {
    "id",
    "version",
    "originator",
    "correlations",
    "common_observables",
    "status",
    "refusal_reason",
    "next_version",
}


def dist(**names: list[str]) -> dict[str, list[str]]:
    return {"member_states": [], "organizations": [], "sharing_groups": [], "users": [], **names}


def file(api: Api, who: Person, **overrides: Any) -> dict[str, Any]:
    """File a report and return it as the server answered."""
    response = api.post("/api/v1/reports", json=report_payload(**overrides), as_=who)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def read(api: Api, who: Person, report_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/reports/{report_id}", as_=who)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def listed(api: Api, who: Person, **params: str) -> set[str]:
    """Ids of every report a list with these filters gives `who` (one page is enough here)."""
    response = api.get("/api/v1/reports", params={"limit": "500", **params}, as_=who)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    return {item["id"] for item in page["items"]}


def count(db: Database, model: Any) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def api_with(db: Database, tmp_path: Path, **settings: Any) -> Api:
    """Like `api_for`, on a node with its own settings."""
    return api_for(db, tmp_path, **settings)


# ---------------------------------------------------------------- create and read


def test_create_returns_the_full_record_set_by_the_server(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    before = clock.now()
    response = api.post(
        "/api/v1/reports",
        json=report_payload(
            occurred_at=stamp(days_ago(5), offset_hours=6),
            country="bd",
            observables=[
                {"type": "phone-number", "value": "+880 1712-345678"},
                {"type": "domain-name", "value": "Example.COM."},
            ],
        ),
        as_=w.people["bd.analyst"],
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert set(report) == READ_FIELDS
    assert response.headers["Location"] == f"/api/v1/reports/{report['id']}"
    assert report["version"] == 1
    assert report["originator"] == {
        "user": "bd.analyst",
        "organization": "bd-cert",
        "member_state": "BD",
    }
    assert report["observables"] == [
        {"type": "phone-number", "value": PHONE},
        {"type": "domain-name", "value": "example.com"},
    ]
    assert report["occurred_at"] == millis(days_ago(5))
    assert report["country"] == "BD"
    assert report["distribution"] == dist(member_states=["IN"])
    assert report["location"] == {"lat": 22.33, "lon": 91.83}
    assert (report["tlp"], report["severity"], report["confidence"]) == ("amber", "high", 70)
    assert (report["source_reliability"], report["information_credibility"]) == ("B", "2")
    assert report["revoked"] is False
    assert report["revoked_reason"] is None and report["revoked_at"] is None
    assert report["source_identity"] is None
    assert report["correlations"] == [] and report["common_observables"] == []
    for field in ("created", "modified"):
        assert STAMP.match(report[field]), report[field]
    assert report["created"] == report["modified"]
    created = datetime.fromisoformat(report["created"])
    assert before - timedelta(seconds=1) <= created <= clock.now() + timedelta(seconds=1)

    again = api.get(response.headers["Location"], as_=w.people["bd.analyst"])
    assert again.status_code == 200
    assert again.json() == report
    assert read(api, w.people["in.analyst"], report["id"])["observables"] == report["observables"]


def test_defaults_fill_what_the_client_left_out(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    body = report_payload(tlp="green", distribution=None)
    for optional in (
        "description",
        "location",
        "sea_area",
        "source_reliability",
        "information_credibility",
        "distribution",
        "observables",
    ):
        del body[optional]
    response = api.post("/api/v1/reports", json=body, as_=w.people["bd.analyst"])
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["description"] == "" and report["location"] is None
    assert (report["source_reliability"], report["information_credibility"]) == ("F", "6")
    assert report["distribution"] == dist()
    assert report["observables"] == []


def test_idempotency_key_retried_post_creates_one_report(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    key = {"Idempotency-Key": "7c1e2f0a-retry"}
    first = api.post(
        "/api/v1/reports", json=report_payload(), headers=key, as_=w.people["bd.analyst"]
    )
    second = api.post(
        "/api/v1/reports", json=report_payload(), headers=key, as_=w.people["bd.analyst"]
    )
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert count(db, Report) == 1
    assert count(db, ReportVersion) == 1
    with db.session() as s:
        creations = s.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "report.create")
        )
    assert creations == 1

    # A key belongs to the user who sent it: another user's same key files their own report.
    other = api.post(
        "/api/v1/reports", json=report_payload(), headers=key, as_=w.people["in.analyst"]
    )
    assert other.status_code == 201, other.text
    assert other.json()["id"] != first.json()["id"]
    assert count(db, Report) == 2


# ---------------------------------------------------------------- update and history


def test_update_by_originating_analyst_makes_version_2_with_full_history(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    original = file(api, w.people["bd.analyst"])
    response = api.patch(
        f"/api/v1/reports/{original['id']}",
        json={"title": "Trafficking ring: second number found", "confidence": 85},
        as_=w.people["bd.analyst"],
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["version"] == 2
    assert updated["title"] == "Trafficking ring: second number found"
    assert updated["confidence"] == 85
    unchanged = READ_FIELDS - {"version", "title", "confidence", "modified"}
    assert {k: updated[k] for k in unchanged} == {k: original[k] for k in unchanged}
    assert STAMP.match(updated["modified"]) and updated["modified"] >= original["modified"]

    history = api.get(f"/api/v1/reports/{original['id']}/history", as_=w.people["in.analyst"])
    assert history.status_code == 200, history.text
    versions = history.json()
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["submitted_by"] for v in versions] == ["bd.analyst", "bd.analyst"]
    for v in versions:
        assert set(v["snapshot"]) == SNAPSHOT_FIELDS
        assert STAMP.match(v["date_added"]) and STAMP.match(v["modified"])
        assert v["snapshot"]["observables"] == [{"type": "phone-number", "value": PHONE}]
        assert v["snapshot"]["distribution"] == dist(member_states=["IN"])
    assert versions[0]["snapshot"]["title"] == original["title"]
    assert versions[0]["snapshot"]["confidence"] == 70
    assert versions[1]["snapshot"]["title"] == updated["title"]
    assert versions[1]["snapshot"]["confidence"] == 85

    # The search index follows the current version.
    assert listed(api, w.people["bd.analyst"], q="second number") == {original["id"]}
    assert listed(api, w.people["bd.analyst"], q="Bangladeshi") == set()

    # A duty officer of the originating organization may edit too.
    by_duty = api.patch(
        f"/api/v1/reports/{original['id']}", json={"severity": "critical"}, as_=w.people["bd.duty"]
    )
    assert by_duty.status_code == 200, by_duty.text
    assert by_duty.json()["version"] == 3
    assert (
        api.get(f"/api/v1/reports/{original['id']}/history", as_=w.people["mm.analyst"]).status_code
        == 404
    )


def test_update_changes_observables_marking_and_correlation_index(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    mine = file(api, w.people["bd.analyst"])
    theirs = file(
        api,
        w.people["in.analyst"],
        country="IN",
        distribution=dist(member_states=["BD"]),
        observables=[{"type": "domain-name", "value": "recruit-jobs.example"}],
    )
    response = api.patch(
        f"/api/v1/reports/{mine['id']}",
        json={
            "tlp": "amber+strict",
            "distribution": {"organizations": ["mm-cert"]},
            "observables": [{"type": "domain-name", "value": "Recruit-Jobs.Example."}],
        },
        as_=w.people["bd.analyst"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["observables"] == [
        {"type": "domain-name", "value": "recruit-jobs.example"}
    ]
    assert response.json()["distribution"] == dist(organizations=["mm-cert"])
    # Now shared with mm-cert only: India no longer sees it, Myanmar does.
    assert api.get(f"/api/v1/reports/{mine['id']}", as_=w.people["in.analyst"]).status_code == 404
    assert read(api, w.people["mm.analyst"], mine["id"])["version"] == 2
    # Its new observable correlates for the originator with India's report.
    correlations = read(api, w.people["bd.analyst"], mine["id"])["correlations"]
    assert correlations == [
        {
            "report_id": theirs["id"],
            "observable_type": "domain-name",
            "value": "recruit-jobs.example",
        }
    ]
    assert listed(api, w.people["bd.analyst"], observable=PHONE) == set()


def test_update_that_repeats_the_marking_keeps_the_distribution(
    db: Database, tmp_path: Path
) -> None:
    """A partial update replaces what is given; the distribution was not given."""
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    report = file(api, w.people["bd.analyst"])  # amber to India
    response = api.patch(
        f"/api/v1/reports/{report['id']}",
        json={"tlp": "amber", "confidence": 80},
        as_=w.people["bd.analyst"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["distribution"] == dist(member_states=["IN"])
    assert read(api, w.people["in.analyst"], report["id"])["confidence"] == 80


def test_who_may_not_update_or_revoke(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    report = file(api, w.people["bd.analyst"])  # amber to India
    expected = {
        "in.analyst": 403,  # reads it (India), another organization
        "in.coast": 403,  # reads it (India), another organization
        "bd.policy": 403,  # originating organization, but a policymaker
        "bd.admin": 403,  # originating organization, node administrator: no override
        "mm.analyst": 404,  # cannot read it: answered as if absent
        "bd.police": 404,  # same state, another organization, not in the distribution
        "in.watch": 404,  # an Indian CSO observer: state distribution is for agencies
    }
    path = f"/api/v1/reports/{report['id']}"
    for username, status in expected.items():
        who = w.people[username]
        changed = api.patch(path, json={"title": "Changed"}, as_=who)
        assert changed.status_code == status, (username, changed.text)
        revoked = api.post(f"{path}/revoke", json={"reason": "Not mine to revoke"}, as_=who)
        assert revoked.status_code == status, (username, revoked.text)
        assert changed.json()["errors"] == [] and revoked.json()["errors"] == []
    hidden = api.patch(path, json={"title": "Changed"}, as_=w.people["mm.analyst"])
    absent = api.patch(
        "/api/v1/reports/00000000-0000-4000-8000-000000000000",
        json={"title": "Changed"},
        as_=w.people["mm.analyst"],
    )
    assert hidden.json()["detail"].replace(report["id"], "ID") == absent.json()["detail"].replace(
        "00000000-0000-4000-8000-000000000000", "ID"
    )
    assert read(api, w.people["bd.analyst"], report["id"])["version"] == 1
    assert count(db, ReportVersion) == 1


# ---------------------------------------------------------------- revoke


def test_revoke_keeps_readers_marks_revoked_and_stops_correlating(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd, india = w.people["bd.analyst"], w.people["in.analyst"]
    ours = file(api, bd)  # amber to India, phone PHONE
    theirs = file(
        api,
        india,
        country="IN",
        distribution=dist(member_states=["BD"]),
        observables=[{"type": "phone-number", "value": "+880 1712 345678"}],
    )
    assert read(api, bd, theirs["id"])["correlations"] == [
        {"report_id": ours["id"], "observable_type": "phone-number", "value": PHONE}
    ]
    assert [c["report_id"] for c in read(api, india, ours["id"])["correlations"]] == [theirs["id"]]

    response = api.post(
        f"/api/v1/reports/{ours['id']}/revoke",
        json={"reason": "Duplicate of an earlier report"},
        as_=bd,
    )
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert revoked["revoked"] is True
    assert revoked["revoked_reason"] == "Duplicate of an earlier report"
    assert STAMP.match(revoked["revoked_at"])
    assert revoked["version"] == 2

    # The same readers still read it, marked revoked; others still do not.
    seen = read(api, india, ours["id"])
    assert seen["revoked"] is True and seen["revoked_reason"] == "Duplicate of an earlier report"
    assert ours["id"] in listed(api, india)
    assert api.get(f"/api/v1/reports/{ours['id']}", as_=w.people["mm.analyst"]).status_code == 404
    # It no longer correlates, either way round.
    assert read(api, bd, theirs["id"])["correlations"] == []
    assert read(api, india, ours["id"])["correlations"] == []
    # Counts are of live reports only.
    counts = api.get("/api/v1/reports/counts", params={"by": "country"}, as_=india).json()
    assert counts == {"by": "country", "rows": [{"key": "IN", "count": 1}]}
    # Revoking again changes nothing; a revoked report cannot be edited.
    again = api.post(f"/api/v1/reports/{ours['id']}/revoke", json={"reason": "Once more"}, as_=bd)
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 2
    assert again.json()["revoked_reason"] == "Duplicate of an earlier report"
    edit = api.patch(f"/api/v1/reports/{ours['id']}", json={"title": "Back"}, as_=bd)
    assert edit.status_code == 403, edit.text
    history = api.get(f"/api/v1/reports/{ours['id']}/history", as_=india).json()
    assert [v["snapshot"]["revoked"] for v in history] == [False, True]


# ---------------------------------------------------------------- list, search, count


def _four_reports(api: Api, w: World) -> dict[str, str]:
    bd = w.people["bd.analyst"]
    return {
        "R1": file(
            api,
            bd,
            title="Recruitment ring",
            category="organized-crime.human-trafficking",
            description="Victims moved through Cox's Bazar.",
            country="BD",
            occurred_at=stamp(days_ago(5)),
            observables=[{"type": "phone-number", "value": "+880 1712-345678"}],
        )["id"],
        "R2": file(
            api,
            bd,
            title="Phishing wave",
            category="cyber.attack",
            country="IN",
            description="Credential harvesting against ministries.",
            tlp="green",
            distribution=dist(),
            occurred_at=stamp(days_ago(36, hour=0)),
            observables=[{"type": "domain-name", "value": "Phish-Login.Example.org."}],
        )["id"],
        "R3": file(
            api,
            bd,
            title="Seizure at the border",
            category="organized-crime.drug-trafficking",
            description="Methamphetamine tablets seized.",
            country="MM",
            tlp="clear",
            distribution=dist(),
            occurred_at=stamp(days_ago(52, hour=0)),
            observables=[],
        )["id"],
        "R4": file(
            api,
            bd,
            title="Boarding in the bay",
            category="maritime.piracy",
            description="Crew held for ransom.",
            country="BD",
            tlp="red",
            distribution=dist(users=["in.analyst"]),
            occurred_at=stamp(days_ago(97, hour=0)),
            observables=[{"type": "vessel-imo", "value": "9074729"}],
        )["id"],
    }


def test_list_filters(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    r = _four_reports(api, w)
    bd = w.people["bd.analyst"]

    def ids(*names: str) -> set[str]:
        return {r[n] for n in names}

    assert listed(api, bd) == ids("R1", "R2", "R3", "R4")
    assert listed(api, bd, category="organized-crime") == ids("R1", "R3")
    assert listed(api, bd, category="organized-crime.human-trafficking") == ids("R1")
    assert listed(api, bd, category="organized") == ids("R1", "R3")  # a word of its name
    assert listed(api, bd, country="IN") == ids("R2")
    assert listed(api, bd, country="bd") == ids("R1", "R4")
    assert listed(api, bd, tlp="green") == ids("R2")
    assert listed(api, bd, tlp="red") == ids("R4")
    r2_at = days_ago(36, hour=0)
    assert listed(api, bd, since=stamp(r2_at)) == ids("R1", "R2")
    assert listed(api, bd, since=stamp(r2_at, offset_hours=5.5)) == ids("R1", "R2")
    assert listed(api, bd, until=stamp(r2_at)) == ids("R3", "R4")
    assert listed(api, bd, since=stamp(days_ago(66, hour=0)), until=stamp(r2_at)) == ids("R3")
    assert listed(api, bd, category="organized-crime", country="BD") == ids("R1")
    # Observables as a user types them find the normalised value.
    assert listed(api, bd, observable="+880 1712-345678") == ids("R1")
    assert listed(api, bd, observable=PHONE) == ids("R1")
    assert listed(api, bd, observable="Phish-Login.Example.ORG") == ids("R2")
    assert listed(api, bd, observable="IMO 9074729") == ids("R4")
    assert listed(api, bd, observable="phone-number:+880 1712-345678") == ids("R1")
    assert listed(api, bd, observable="+880 1999-999999") == set()
    # Full text: words of the title and description, and labels of observable values.
    assert listed(api, bd, q="Bazar") == ids("R1")
    assert listed(api, bd, q="bazar victims") == ids("R1")
    assert listed(api, bd, q="phish") == ids("R2")
    assert listed(api, bd, q="login") == ids("R2")
    assert listed(api, bd, q="harvest") == ids("R2")  # the last word is a prefix
    assert listed(api, bd, q="methamphetamine") == ids("R3")
    assert listed(api, bd, q="ransom crew") == ids("R4")
    assert listed(api, bd, q="nothing-like-this") == set()
    assert listed(api, bd, q="phish", tlp="clear") == set()


def test_search_finds_words_in_the_region_s_scripts(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd = w.people["bd.analyst"]
    report = file(api, bd, description="মানব পাচার চক্র কক্সবাজার; मानव तस्करी गिरोह; လူကုန်ကူးမှု")
    file(api, bd, description="An unrelated report in English.")
    for q in ("পাচার", "মানব পাচার", "কক্স", "तस्करी", "गिरोह", "လူကုန်ကူးမှု"):
        assert listed(api, bd, q=q) == {report["id"]}, q


def test_list_and_search_show_each_reader_only_what_was_shared(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    r = _four_reports(api, w)
    india, myanmar, watch = w.people["in.analyst"], w.people["mm.analyst"], w.people["in.watch"]
    assert listed(api, india) == {r["R1"], r["R2"], r["R3"], r["R4"]}
    assert listed(api, myanmar) == {r["R2"], r["R3"]}
    assert listed(api, watch) == {r["R3"]}  # observers read TLP:CLEAR only
    assert listed(api, w.people["bd.police"]) == {r["R2"], r["R3"]}
    for hidden_query in (
        {"q": "Bazar"},
        {"observable": PHONE},
        {"q": "ransom"},
        {"observable": "IMO 9074729"},
        {"category": "maritime"},
    ):
        assert listed(api, myanmar, **hidden_query) == set(), hidden_query
    assert listed(api, india, q="ransom") == {r["R4"]}
    assert listed(api, watch, q="phish") == set()


def test_pagination_walks_every_page_without_duplicates_or_gaps(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd, india = w.people["bd.analyst"], w.people["in.analyst"]
    visible, hidden = [], []
    for i in range(7):
        visible.append(file(api, bd, title=f"Shared {i}")["id"])
        if i % 2 == 0:  # interleave reports India may not see
            hidden.append(file(api, bd, title=f"Internal {i}", distribution=dist())["id"])
    for who, expected in ((india, set(visible)), (bd, set(visible) | set(hidden))):
        seen: list[str] = []
        stamps: list[tuple[str, str]] = []
        cursor: str | None = None
        pages = 0
        while True:
            params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
            response = api.get("/api/v1/reports", params=params, as_=who)
            assert response.status_code == 200, response.text
            page = response.json()
            assert 1 <= len(page["items"]) <= 2
            seen.extend(item["id"] for item in page["items"])
            stamps.extend((item["modified"], item["id"]) for item in page["items"])
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert pages < 20
        assert len(seen) == len(set(seen)), "a report came twice"
        assert set(seen) == expected, "a report was skipped or leaked"
        assert pages == (len(expected) + 1) // 2
        assert stamps == sorted(stamps, reverse=True), "not newest change first"


def test_counts_by_field_count_only_live_visible_reports(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd = w.people["bd.analyst"]
    file(api, bd)  # BD, amber to India
    file(api, bd, distribution=dist())  # BD, bd-cert only
    file(api, bd, country="IN", tlp="green", distribution=dist())
    file(api, bd, country="MM", tlp="clear", distribution=dist())
    gone = file(api, bd, country="LK")
    assert (
        api.post(
            f"/api/v1/reports/{gone['id']}/revoke", json={"reason": "Filed in error"}, as_=bd
        ).status_code
        == 200
    )

    def counts(who: str, **params: str) -> dict[str, int]:
        response = api.get("/api/v1/reports/counts", params=params, as_=w.people[who])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["by"] == params.get("by", "category")
        return {row["key"]: row["count"] for row in body["rows"]}

    assert counts("bd.analyst", by="country") == {"BD": 2, "IN": 1, "MM": 1}
    assert counts("in.analyst", by="country") == {"BD": 1, "IN": 1, "MM": 1}
    assert counts("mm.analyst", by="country") == {"IN": 1, "MM": 1}
    assert counts("in.watch", by="country") == {"MM": 1}
    assert counts("bd.analyst", by="tlp") == {"amber": 2, "green": 1, "clear": 1}
    assert counts("bd.analyst", by="country", country="BD") == {"BD": 2}
    assert counts("bd.analyst") == {"organized-crime.human-trafficking": 4}


# ---------------------------------------------------------------- correlation threshold


def test_common_values_stop_correlating_per_reader(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_with(db, tmp_path, correlation_threshold=3)
    bd = w.people["bd.analyst"]
    to_india = [file(api, bd, title=f"To India {i}")["id"] for i in range(2)]
    internal = [file(api, bd, title=f"Internal {i}", distribution=dist())["id"] for i in range(3)]

    # bd-cert sees all five: the value is common, and lists no correlation.
    for report_id in to_india + internal:
        seen = read(api, w.people["bd.duty"], report_id)
        assert seen["common_observables"] == [{"observable_type": "phone-number", "value": PHONE}]
        assert seen["correlations"] == []
    # India sees two: they correlate with each other, and nothing says 'common'.
    india = w.people["in.analyst"]
    for report_id, other in zip(to_india, reversed(to_india), strict=True):
        seen = read(api, india, report_id)
        assert seen["common_observables"] == []
        assert seen["correlations"] == [
            {"report_id": other, "observable_type": "phone-number", "value": PHONE}
        ]
    assert api.get(f"/api/v1/reports/{internal[0]}", as_=india).status_code == 404

    # The same store under the default threshold (20): everything correlates.
    default = api_for(db, tmp_path)
    seen = read(default, w.people["bd.duty"], to_india[0])
    assert seen["common_observables"] == []
    assert {c["report_id"] for c in seen["correlations"]} == set(to_india[1:] + internal)


# ---------------------------------------------------------------- node and registry


def test_healthz_and_openapi(db: Database, tmp_path: Path) -> None:
    api = api_for(db, tmp_path)
    health = api.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    spec = api.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/reports"])
    assert {"get", "patch"} <= set(paths["/api/v1/reports/{report_id}"])
    assert "/api/v1/reports/counts" in paths


def test_registry_reads(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    with db.session(write=True) as s:
        group = registry.create_sharing_group(
            s, slug="bay-of-bengal", name="Bay of Bengal", owner=w.orgs["bd-cert"]
        )
        registry.set_group_members(
            s,
            group=group,
            acting_org=w.orgs["bd-cert"],
            organizations=[w.orgs["in-coastguard"]],
            member_states=["MM"],
        )
    api = api_for(db, tmp_path)
    analyst = w.people["bd.analyst"]

    def get(path: str, who: Person = analyst) -> Any:
        response = api.get(f"/api/v1/{path}", as_=who)
        assert response.status_code == 200, response.text
        return response.json()

    states = get("member-states")
    assert {s["code"] for s in states} == {"BD", "BT", "IN", "MM", "NP", "LK", "TH"}
    assert {"code": "BD", "name": "Bangladesh"} in states
    orgs = {o["slug"]: o for o in get("organizations")}
    assert {
        "bd-cert",
        "bd-police",
        "in-cert",
        "in-coastguard",
        "mm-cert",
        "in-watch",
        "bimstec-secretariat",
    } <= set(orgs)
    assert orgs["in-watch"]["type"] == "cso" and orgs["in-watch"]["member_state"] == "IN"
    assert get("sharing-groups") == [
        {
            "slug": "bay-of-bengal",
            "name": "Bay of Bengal",
            "owner": "bd-cert",
            "organizations": ["in-coastguard"],
            "member_states": ["MM"],
        }
    ]
    taxonomy = get("taxonomy")
    assert taxonomy["version"]
    assert {"organized-crime", "organized-crime.human-trafficking", "maritime.piracy"} <= {
        c["id"] for c in taxonomy["categories"]
    }
    users = {u["username"]: u["organization"] for u in get("users")}
    assert users == {name: p.org.slug for name, p in w.people.items()}
    watch = api.get("/api/v1/users", as_=w.people["in.watch"])
    assert watch.status_code == 403, watch.text
    assert get("me", w.people["in.coast"]) == {
        "username": "in.coast",
        "display_name": "In.Coast",
        "organization": "in-coastguard",
        "role": "analyst",
        "member_state": "IN",
    }
    assert get("me", w.people["in.watch"])["role"] == "observer"
    for path in ("me", "member-states", "organizations", "sharing-groups", "taxonomy", "users"):
        assert api.get(f"/api/v1/{path}").status_code == 401, path


def test_audience_of_amber_to_india(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)

    def audience(who: str, body: dict[str, Any]) -> Any:
        response = api.post("/api/v1/sharing/audience", json=body, as_=w.people[who])
        assert response.status_code == 200, response.text
        return response.json()

    amber = audience("bd.analyst", {"tlp": "amber", "distribution": {"member_states": ["IN"]}})
    assert amber["member_states"] == ["IN"]  # only India comes in whole, not Bangladesh
    assert amber["organizations"] == ["bd-cert", "in-cert", "in-coastguard"]
    assert "in-watch" not in amber["organizations"]
    assert amber["user_count"] == 6  # four at bd-cert, one each at in-cert and in-coastguard
    assert amber["scope"] == "distribution" and amber["organization_count"] == 3
    bd, india = amber["states"]
    assert (bd["code"], bd["whole"], bd["user_count"]) == ("BD", False, 4)
    assert bd["organizations"] == [
        {
            "slug": "bd-cert",
            "name": "BD-CERT",
            "member_state": "BD",
            "user_count": 4,
            "whole": True,
            "reasons": [{"kind": "originator", "ref": "", "name": ""}],
        }
    ]
    assert (india["code"], india["name"], india["whole"]) == ("IN", "India", True)
    assert [o["slug"] for o in india["organizations"]] == ["in-cert", "in-coastguard"]

    red = audience("bd.analyst", {"tlp": "red", "distribution": {"users": ["mm.analyst"]}})
    assert (red["member_states"], red["organizations"]) == ([], ["bd-cert", "mm-cert"])
    assert red["user_count"] == 2
    assert [(p["username"], p["organization"]) for p in red["people"]] == [
        ("bd.analyst", "bd-cert"),
        ("mm.analyst", "mm-cert"),
    ]
    green = audience("bd.analyst", {"tlp": "green"})
    assert green["user_count"] == len(w.people) - 1  # every user but the observer
    assert (green["scope"], green["member_states"]) == ("members", [])
    refused = api.post(
        "/api/v1/sharing/audience",
        json={"tlp": "green", "distribution": {"member_states": ["IN"]}},
        as_=w.people["bd.analyst"],
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["distribution.member_states"]
