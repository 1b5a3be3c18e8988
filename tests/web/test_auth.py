"""Signing in and out, sessions, CSRF and throttling, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsn.store import Database
from tests.factories import World, api_for, bimstec_world
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.web", "bd-cert", password=PASSWORD)
    return w


def client(db: Database, tmp_path: Path) -> WebClient:
    return WebClient(api_for(db, tmp_path).app)


def test_signed_out_visitors_go_to_login(db: Database, tmp_path: Path, world: World) -> None:
    web = client(db, tmp_path)
    assert web.get("/").headers["location"] == "/login"
    answer = web.get("/reports?q=x")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    page = web.get("/login")
    assert "Username" in page.text and "Password" in page.text and "Sign in" in page.text


def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_it(
    db: Database, tmp_path: Path, world: World
) -> None:
    web = client(db, tmp_path)
    web.get("/login")
    answer = web.post("/login", {"username": "bd.web", "password": PASSWORD})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert web.get("/").headers["location"] == "/dashboard"
    web.get("/dashboard")
    assert web.post("/logout").status_code == 303
    assert web.get("/dashboard").status_code == 303


def test_wrong_password_and_unknown_user_read_alike(
    db: Database, tmp_path: Path, world: World
) -> None:
    web = client(db, tmp_path)
    web.get("/login")
    wrong = web.post("/login", {"username": "bd.web", "password": "not it at all"})
    web.get("/login")
    nobody = web.post("/login", {"username": "no.such.user", "password": "not it at all"})
    assert wrong.status_code == nobody.status_code == 401
    assert "The username or password is not right." in wrong.text
    assert "The username or password is not right." in nobody.text


def test_repeated_failures_are_throttled(db: Database, tmp_path: Path, world: World) -> None:
    web = client(db, tmp_path)
    for _ in range(5):
        web.get("/login")
        web.post("/login", {"username": "bd.web", "password": "guess guess guess"})
    web.get("/login")
    blocked = web.post("/login", {"username": "bd.web", "password": PASSWORD})
    assert blocked.status_code == 401
    assert "Too many failed sign-ins" in blocked.text


def test_posts_without_the_csrf_token_are_refused(
    db: Database, tmp_path: Path, world: World
) -> None:
    web = client(db, tmp_path)
    web.get("/login")
    forged_login = web.request("POST", "/login", data={"username": "bd.web", "password": PASSWORD})
    assert forged_login.status_code == 403
    web.sign_in("bd.web", PASSWORD)
    forged = web.request("POST", "/logout", data={})
    assert forged.status_code == 403
    assert web.get("/dashboard").status_code != 303  # still signed in


def test_next_never_leaves_the_node(db: Database, tmp_path: Path, world: World) -> None:
    web = client(db, tmp_path)
    web.get("/login")
    answer = web.post(
        "/login", {"username": "bd.web", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert answer.headers["location"] == "/dashboard"
