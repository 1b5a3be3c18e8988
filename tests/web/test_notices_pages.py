"""Notices about one's own account: shown on every page until dismissed, by their owner only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from rsn.registry import notices
from rsn.registry import service as registry
from rsn.registry.models import AccountNotice
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.web", "bd-cert", password=PASSWORD)
    w.person("bd.other", "bd-cert", password=PASSWORD)
    with db.session(write=True) as s:
        for name in ("bd.web", "bd.other"):
            user = registry.get_user(s, username=name)
            notices.post(s, user_id=user.id, text=f"Your role changed, {name}.")
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Api:
    return api_for(db, tmp_path)


def notice_id(db: Database, username: str) -> str:
    with db.session() as s:
        user = registry.get_user(s, username=username)
        found = s.scalars(select(AccountNotice.id).where(AccountNotice.user_id == user.id))
        return found.one()


def test_a_notice_shows_on_every_page_until_its_owner_dismisses_it(
    db: Database, api: Api, world: World
) -> None:
    web = WebClient(api.app)
    web.sign_in("bd.web", PASSWORD)
    for path in ("/dashboard", "/reports", "/profile"):
        page = web.get(path).text
        assert "Your role changed, bd.web." in page and "bd.other." not in page
    theirs = notice_id(db, "bd.other")
    assert web.post(f"/notices/{theirs}/dismiss", {"next": "/reports"}).status_code == 303
    other = WebClient(api.app)
    other.sign_in("bd.other", PASSWORD)
    assert "Your role changed, bd.other." in other.get("/dashboard").text  # not theirs to end

    mine = notice_id(db, "bd.web")
    back = web.post(f"/notices/{mine}/dismiss", {"next": "/reports"})
    assert back.headers["location"] == "/reports"
    assert "Your role changed" not in web.get("/reports").text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "reports"])
def test_dismissing_never_sends_the_browser_off_the_node(
    db: Database, api: Api, world: World, target: str
) -> None:
    web = WebClient(api.app)
    web.sign_in("bd.web", PASSWORD)
    answer = web.post(f"/notices/{notice_id(db, 'bd.web')}/dismiss", {"next": target})
    assert answer.headers["location"] == "/dashboard"


def test_the_approvals_page_is_for_approvers(api: Api, world: World) -> None:
    web = WebClient(api.app)
    web.sign_in("bd.web", PASSWORD)
    refused = web.get("/approvals")
    assert refused.status_code == 403
    assert "liaison and duty officers" in refused.text
    assert 'href="/approvals"' not in web.get("/dashboard").text
