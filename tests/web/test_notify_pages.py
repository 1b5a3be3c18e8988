"""The inbox and subscriptions pages: the unread count in the header, read-time visibility,
mark-read and subscriptions with the session's CSRF token, each for its owner only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from rsn.notify.models import Notification, Subscription
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world, report_payload
from tests.jobs.conftest import run_jobs
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("in.web", "in-cert", password=PASSWORD)
    w.person("mm.web", "mm-cert", password=PASSWORD)
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def signed_in(api: Api, username: str) -> WebClient:
    web = WebClient(api.app)
    web.sign_in(username, PASSWORD)
    return web


def test_a_subscription_made_on_the_page_fills_the_inbox_and_the_header_count(
    db: Database, api: Api, world: World
) -> None:
    web = signed_in(api, "in.web")
    added = web.post("/profile/subscriptions", {"name": "Trafficking", "category": "trafficking"})
    assert added.status_code == 303, added.text
    listing = web.get("/profile/subscriptions").text
    assert "Trafficking" in listing and "category: trafficking" in listing

    filed = api.post(
        "/api/v1/reports",
        as_=world.people["bd.analyst"],
        json=report_payload(title="Ring near Cox's Bazar", tlp="green", distribution={}),
    )
    assert filed.status_code == 201
    secret = api.post(
        "/api/v1/reports",
        as_=world.people["bd.analyst"],
        json=report_payload(
            title="Only for Myanmar",
            tlp="amber+strict",
            distribution={"organizations": ["mm-cert"]},
        ),
    )
    assert secret.status_code == 201
    run_jobs(db)

    dashboard = web.get("/dashboard").text
    assert 'aria-label="1 unread"' in dashboard
    page = web.get("/inbox").text
    assert "Ring near Cox&#39;s Bazar" in page and "Only for Myanmar" not in page
    other = signed_in(api, "mm.web")
    assert "unread" not in other.get("/dashboard").text
    assert "Ring near" not in other.get("/inbox").text

    with db.session() as s:
        mine = s.scalars(select(Notification.id)).one()
    assert other.post(f"/inbox/{mine}/read", {}).status_code == 404
    assert web.post(f"/inbox/{mine}/read", {}).status_code == 303
    assert 'aria-label="1 unread"' not in web.get("/dashboard").text


def test_a_bad_filter_shows_beside_its_field(api: Api, world: World) -> None:
    web = signed_in(api, "in.web")
    answer = web.post("/profile/subscriptions", {"name": "x", "category": "no-such-thing-here"})
    assert answer.status_code == 422
    assert 'id="f-category-error"' in answer.text
    answer = web.post("/profile/subscriptions", {"name": "x", "tlp": "purple"})
    assert answer.status_code == 422 and 'id="f-tlp-error"' in answer.text


def test_a_subscription_is_deleted_by_its_owner_only(db: Database, api: Api, world: World) -> None:
    web = signed_in(api, "in.web")
    web.post("/profile/subscriptions", {"name": "Mine"})
    with db.session() as s:
        sub = s.scalars(select(Subscription.id)).one()
    other = signed_in(api, "mm.web")
    assert "Mine" not in other.get("/profile/subscriptions").text
    assert other.post(f"/profile/subscriptions/{sub}/delete", {}).status_code == 404
    refused = WebClient(api.app)
    refused.sign_in("in.web", PASSWORD)
    no_token = refused.request("POST", f"/profile/subscriptions/{sub}/delete", data={})
    assert no_token.status_code == 403
    assert web.post(f"/profile/subscriptions/{sub}/delete", {}).status_code == 303
    with db.session() as s:
        assert s.scalars(select(Subscription.id)).all() == []


def test_a_webhook_made_on_the_page_shows_its_target_and_its_problems(
    db: Database, tmp_path: Path, world: World
) -> None:
    api = api_for(db, tmp_path, webhook_allow=("127.0.0.0/8",))
    web = signed_in(api, "in.web")
    refused = web.post(
        "/profile/subscriptions",
        {
            "name": "Hook",
            "channel": "webhook",
            "target": "https://10.1.2.3/hook",
            "secret": "sixteen-or-more-characters",
        },
    )
    assert refused.status_code == 422
    assert 'id="f-target-error"' in refused.text
    with db.session() as s:
        assert s.scalars(select(Subscription)).all() == []

    added = web.post(
        "/profile/subscriptions",
        {
            "name": "Hook",
            "channel": "webhook",
            "target": "http://127.0.0.1:9/hook",
            "secret": "sixteen-or-more-characters",
            "mode": "digest",
        },
    )
    assert added.status_code == 303, added.text
    page = web.get("/profile/subscriptions").text
    assert "Webhook" in page and "http://127.0.0.1:9/hook" in page and "daily digest" in page
    assert "sixteen-or-more-characters" not in page  # the secret is never shown again
    with db.session() as s:
        sub = s.scalars(select(Subscription)).one()
    assert (sub.channel, sub.mode, sub.secret) == (
        "webhook",
        "digest",
        "sixteen-or-more-characters",
    )
    assert "E-mail" in page and "sends no mail" in page
