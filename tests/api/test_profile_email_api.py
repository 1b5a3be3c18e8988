"""The caller's e-mail address over HTTP: given, verified by the mailed code, removed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rsn.registry import email
from rsn.store import Database
from tests.factories import Api, World, api_for
from tests.smtp import SmtpServer

CODE = re.compile(r"verify\?code=(\d{8})")
URL = "/api/v1/profile/email"


@pytest.fixture
def world(db: Database) -> World:
    w = World(db)
    w.org("bd-cert", state="BD")
    w.person("bd.analyst", "bd-cert")
    w.person("bd.duty", "bd-cert", role="duty-officer")
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World, smtp_server: SmtpServer) -> Api:
    return api_for(
        db,
        tmp_path,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_from="RSN <rsn@rsn.example.gov>",
        public_url="https://rsn.example.gov/",
    )


def problems(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {e["field"]: e["message"] for e in answer.json()["errors"]}


def test_an_address_is_verified_with_the_code_mailed_to_it(
    api: Api, world: World, smtp_server: SmtpServer
) -> None:
    me = world.people["bd.analyst"]
    assert api.get(URL, as_=me).json() == {"email": None, "verified": False}
    asked = api.post(URL, as_=me, json={"email": "Analyst@CERT.gov.bd"})
    assert asked.status_code == 202, asked.text
    assert asked.json() == {"sent_to": "Analyst@cert.gov.bd", "expires_in": 86400}
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "Analyst@cert.gov.bd"
    assert "https://rsn.example.gov/profile/email/verify?code=" in mail.get_content()
    found = CODE.search(mail.get_content())
    assert found
    assert api.get(URL, as_=me).json() == {"email": None, "verified": False}

    verified = api.post(f"{URL}/verify", as_=me, json={"code": found.group(1)})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"email": "Analyst@cert.gov.bd", "verified": True}
    assert api.get(URL, as_=me).json() == verified.json()
    assert api.get(URL, as_=world.people["bd.duty"]).json() == {"email": None, "verified": False}

    assert api.request("DELETE", URL, as_=me).status_code == 204
    assert api.get(URL, as_=me).json() == {"email": None, "verified": False}


def test_a_wrong_code_is_a_422_on_the_code_and_is_counted(
    api: Api, world: World, smtp_server: SmtpServer
) -> None:
    me = world.people["bd.analyst"]
    api.post(URL, as_=me, json={"email": "analyst@cert.gov.bd"})
    found = CODE.search(smtp_server.wait_for(1)[0].get_content())
    assert found
    wrong = f"{(int(found.group(1)) + 1) % 10**8:08d}"
    for _ in range(email.TRIES_PER_CODE):
        answer = api.post(f"{URL}/verify", as_=me, json={"code": wrong})
        assert problems(answer) == {"code": email.WRONG}
    # the failures committed although each answer was an error: the code is void now
    assert problems(api.post(f"{URL}/verify", as_=me, json={"code": found.group(1)})) == {
        "code": email.WRONG
    }


def test_a_bad_address_is_named(api: Api, world: World, smtp_server: SmtpServer) -> None:
    me = world.people["bd.analyst"]
    refused = problems(api.post(URL, as_=me, json={"email": "Analyst <a@cert.gov.bd>"}))
    assert "is not an e-mail address" in refused["email"]
    assert problems(api.post(URL, as_=me, json={})) == {"email": "is required."}
    assert "email" in problems(api.post(URL, as_=me, json={"email": "a@b.bd" * 100}))
    assert "cc" in problems(api.post(URL, as_=me, json={"email": "a@cert.gov.bd", "cc": "x"}))
    assert smtp_server.messages == []


def test_a_node_without_mail_says_so(db: Database, tmp_path: Path, world: World) -> None:
    api = api_for(db, tmp_path)
    refused = api.post(URL, as_=world.people["bd.analyst"], json={"email": "a@cert.gov.bd"})
    assert "does not send mail" in problems(refused)["email"]


def test_the_routes_need_a_token(api: Api) -> None:
    assert api.get(URL).status_code == 401
    assert api.post(URL, json={"email": "a@cert.gov.bd"}).status_code == 401
    assert api.post(f"{URL}/verify", json={"code": "12345678"}).status_code == 401
    assert api.request("DELETE", URL).status_code == 401
