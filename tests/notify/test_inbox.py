"""The inbox: a subscriber hears of new reports they may read, and of nothing else.

Bangladesh's CERT files; India's CERT analyst subscribes. Around them, Myanmar's
analyst and an Indian civil-society observer, who must never see what is not theirs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn import jobs
from rsn.audit.models import AuditRecord
from rsn.interop import staged
from rsn.notify import matching
from rsn.notify.models import Notification
from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import Api, Person, World, api_for, bimstec_world, report_payload
from tests.interop.test_staged import csv_file as staged_csv
from tests.interop.test_staged import reader as staged_items
from tests.jobs.conftest import listed, run_jobs

GREEN: dict[str, Any] = {"tlp": "green", "distribution": {}}
TRAFFICKING = "organized-crime.human-trafficking"
# Markings of Bangladesh's reports that India's users may not read.
NOT_FOR_INDIA: list[dict[str, Any]] = [
    {"tlp": "amber+strict", "distribution": {"organizations": ["mm-cert"]}},
    {"tlp": "red", "distribution": {"users": ["mm.analyst"]}},
    {"tlp": "amber", "distribution": {"member_states": ["MM"]}},
]
NOT_FOR_INDIA_IDS = ["amber+strict-of-another-org", "red-to-another", "amber-to-another-state"]


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def subscribe(api: Api, who: Person, **body: Any) -> str:
    answer = api.post("/api/v1/subscriptions", as_=who, json={"name": "watch", **body})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def file(api: Api, who: Person, *, draft: bool = False, **fields: Any) -> str:
    url = "/api/v1/reports?draft=true" if draft else "/api/v1/reports"
    answer = api.post(url, as_=who, json=report_payload(**{**GREEN, **fields}))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def inbox(api: Api, who: Person) -> list[dict[str, Any]]:
    answer = api.get("/api/v1/inbox", as_=who)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def unread(api: Api, who: Person) -> int:
    return int(api.get("/api/v1/inbox/unread", as_=who).json()["unread"])


def stored(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Notification)) or 0)


def test_a_matching_report_reaches_the_subscriber_and_no_one_else(
    db: Database, api: Api, world: World
) -> None:
    reader, other = world.people["in.analyst"], world.people["mm.analyst"]
    subscribe(api, reader, filters={"category": "trafficking", "country": "BD"})
    x = file(api, world.people["bd.analyst"], title="Ring at Cox's Bazar")
    file(api, world.people["bd.analyst"], category="cyber.attack", title="Not theirs")
    run_jobs(db)

    items = inbox(api, reader)
    assert [(i["title"], i["link"], i["read"], i["kind"]) for i in items] == [
        ("Ring at Cox's Bazar", f"/reports/{x}", False, "report.filed")
    ]
    assert unread(api, reader) == 1
    assert inbox(api, other) == [] and unread(api, other) == 0


@pytest.mark.parametrize("marking", NOT_FOR_INDIA, ids=NOT_FOR_INDIA_IDS)
def test_a_report_the_subscriber_may_not_read_never_reaches_them(
    db: Database, api: Api, world: World, marking: dict[str, Any]
) -> None:
    """Subscribed to everything, India's analyst hears nothing of what is not theirs."""
    reader, watcher = world.people["in.analyst"], world.people["in.watch"]
    subscribe(api, reader)
    subscribe(api, watcher)
    subscribe(api, world.people["mm.analyst"])
    file(api, world.people["bd.analyst"], **marking)
    run_jobs(db)

    for who in (reader, watcher):
        assert inbox(api, who) == [] and unread(api, who) == 0
    with db.session() as session:
        owners = set(session.scalars(select(Notification.user_id)))
    assert owners == {world.people["mm.analyst"].user.id}
    assert len(inbox(api, world.people["mm.analyst"])) == 1


def test_a_report_narrowed_after_the_match_vanishes_from_the_inbox(
    db: Database, api: Api, world: World
) -> None:
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    x = file(api, world.people["bd.analyst"], title="Wide at first")
    run_jobs(db)
    assert [i["title"] for i in inbox(api, reader)] == ["Wide at first"]
    notification = inbox(api, reader)[0]["id"]

    narrowed = api.patch(
        f"/api/v1/reports/{x}",
        as_=world.people["bd.analyst"],
        json={"tlp": "amber+strict", "distribution": {"organizations": ["bd-police"]}},
    )
    assert narrowed.status_code == 200, narrowed.text
    assert inbox(api, reader) == [] and unread(api, reader) == 0
    gone = api.post(f"/api/v1/inbox/{notification}/read", as_=reader)
    unknown = api.post("/api/v1/inbox/no-such-notification/read", as_=reader)
    assert gone.status_code == unknown.status_code == 404
    assert gone.json()["detail"].replace(notification, "X") == unknown.json()["detail"].replace(
        "no-such-notification", "X"
    )


def test_the_title_is_the_reports_current_one(db: Database, api: Api, world: World) -> None:
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    x = file(api, world.people["bd.analyst"], title="First title")
    run_jobs(db)
    api.patch(f"/api/v1/reports/{x}", as_=world.people["bd.analyst"], json={"title": "Renamed"})
    assert [i["title"] for i in inbox(api, reader)] == ["Renamed"]


def test_a_draft_does_not_notify_its_release_does(db: Database, api: Api, world: World) -> None:
    with db.session(write=True) as s:
        org = registry.get_organization(s, slug="bd-cert")
        registry.set_release_required(s, organization=org, required=True)
    world.person("bd.liaison", "bd-cert", role="liaison")
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    x = file(api, world.people["bd.analyst"], draft=True, title="Held back")
    run_jobs(db)
    assert inbox(api, reader) == [] and stored(db) == 0

    submitted = api.post(f"/api/v1/reports/{x}/submit", as_=world.people["bd.analyst"])
    assert submitted.json()["status"] == "pending"
    run_jobs(db)
    assert inbox(api, reader) == []

    released = api.post(f"/api/v1/reports/{x}/release", as_=world.people["bd.liaison"])
    assert released.status_code == 200, released.text
    run_jobs(db)
    assert [i["title"] for i in inbox(api, reader)] == ["Held back"]


def test_a_draft_published_without_release_notifies(db: Database, api: Api, world: World) -> None:
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    x = file(api, world.people["bd.analyst"], draft=True, title="Drafted")
    api.post(f"/api/v1/reports/{x}/submit", as_=world.people["bd.analyst"])
    run_jobs(db)
    assert [i["title"] for i in inbox(api, reader)] == ["Drafted"]


def test_running_the_match_twice_adds_nothing(db: Database, api: Api, world: World) -> None:
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    x = file(api, world.people["bd.analyst"])
    run_jobs(db)
    assert stored(db) == 1
    with db.session(write=True) as session:
        matching.match(session, [x])
    with db.session(write=True) as session:
        jobs.enqueue(session, matching.MATCH, {"reports": [x]})
    run_jobs(db)
    assert stored(db) == 1 and len(inbox(api, reader)) == 1


def test_a_rolled_back_filing_enqueues_nothing(db: Database, api: Api, world: World) -> None:
    subscribe(api, world.people["in.analyst"])
    before = len(listed(db))
    with pytest.raises(RuntimeError), db.session(write=True) as session:
        matching.enqueue_match(session, ["some-report"], "report.filed")
        raise RuntimeError("the filing failed")
    assert len(listed(db)) == before
    with db.session(write=True) as session:
        assert matching.enqueue_match(session, ["some-report"], "report.filed") is not None
    assert len(listed(db)) == before + 1


def test_filing_with_no_subscription_queues_no_job(db: Database, api: Api, world: World) -> None:
    file(api, world.people["bd.analyst"])
    assert [j.name for j in listed(db) if j.name.startswith("notify.")] == []


def test_marking_read_is_the_owners_alone(db: Database, api: Api, world: World) -> None:
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    subscribe(api, world.people["mm.analyst"])
    file(api, world.people["bd.analyst"])
    run_jobs(db)
    mine = inbox(api, reader)[0]["id"]

    for other in ("mm.analyst", "in.watch", "bd.admin"):
        answer = api.post(f"/api/v1/inbox/{mine}/read", as_=world.people[other])
        assert answer.status_code == 404, other
    assert unread(api, reader) == 1
    assert api.post(f"/api/v1/inbox/{mine}/read", as_=reader).status_code == 204
    assert [i["read"] for i in inbox(api, reader)] == [True] and unread(api, reader) == 0
    assert [i["read"] for i in inbox(api, world.people["mm.analyst"])] == [False]
    assert api.get("/api/v1/inbox").status_code == 401


def test_the_inbox_pages_newest_first(db: Database, api: Api, world: World, clock: Any) -> None:
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    for n in range(3):
        file(api, world.people["bd.analyst"], title=f"Report {n}")
        run_jobs(db)
        clock.advance(minutes=1)
    first = api.get("/api/v1/inbox?limit=2", as_=reader).json()
    assert [i["title"] for i in first["items"]] == ["Report 2", "Report 1"]
    rest = api.get(f"/api/v1/inbox?limit=2&cursor={first['next_cursor']}", as_=reader).json()
    assert [i["title"] for i in rest["items"]] == ["Report 0"] and rest["next_cursor"] is None
    assert api.get("/api/v1/inbox?limit=101", as_=reader).status_code == 422


def test_a_long_import_notifies_when_it_is_published_not_while_it_is_staged(
    db: Database, api: Api, world: World, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its chunks are open to no one: they file nothing; the publication files them all."""
    monkeypatch.setattr(staged, "CHUNK", 10)
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    importer = world.people["bd.analyst"].principal
    seen: list[tuple[int, int]] = []

    def look() -> None:  # two chunks are stored by now
        run_jobs(db)
        seen.append((len(inbox(api, reader)), len(listed(db))))

    items = staged_items(db, importer, staged_csv(clock, 25), {(2, 25 - 1): look})
    staged.run(db, principal=importer, items=items, format_name="csv")
    assert seen == [(0, 0)]  # nothing matched, and no job queued, while staged
    run_jobs(db)
    assert len(inbox(api, reader)) == 25


def test_an_inbox_that_shows_anothers_title_is_a_recorded_disclosure(
    db: Database, api: Api, world: World
) -> None:
    reader = world.people["in.analyst"]
    subscribe(api, reader)
    x = file(api, world.people["bd.analyst"])
    run_jobs(db)
    assert len(inbox(api, reader)) == 1
    with db.session() as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "inbox.list")
        ).all()
    assert [(r.actor, r.item_ids) for r in records] == [("in.analyst", [x])]
