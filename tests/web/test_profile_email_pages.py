"""The e-mail section of the profile page, and the page the mail's link opens.

Signing in hashes a password with argon2 for real, so each test signs in once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rsn.registry import email
from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import Api, World, api_for
from tests.smtp import SmtpServer
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
LINK = re.compile(r"http://127\.0\.0\.1:8080(/profile/email/verify\?code=(\d{8}))")


@pytest.fixture
def world(db: Database) -> World:
    w = World(db)
    w.org("bd-cert", state="BD")
    w.person("bd.web", "bd-cert", password=PASSWORD)
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World, smtp_server: SmtpServer) -> Api:
    return api_for(
        db,
        tmp_path,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_from="rsn@rsn.example.gov",
    )


@pytest.fixture
def web(api: Api) -> WebClient:
    client = WebClient(api.app)
    client.sign_in("bd.web", PASSWORD)
    return client


def address_of(db: Database) -> tuple[str | None, bool]:
    with db.session() as s:
        user = registry.get_user(s, username="bd.web")
        return user.email, email.verified_address(user) is not None


def test_an_address_is_given_confirmed_from_the_link_and_removed(
    db: Database, web: WebClient, smtp_server: SmtpServer
) -> None:
    profile = web.get("/profile").text
    assert "You have no verified address" in profile
    assert '<label for="f-email">E-mail address' in profile
    assert "Enter the code" not in profile

    sent = web.post("/profile/email", {"email": "web@cert.gov.bd"})
    assert sent.status_code == 303 and sent.headers["location"] == "/profile?notice=email-sent"
    profile = web.get(sent.headers["location"]).text
    assert "A code is on its way" in profile
    assert "Sent to web@cert.gov.bd" in profile and '<label for="f-code">' in profile

    found = LINK.search(smtp_server.wait_for(1)[0].get_content())
    assert found, "no link in the mail"
    landing = web.get(found.group(1))
    assert landing.status_code == 200
    assert landing.headers["cache-control"] == "no-store"
    assert landing.headers["referrer-policy"] == "same-origin"  # the code goes nowhere else
    assert f'value="{found.group(2)}"' in landing.text
    assert "Confirm <strong>web@cert.gov.bd</strong>" in landing.text
    assert address_of(db) == (None, False)  # opening the link changes nothing

    confirmed = web.post("/profile/email/verify", {"code": found.group(2)})
    assert confirmed.status_code == 303, confirmed.text
    profile = web.get(confirmed.headers["location"]).text
    assert "Your e-mail address is verified" in profile
    assert "The node mails you at <strong>web@cert.gov.bd</strong>" in profile
    assert address_of(db) == ("web@cert.gov.bd", True)

    removed = web.post("/profile/email/remove")
    assert removed.status_code == 303
    assert "You have no verified address" in web.get(removed.headers["location"]).text
    assert address_of(db) == (None, False)


def test_a_bad_address_is_named_beside_its_field(web: WebClient, smtp_server: SmtpServer) -> None:
    answer = web.post("/profile/email", {"email": "Web <web@cert.gov.bd>"})
    assert answer.status_code == 422
    assert 'id="f-email-error"' in answer.text and "is not an e-mail address" in answer.text
    assert 'value="Web &lt;web@cert.gov.bd&gt;"' in answer.text  # kept as typed
    assert smtp_server.messages == []


def test_a_wrong_code_is_named_beside_its_field(
    db: Database, web: WebClient, smtp_server: SmtpServer
) -> None:
    web.post("/profile/email", {"email": "web@cert.gov.bd"})
    smtp_server.wait_for(1)
    web.get("/profile")
    answer = web.post("/profile/email/verify", {"code": "not it"})
    assert answer.status_code == 422
    assert 'id="f-code-error"' in answer.text
    assert "The code is wrong, used or expired" in answer.text
    assert address_of(db) == (None, False)


def test_a_form_without_its_csrf_token_is_refused(db: Database, web: WebClient) -> None:
    forged = web.post("/profile/email", {"email": "web@cert.gov.bd", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert web.post("/profile/email/remove", {"csrf_token": ""}).status_code == 403


def test_the_link_asks_a_signed_out_browser_to_sign_in(api: Api) -> None:
    answer = WebClient(api.app).get("/profile/email/verify?code=12345678")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_a_node_without_mail_says_so(db: Database, tmp_path: Path, world: World) -> None:
    web = WebClient(api_for(db, tmp_path).app)
    web.sign_in("bd.web", PASSWORD)
    profile = web.get("/profile").text
    assert "This node does not send mail" in profile
    assert 'action="/profile/email"' not in profile
    answer = web.post("/profile/email", {"email": "web@cert.gov.bd"})
    assert answer.status_code == 422 and "does not send mail" in answer.text
