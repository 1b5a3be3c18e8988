"""Webhooks, e-mails and digests: what leaves the node, to whom, and when.

India's CERT analyst subscribes; Bangladesh's CERT files. A real receiver on
127.0.0.1 takes the webhooks (the node is told to allow loopback, as the demo is), and
a real SMTP server (aiosmtpd) the mail. What a message carries is decided when it is
sent: content of `clear` and `green` reports only, ids and links above that, and
nothing of a report its recipient may no longer read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rsn import jobs
from rsn.audit.models import AuditRecord
from rsn.notify import delivery, matching
from rsn.notify.models import Delivery, Notification
from rsn.registry.models import User
from rsn.store import Database, utcnow
from tests.conftest import Clock
from tests.factories import Api, Person, World, api_for, bimstec_world, report_payload
from tests.jobs.conftest import listed, wait_for
from tests.notify.receiver import Answer, Receiver, receiving
from tests.notify.test_inbox import NOT_FOR_INDIA, NOT_FOR_INDIA_IDS
from tests.smtp import SmtpServer

SECRET = "a-secret-of-thirty-two-characters"
GREEN: dict[str, Any] = {"tlp": "green", "distribution": {}}
AMBER_TO_INDIA: dict[str, Any] = {"tlp": "amber", "distribution": {"member_states": ["IN"]}}
LOOPBACK = ("127.0.0.0/8",)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World, smtp_server: SmtpServer) -> Api:
    return api_for(
        db,
        tmp_path,
        webhook_allow=LOOPBACK,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_from="rsn@node.example",
        public_url="https://rsn.example.org",
    )


def run_due(db: Database) -> None:
    """Run every job that is due now by the node's clock; those scheduled later wait."""
    running = jobs.workers(db, threads=1, stall_after=3)
    running.start()

    def settled() -> bool:
        now = utcnow()
        return all(
            j.state in {"succeeded", "failed"}
            or (j.state == "todo" and j.scheduled_at is not None and j.scheduled_at > now)
            for j in listed(db)
        )

    try:
        wait_for(settled)
    finally:
        running.stop()
    assert [j.last_error for j in listed(db) if j.state == "failed"] == []


def subscribe(api: Api, who: Person, **body: Any) -> dict[str, Any]:
    answer = api.post("/api/v1/subscriptions", as_=who, json={"name": "watch", **body})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def hook(api: Api, who: Person, receiver: Receiver, **body: Any) -> dict[str, Any]:
    return subscribe(api, who, channel="webhook", target=receiver.url(), secret=SECRET, **body)


def file(api: Api, who: Person, **fields: Any) -> str:
    answer = api.post("/api/v1/reports", as_=who, json=report_payload(**{**GREEN, **fields}))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def deliveries(db: Database) -> list[Delivery]:
    with db.session() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.created, Delivery.id)))


def verify(db: Database, who: Person, address: str) -> None:
    with db.session(write=True) as session:
        user = session.get(User, who.user.id)
        assert user is not None
        user.email, user.email_verified_at = address, utcnow()


def test_a_webhook_carries_green_content_and_only_links_above_it(
    db: Database, api: Api, world: World, receiver: Receiver
) -> None:
    reader, author = world.people["in.analyst"], world.people["bd.analyst"]
    sub = hook(api, reader, receiver)
    green = file(api, author, title="Ring at Cox's Bazar")
    amber = file(api, author, title="Named informant in Teknaf", **AMBER_TO_INDIA)
    run_due(db)

    assert len(receiver.got) == 2
    by_item = {}
    for got in receiver.got:
        path, headers, raw = got.path, got.headers, got.body
        assert path == "/hook"
        assert headers["Content-Type"] == "application/json"
        expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-RSN-Signature"] == f"sha256={expected}"
        body = json.loads(raw)
        assert body["event"] == headers["X-RSN-Event"] == "report.filed"
        assert body["subscription_id"] == sub["id"] and body["mode"] == "immediate"
        assert body["delivery_id"] == headers["X-RSN-Delivery"]
        [item] = body["items"]
        by_item[item["id"]] = (item, raw)

    whole, _ = by_item[green]
    as_read = api.get(f"/api/v1/reports/{green}", as_=reader).json()
    # As GET answers it to the subscriber, but for correlations to what may not leave.
    assert {c["report_id"] for c in as_read["correlations"]} == {amber}
    assert whole.pop("correlations") == []
    del as_read["correlations"]
    assert whole == {**as_read, "link": f"https://rsn.example.org/reports/{green}"}
    linked, raw = by_item[amber]
    assert linked == {"id": amber, "link": f"https://rsn.example.org/reports/{amber}"}
    assert b"Teknaf" not in raw and b"informant" not in raw

    assert [d.status for d in deliveries(db)] == ["sent", "sent"]
    shown = api.get(f"/api/v1/subscriptions/{sub['id']}", as_=reader).json()
    assert shown["last_delivery"]["status"] == "sent"
    assert shown["last_delivery"]["attempts"] == 1 and shown["last_delivery"]["items"] == 1
    with db.session() as session:
        actions = [
            (r.action, r.item_ids)
            for r in session.scalars(select(AuditRecord).where(AuditRecord.action.like("notify.%")))
        ]
    sent = [ids for action, ids in actions if action == "notify.webhook.sent"]
    assert sorted(ids[1] for ids in sent) == sorted([green, amber])
    # The green report's fields went to someone not its originator; the link did not.
    assert ("notify.webhook", [green]) in actions
    assert not any(a == "notify.webhook" and amber in ids for a, ids in actions)


@pytest.mark.parametrize("marking", NOT_FOR_INDIA, ids=NOT_FOR_INDIA_IDS)
def test_nothing_is_sent_of_a_report_the_subscriber_may_not_read(
    db: Database, api: Api, world: World, receiver: Receiver, marking: dict[str, Any]
) -> None:
    hook(api, world.people["in.analyst"], receiver)
    hook(api, world.people["in.watch"], receiver)
    file(api, world.people["bd.analyst"], **marking)
    run_due(db)
    assert receiver.got == [] and deliveries(db) == []


@pytest.mark.parametrize("marking", NOT_FOR_INDIA, ids=NOT_FOR_INDIA_IDS)
def test_no_mail_tells_of_a_report_the_subscriber_may_not_read(
    db: Database, api: Api, world: World, smtp_server: SmtpServer, marking: dict[str, Any]
) -> None:
    for who in ("in.analyst", "in.watch"):
        verify(db, world.people[who], f"{who}@example.org")
        subscribe(api, world.people[who], channel="email", mode="digest")
    file(api, world.people["bd.analyst"], **marking)
    run_due(db)
    with db.session(write=True) as session:  # a digest run long after: still nothing
        assert delivery.collect_due(session, utcnow() + timedelta(days=2)) == []
    run_due(db)
    assert smtp_server.messages == [] and deliveries(db) == []


def test_a_report_narrowed_after_the_match_is_not_sent(
    db: Database, api: Api, world: World, receiver: Receiver
) -> None:
    """Matched while wide, narrowed before its delivery ran: the delivery is dropped."""
    reader, author = world.people["in.analyst"], world.people["bd.analyst"]
    hook(api, reader, receiver)
    x = file(api, author, title="Wide at first")
    with db.session(write=True) as session:
        matching.match(session, [x])  # what the queued match job does
    [opened] = deliveries(db)
    assert opened.status == "pending" and opened.item_ids == [x]

    narrowed = api.patch(
        f"/api/v1/reports/{x}",
        as_=author,
        json={"tlp": "amber+strict", "distribution": {"organizations": ["bd-police"]}},
    )
    assert narrowed.status_code == 200, narrowed.text
    run_due(db)
    assert receiver.got == []
    [dropped] = deliveries(db)
    assert dropped.status == "dropped"
    assert dropped.last_error == "none of its reports may be told to its owner any more"


@pytest.fixture
def timed(sqlite_db: Database, tmp_path: Path, clock: Clock) -> tuple[Database, World, Api]:
    """SQLite, whose job runner reads the node's clock: a test moves it to a retry's time."""
    world = bimstec_world(sqlite_db)
    return sqlite_db, world, api_for(sqlite_db, tmp_path, webhook_allow=LOOPBACK)


def test_a_failing_receiver_is_retried_with_growing_waits_then_shown_failed(
    timed: tuple[Database, World, Api], clock: Clock, receiver: Receiver
) -> None:
    db, world, api = timed
    reader = world.people["in.analyst"]
    sub = hook(api, reader, receiver)
    receiver.answer = Answer(status=500)
    file(api, world.people["bd.analyst"])

    waits: list[float] = []
    for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
        run_due(db)
        assert len(receiver.got) == attempt
        [d] = deliveries(db)
        assert d.attempts == attempt and d.last_error == "answered 500 Internal Server Error."
        if attempt < delivery.MAX_ATTEMPTS:
            assert d.status == "pending"
            later = [j for j in listed(db) if j.state == "todo"]
            assert len(later) == 1 and later[0].scheduled_at is not None
            wait = (later[0].scheduled_at - clock.now).total_seconds()
            base = delivery.FIRST_WAIT * 2 ** (attempt - 1)
            assert 0.5 * base <= wait <= 1.5 * base
            waits.append(wait)
            clock.advance(seconds=wait + 1)
    assert d.status == "failed" and len(waits) == delivery.MAX_ATTEMPTS - 1
    ids = {got.headers["X-RSN-Delivery"] for got in receiver.got}
    assert ids == {d.id}  # one delivery, tried six times: the receiver can tell

    shown = api.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", as_=reader).json()
    assert [(s["status"], s["attempts"], s["last_error"]) for s in shown] == [
        ("failed", delivery.MAX_ATTEMPTS, "answered 500 Internal Server Error.")
    ]
    others = api.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", as_=world.people["in.watch"])
    assert others.status_code == 404


def test_a_receiver_that_recovers_gets_the_delivery(
    timed: tuple[Database, World, Api], clock: Clock, receiver: Receiver
) -> None:
    db, world, api = timed
    hook(api, world.people["in.analyst"], receiver)
    receiver.answer = Answer(status=503)
    file(api, world.people["bd.analyst"])
    run_due(db)
    receiver.answer = Answer()
    clock.advance(seconds=delivery.FIRST_WAIT * 1.5 + 1)
    run_due(db)
    [d] = deliveries(db)
    assert (d.status, d.attempts, d.last_error) == ("sent", 2, None)
    assert len(receiver.got) == 2


def test_the_waits_are_jittered() -> None:
    rng = random.Random(7)
    waits = [delivery.wait_before(3, rng) for _ in range(50)]
    base = delivery.FIRST_WAIT * 4
    assert all(0.5 * base <= w <= 1.5 * base for w in waits)
    assert len({round(w, 3) for w in waits}) > 40  # spread, not one instant for all


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"channel": "webhook", "target": "https://10.0.0.1/hook", "secret": SECRET},
            "target",
            "private",
        ),
        (
            {"channel": "webhook", "target": "https://169.254.169.254/", "secret": SECRET},
            "target",
            "",
        ),
        ({"channel": "webhook", "target": "ftp://example.org/", "secret": SECRET}, "target", ""),
        ({"channel": "webhook", "secret": SECRET}, "target", "is needed"),
        ({"channel": "webhook", "target": "https://8.8.8.8/hook"}, "secret", "16 characters"),
        (
            {"channel": "webhook", "target": "https://8.8.8.8/hook", "secret": "short"},
            "secret",
            "16",
        ),
        ({"channel": "inbox", "target": "https://8.8.8.8/hook"}, "target", "only for webhook"),
        ({"channel": "email", "secret": SECRET}, "secret", "only for webhook"),
        ({"channel": "email"}, "channel", "verified e-mail address"),
        ({"channel": "pigeon"}, "channel", ""),
        ({"mode": "weekly"}, "mode", ""),
    ],
)
def test_a_subscription_that_cannot_be_delivered_is_refused_naming_the_field(
    db: Database, api: Api, world: World, body: dict[str, Any], field: str, words: str
) -> None:
    answer = api.post(
        "/api/v1/subscriptions", as_=world.people["in.analyst"], json={"name": "x", **body}
    )
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["errors"]
    assert problem["field"] == field and words in problem["message"]
    with db.session() as session:
        assert session.scalars(select(Delivery)).all() == []


def test_loopback_needs_the_operators_allow_list(
    db: Database, tmp_path: Path, world: World, receiver: Receiver
) -> None:
    closed = api_for(db, tmp_path)  # no webhook_allow: what a node starts with
    answer = closed.post(
        "/api/v1/subscriptions",
        as_=world.people["in.analyst"],
        json={"name": "x", "channel": "webhook", "target": receiver.url(), "secret": SECRET},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "target"


def test_e_mail_needs_a_node_that_sends_mail(db: Database, tmp_path: Path, world: World) -> None:
    verify(db, world.people["in.analyst"], "analyst@cert-in.example")
    mailless = api_for(db, tmp_path)
    answer = mailless.post(
        "/api/v1/subscriptions",
        as_=world.people["in.analyst"],
        json={"name": "x", "channel": "email"},
    )
    assert answer.status_code == 422
    assert "sends no mail" in answer.json()["errors"][0]["message"]


def test_an_e_mail_goes_to_the_verified_address_with_links_above_green(
    db: Database, api: Api, world: World, smtp_server: SmtpServer
) -> None:
    reader, author = world.people["in.analyst"], world.people["bd.analyst"]
    verify(db, reader, "analyst@cert-in.example")
    subscribe(api, reader, channel="email", name="Trafficking in Bangladesh")
    green = file(api, author, title="Ring at Cox's Bazar")
    amber = file(api, author, title="Named informant in Teknaf", **AMBER_TO_INDIA)
    run_due(db)

    smtp_server.wait_for(2)
    texts = {}
    for message in smtp_server.messages:
        assert message["To"] == "analyst@cert-in.example"
        assert message["From"] == "rsn@node.example"
        assert message["Subject"] == "[RSN] 1 new report: Trafficking in Bangladesh"
        text = message.get_content()
        texts[green if green in text else amber] = text
    assert "Ring at Cox's Bazar" in texts[green]
    assert f"https://rsn.example.org/reports/{green}" in texts[green]
    assert f"https://rsn.example.org/reports/{amber}" in texts[amber]
    assert "Teknaf" not in texts[amber] and "informant" not in texts[amber]
    assert [d.status for d in deliveries(db)] == ["sent", "sent"]


def test_an_address_no_longer_verified_fails_the_e_mail_visibly(
    db: Database, api: Api, world: World, smtp_server: SmtpServer
) -> None:
    reader = world.people["in.analyst"]
    verify(db, reader, "analyst@cert-in.example")
    sub = subscribe(api, reader, channel="email")
    with db.session(write=True) as session:
        user = session.get(User, reader.user.id)
        assert user is not None
        user.email_verified_at = None
    file(api, world.people["bd.analyst"])
    run_due(db)
    assert smtp_server.messages == []
    last = api.get(f"/api/v1/subscriptions/{sub['id']}", as_=reader).json()["last_delivery"]
    assert last["status"] == "pending"
    assert last["last_error"] == "your account has no verified e-mail address"


def test_a_digest_waits_for_the_digest_hour_and_sends_one_message(
    sqlite_db: Database, tmp_path: Path, clock: Clock, receiver: Receiver
) -> None:
    db = sqlite_db
    world = bimstec_world(db)
    hour = (clock.now.hour + 2) % 24
    api = api_for(db, tmp_path, webhook_allow=LOOPBACK, digest_hour=hour)
    reader, author = world.people["in.analyst"], world.people["bd.analyst"]
    hook(api, reader, receiver, mode="digest")
    subscribe(api, reader, name="inbox digest", mode="digest")
    filed = [file(api, author, title=f"Report {n}") for n in range(3)]
    run_due(db)
    assert receiver.got == [] and deliveries(db) == []
    assert api.get("/api/v1/inbox", as_=reader).json()["items"] == []

    clock.advance(hours=1)  # still before the digest hour
    with db.session(write=True) as session:
        assert delivery.collect_due(session, clock.now) == []
    clock.advance(hours=1, minutes=2)
    with db.session(write=True) as session:
        jobs.enqueue(session, delivery.DIGEST, {})
    run_due(db)

    [body] = [json.loads(got.body) for got in receiver.got]
    assert body["mode"] == "digest"
    assert sorted(i["id"] for i in body["items"]) == sorted(filed)
    inbox = api.get("/api/v1/inbox", as_=reader).json()["items"]
    assert sorted(i["title"] for i in inbox) == ["Report 0", "Report 1", "Report 2"]

    with db.session(write=True) as session:  # the next hour's run finds nothing new
        assert delivery.collect_due(session, clock.now) == []
    with db.session() as session:
        pending = session.scalars(
            select(Notification).where(
                Notification.delivery_id.is_(None), Notification.channel == "webhook"
            )
        ).all()
    assert pending == []


def test_next_digest_is_the_next_hour_strictly_after(clock: Clock) -> None:
    noon = clock.now
    assert delivery.next_digest(noon, 13) == noon.replace(hour=13)
    assert delivery.next_digest(noon, 12).date() > noon.date()
    assert delivery.next_digest(noon, 7).hour == 7 and delivery.next_digest(noon, 7) > noon


def test_a_deleted_subscription_or_a_disabled_owner_gets_nothing(
    db: Database, api: Api, world: World, receiver: Receiver
) -> None:
    reader, watcher = world.people["in.analyst"], world.people["in.coast"]
    sub = hook(api, reader, receiver)
    hook(api, watcher, receiver)
    x = file(api, world.people["bd.analyst"])
    with db.session(write=True) as session:
        matching.match(session, [x])
    deleted = api.request("DELETE", f"/api/v1/subscriptions/{sub['id']}", as_=reader)
    assert deleted.status_code == 204
    with db.session(write=True) as session:
        user = session.get(User, watcher.user.id)
        assert user is not None
        user.disabled = True
    run_due(db)
    assert receiver.got == []
    assert sorted(d.last_error or "" for d in deliveries(db)) == [
        "its owner's account is not active",
        "its subscription was deleted",
    ]
