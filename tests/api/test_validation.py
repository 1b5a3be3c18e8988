"""Bad input to the reports API: a 4xx naming the field and the problem, and nothing stored.

Every case runs against one world per store (SQLite and PostgreSQL), built once for
the module: a rejected request must leave every table exactly as it found it, so the
cases cannot disturb each other, and the world costs its set-up once, not per case.
"""

from __future__ import annotations

import asyncio
import base64
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from rsn.models import (
    AuditRecord,
    CorrelationEntry,
    Counter,
    IdempotencyKey,
    Report,
    ReportObservable,
    ReportVersion,
    SharingGrant,
)
from rsn.registry import tokens
from rsn.store import Base, Database
from tests.factories import Api, Person, World, api_for, bimstec_world, report_payload

STORES = ("sqlite", "postgresql")
COUNTED = (
    Report,
    ReportVersion,
    ReportObservable,
    SharingGrant,
    CorrelationEntry,
    AuditRecord,
    IdempotencyKey,
)


class SafeApi(Api):
    """Like `Api`, but an unhandled error comes back as the 500 a client would get."""

    def request(
        self, method: str, url: str, *, as_: Person | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if as_ is not None:
            headers.update(as_.auth)

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://rsn.test") as c:
                return await c.request(method, url, headers=headers, **kwargs)

        return asyncio.run(send())


@dataclass
class Env:
    db: Database
    api: SafeApi
    world: World
    report_id: str
    revoked_token: str


def stored(db: Database) -> dict[str, int]:
    """Row counts of every table a report write touches, and the sequence counter."""
    documents = (
        "SELECT count(search_document) FROM reports"
        if db.dialect == "postgresql"
        else "SELECT count(*) FROM report_fts"
    )
    with db.session() as s:
        counts = {
            m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0 for m in COUNTED
        }
        counts["search documents"] = s.scalar(text(documents)) or 0
        counts["counters"] = s.scalar(select(func.coalesce(func.sum(Counter.value), 0))) or 0
    return counts


def _empty_postgres(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module", params=STORES)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One migrated store per kind with the BIMSTEC world and one amber report in it."""
    tmp = tmp_path_factory.mktemp(f"validation-{request.param}")
    if request.param == "sqlite":
        path = tmp / "rsn.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("pg_template"))
        _empty_postgres(db)
    try:
        world = bimstec_world(db)
        api = SafeApi(api_for(db, tmp).app)
        created = api.post("/api/v1/reports", json=report_payload(), as_=world.people["bd.analyst"])
        assert created.status_code == 201, created.text
        with db.session(write=True) as s:
            old = tokens.create(s, user=world.people["bd.analyst"].user, name="old")
            tokens.revoke(s, token_id_or_prefix=old.id)
        yield Env(db, api, world, created.json()["id"], old.token)
    finally:
        if request.param == "postgresql":
            _empty_postgres(db)
        db.dispose()


@dataclass(frozen=True)
class Case:
    """One bad request and the field its answer must name."""

    id: str
    names: str  # the field the answer must name
    method: str = "POST"
    path: str = "/api/v1/reports"
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    quote: str | None = None  # the bad value as the message must show it
    status: int = 422
    who: str = "bd.analyst"
    lenient: bool = False  # a filter that may also answer 200 with nothing found


def post(case_id: str, field_: str, quote: str | None = None, /, **overrides: Any) -> Case:
    return Case(case_id, field_, json=report_payload(**overrides), quote=quote)


def listing(
    case_id: str,
    field_: str,
    quote: str | None = None,
    /,
    path: str = "/api/v1/reports",
    lenient: bool = False,
    **params: str,
) -> Case:
    return Case(
        case_id, field_, method="GET", path=path, params=params, quote=quote, lenient=lenient
    )


def patch(case_id: str, field_: str, body: Any, quote: str | None = None) -> Case:
    return Case(
        case_id, field_, method="PATCH", path="/api/v1/reports/{rid}", json=body, quote=quote
    )


def revoke(case_id: str, field_: str, body: Any, quote: str | None = None) -> Case:
    return Case(
        case_id, field_, method="POST", path="/api/v1/reports/{rid}/revoke", json=body, quote=quote
    )


def without(key: str) -> dict[str, Any]:
    body = report_payload()
    del body[key]
    return body


def _ipv4s(n: int) -> list[dict[str, str]]:
    return [
        {"type": "ipv4-addr", "value": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"}
        for i in range(n)
    ]


JSON = {"content-type": "application/json"}

CASES = [
    # ---- the body as a whole
    Case("malformed-json", "body", content=b'{"title": "x",', headers=JSON),
    Case("json-array-not-object", "body", json=[report_payload()]),
    Case("json-string-not-object", "body", json="a report"),
    Case("empty-body", "body", content=b"", headers=JSON),
    # ---- required fields and types
    Case("missing-title", "title", json=without("title")),
    Case("missing-occurred-at", "occurred_at", json=without("occurred_at")),
    post("title-empty", "title", "''", title=""),
    post("title-only-spaces", "title", title="   "),
    post("title-too-long", "title", "at most 300", title="x" * 301),
    post("title-number", "title", "42", title=42),
    post("confidence-string", "confidence", "'70'", confidence="70"),
    post("confidence-float", "confidence", "70.5", confidence=70.5),
    post("confidence-bool", "confidence", "True", confidence=True),
    post("confidence-101", "confidence", "101", confidence=101),
    post("confidence-negative", "confidence", "-1", confidence=-1),
    post("severity-capitalised", "severity", "'High'", severity="High"),
    post("source-reliability-g", "source_reliability", "'G'", source_reliability="G"),
    post("tlp-purple", "tlp", "'purple'", tlp="purple"),
    post("tlp-upper-case", "tlp", "'AMBER'", tlp="AMBER"),
    post("country-xx", "country", "'XX'", country="XX"),
    post("country-alpha3", "country", "'BGD'", country="BGD"),
    post("category-unknown", "category", "'piracy.space'", category="piracy.space"),
    post(
        "occurred-at-no-offset",
        "occurred_at",
        "'2026-11-01T10:00:00'",
        occurred_at="2026-11-01T10:00:00",
    ),
    post("occurred-at-garbage", "occurred_at", "'last tuesday'", occurred_at="last tuesday"),
    post("location-lat-91", "location.lat", "91", location={"lat": 91, "lon": 91.83}),
    post("location-lon-181", "location.lon", "181", location={"lat": 22.3, "lon": 181}),
    post("location-missing-lon", "location.lon", location={"lat": 22.3}),
    post("location-extra-key", "location.alt", location={"lat": 22.3, "lon": 91.8, "alt": 4}),
    # ---- fields only the server sets
    post(
        "client-sets-originator",
        "originator",
        originator={"user": "in.analyst", "organization": "in-cert", "member_state": "IN"},
    ),
    post("client-sets-id", "id", id="00000000-0000-4000-8000-000000000000"),
    post("client-sets-revoked", "revoked", revoked=True),
    post("client-sets-created", "created", created="2020-01-01T00:00:00.000Z"),
    # ---- observables
    post(
        "phone-too-short",
        "observables[0].value",
        "'+88 017'",
        observables=[{"type": "phone-number", "value": "+88 017"}],
    ),
    post(
        "ipv4-octet-300-second",
        "observables[1].value",
        "'300.1.1.1'",
        observables=[
            {"type": "phone-number", "value": "+8801712345678"},
            {"type": "ipv4-addr", "value": "300.1.1.1"},
        ],
    ),
    post(
        "imo-check-digit",
        "observables[0].value",
        "'IMO 9074728'",
        observables=[{"type": "vessel-imo", "value": "IMO 9074728"}],
    ),
    post(
        "observable-type-unknown",
        "observables[0].type",
        "'ssn'",
        observables=[{"type": "ssn", "value": "123-45-6789"}],
    ),
    post("observable-value-missing", "observables[0].value", observables=[{"type": "domain-name"}]),
    post(
        "observable-value-empty",
        "observables[0].value",
        "''",
        observables=[{"type": "domain-name", "value": ""}],
    ),
    post("observables-not-a-list", "observables", observables="+8801712345678"),
    post("observables-501", "observables", "501", observables=_ipv4s(501)),
    # ---- distribution against the marking, and names that do not exist
    post(
        "green-with-member-states",
        "distribution.member_states",
        "'member_states'",
        tlp="green",
        distribution={"member_states": ["IN"]},
    ),
    post(
        "amber-strict-with-member-states",
        "distribution.member_states",
        "'member_states'",
        tlp="amber+strict",
        distribution={"member_states": ["IN"]},
    ),
    post(
        "red-with-organizations",
        "distribution.organizations",
        "'organizations'",
        tlp="red",
        distribution={"organizations": ["in-cert"]},
    ),
    post(
        "clear-with-users",
        "distribution.users",
        "'users'",
        tlp="clear",
        distribution={"users": ["in.analyst"]},
    ),
    post(
        "unknown-organization",
        "distribution.organizations[0]",
        "'no-such-org'",
        distribution={"organizations": ["no-such-org"]},
    ),
    post(
        "unknown-second-organization",
        "distribution.organizations[1]",
        "'nope'",
        distribution={"organizations": ["in-cert", "nope"]},
    ),
    post(
        "unknown-user-in-red",
        "distribution.users[0]",
        "'nobody.here'",
        tlp="red",
        distribution={"users": ["nobody.here"]},
    ),
    post(
        "unknown-sharing-group",
        "distribution.sharing_groups[0]",
        "'bay-of-bengal'",
        distribution={"sharing_groups": ["bay-of-bengal"]},
    ),
    post(
        "unknown-member-state",
        "distribution.member_states[0]",
        "'US'",
        distribution={"member_states": ["US"]},
    ),
    post("distribution-unknown-key", "distribution.states", distribution={"states": ["IN"]}),
    post(
        "distribution-entry-not-string",
        "distribution.organizations[0]",
        "7",
        distribution={"organizations": [7]},
    ),
    # ---- values no store can keep (PostgreSQL refuses NUL; the answer must not depend
    #      on the store)
    post("title-with-nul", "title", title="Trafficking\x00ring"),
    post("description-with-nul", "description", description="Cox's\x00Bazar"),
    post(
        "unknown-organization-with-nul",
        "distribution.organizations[0]",
        distribution={"organizations": ["in\x00cert"]},
    ),
    # ---- instants a UTC column cannot hold
    post(
        "occurred-at-before-year-1-utc",
        "occurred_at",
        "0001-01-01",
        occurred_at="0001-01-01T00:00:00+01:00",
    ),
    post(
        "occurred-at-after-year-9999-utc",
        "occurred_at",
        "9999-12-31",
        occurred_at="9999-12-31T23:59:59-01:00",
    ),
    Case(
        "idempotency-key-too-long",
        "Idempotency-Key",
        json=report_payload(),
        headers={"Idempotency-Key": "k" * 201},
        quote="at most 200",
    ),
    # ---- PATCH /api/v1/reports/{id}
    patch("patch-confidence-101", "confidence", {"confidence": 101}, "101"),
    patch("patch-title-null", "title", {"title": None}),
    patch("patch-country-xx", "country", {"country": "XX"}, "'XX'"),
    patch(
        "patch-red-with-organizations",
        "distribution.organizations",
        {"tlp": "red", "distribution": {"organizations": ["in-cert"]}},
        "'organizations'",
    ),
    patch(
        "patch-unknown-member-state",
        "distribution.member_states[0]",
        {"distribution": {"member_states": ["XX"]}},
        "'XX'",
    ),
    patch(
        "patch-bad-domain",
        "observables[0].value",
        {"observables": [{"type": "domain-name", "value": "bad..example"}]},
        "'bad..example'",
    ),
    patch("patch-sets-originator", "originator", {"originator": {"user": "in.analyst"}}),
    patch("patch-array", "body", [{"title": "x"}]),
    patch("patch-distribution-null", "distribution", {"distribution": None}),
    patch(
        "patch-occurred-at-overflow",
        "occurred_at",
        {"occurred_at": "0001-01-01T00:00:00+01:00"},
        "0001-01-01",
    ),
    # ---- POST /api/v1/reports/{id}/revoke
    revoke("revoke-without-reason", "reason", {}),
    revoke("revoke-reason-too-short", "reason", {"reason": "no"}, "'no'"),
    revoke("revoke-reason-number", "reason", {"reason": 5}, "5"),
    revoke("revoke-extra-field", "revoked_at", {"reason": "duplicate", "revoked_at": "now"}),
    revoke("revoke-reason-with-nul", "reason", {"reason": "dupli\x00cate"}),
    # ---- GET /api/v1/reports query parameters
    listing("list-limit-0", "limit", "'0'", limit="0"),
    listing("list-limit-501", "limit", "'501'", limit="501"),
    listing("list-limit-not-a-number", "limit", "'ten'", limit="ten"),
    listing("list-since-yesterday", "since", "'yesterday'", since="yesterday"),
    listing("list-since-no-offset", "since", "'2026-11-01T10:00:00'", since="2026-11-01T10:00:00"),
    listing("list-until-garbage", "until", "'soon'", until="soon"),
    listing("list-tlp-purple", "tlp", "'purple'", tlp="purple"),
    listing("list-country-three-letters", "country", "'BGD'", country="BGD"),
    listing("list-cursor-garbage", "cursor", "'!!!'", cursor="!!!"),
    listing(
        "list-cursor-forged-naive-time",
        "cursor",
        "'MjAyNi0wMS0wMVQwMDowMDowMHx4'",
        cursor=base64.urlsafe_b64encode(b"2026-01-01T00:00:00|x").decode(),
    ),
    listing("list-q-punctuation-only", "q", "'!!!'", q="!!!"),
    listing("list-q-with-nul", "q", lenient=True, q="traffick\x00ing"),
    listing("list-country-with-nul", "country", lenient=True, country="B\x00"),
    listing("list-category-with-nul", "category", lenient=True, category="cyber\x00attack"),
    listing(
        "list-observable-with-nul", "observable", lenient=True, observable="+880\x001712345678"
    ),
    listing(
        "list-since-before-year-1-utc", "since", "0001-01-01", since="0001-01-01T00:00:00+01:00"
    ),
    listing("counts-by-bogus", "by", "'bogus'", path="/api/v1/reports/counts", by="bogus"),
]


def _field_key(name: str) -> str:
    """Header names are case-insensitive; every other field is matched exactly."""
    return name.replace("Idempotency-Key", "idempotency-key")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rejected_naming_the_field_and_nothing_stored(env: Env, case: Case) -> None:
    report_id = env.report_id
    if (
        "{rid}" in case.path
    ):  # a report of its own, so a case that wrongly changes it harms no other
        created = env.api.post(
            "/api/v1/reports", json=report_payload(), as_=env.world.people["bd.analyst"]
        )
        assert created.status_code == 201, created.text
        report_id = created.json()["id"]
    before = stored(env.db)
    response = env.api.request(
        case.method,
        case.path.format(rid=report_id),
        as_=env.world.people[case.who],
        json=case.json,
        content=case.content,
        params=case.params,
        headers=case.headers,
    )
    assert response.status_code < 500, f"a 5xx is a bug: {response.status_code} {response.text}"
    if case.lenient and response.status_code == 200:
        assert response.json()["items"] == []
        assert stored(env.db) == before
        return
    assert response.status_code == case.status, response.text
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    problems = {_field_key(e["field"]): e["message"] for e in body["errors"]}
    assert _field_key(case.names) in problems, body
    message = problems[_field_key(case.names)]
    assert message.endswith("."), message
    if case.quote is not None:
        assert case.quote in message, message
    assert _field_key(case.names) in _field_key(body["detail"]), body
    assert stored(env.db) == before


def test_lower_case_country_is_accepted_and_stored_upper_case(env: Env) -> None:
    response = env.api.post(
        "/api/v1/reports", json=report_payload(country="bd"), as_=env.world.people["bd.analyst"]
    )
    assert response.status_code == 201, response.text
    assert response.json()["country"] == "BD"


def test_idempotency_key_reused_with_another_body_is_refused(env: Env) -> None:
    analyst = env.world.people["bd.analyst"]
    key = {"Idempotency-Key": f"retry-{env.db.dialect}-1"}
    first = env.api.post(
        "/api/v1/reports", json=report_payload(title="First filing"), headers=key, as_=analyst
    )
    assert first.status_code == 201, first.text
    before = stored(env.db)
    again = env.api.post(
        "/api/v1/reports", json=report_payload(title="Another filing"), headers=key, as_=analyst
    )
    assert again.status_code == 422, again.text
    [problem] = again.json()["errors"]
    assert problem["field"] == "Idempotency-Key"
    assert f"'retry-{env.db.dialect}-1'" in problem["message"]
    assert stored(env.db) == before


def test_idempotency_key_of_a_rejected_request_stays_free(env: Env) -> None:
    analyst = env.world.people["bd.analyst"]
    key = {"Idempotency-Key": f"retry-{env.db.dialect}-2"}
    before = stored(env.db)
    bad = env.api.post(
        "/api/v1/reports", json=report_payload(tlp="purple"), headers=key, as_=analyst
    )
    assert bad.status_code == 422, bad.text
    assert stored(env.db) == before
    good = env.api.post("/api/v1/reports", json=report_payload(), headers=key, as_=analyst)
    assert good.status_code == 201, good.text
    assert "Idempotent-Replayed" not in good.headers


def _bengali_url() -> str:
    """Within the 2,048-character limit, but of Bengali text: 3 bytes a character."""
    rnd = random.Random(7)
    return "http://example.com/" + "".join(chr(rnd.randint(0x0985, 0x09B9)) for _ in range(2000))


def _idn_url() -> str:
    """2,048 characters as typed; its host grows when encoded as A-labels (punycode)."""
    start = "http://" + ".".join(["ñandúñandúñandú"] * 4) + ".com/"
    return start + "a" * (2048 - len(start))


@pytest.mark.parametrize("url", [_bengali_url(), _idn_url()], ids=["bengali-path", "idn-host"])
def test_long_url_is_stored_or_refused_never_a_5xx(env: Env, url: str) -> None:
    before = stored(env.db)
    response = env.api.post(
        "/api/v1/reports",
        json=report_payload(observables=[{"type": "url", "value": url}]),
        as_=env.world.people["bd.analyst"],
    )
    assert response.status_code < 500, f"a 5xx is a bug: {response.status_code} {response.text}"
    if response.status_code == 201:
        [observable] = response.json()["observables"]
        assert observable["type"] == "url"
        assert observable["value"].endswith(url[-100:])
    else:
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["observables[0].value"]
        assert stored(env.db) == before


@dataclass(frozen=True)
class AuthCase:
    id: str
    authorization: str | None


AUTH_CASES = [
    AuthCase("no-authorization-header", None),
    AuthCase("bearer-without-token", "Bearer"),
    AuthCase("basic-scheme", "Basic YmQuYW5hbHlzdDpwYXNzd29yZA=="),
    AuthCase("bearer-garbage", "Bearer not-a-token"),
    AuthCase("bearer-unknown-prefix", "Bearer rsn_000000000000_AAAAAAAAAAAAAAAAAAAAAAAA"),
    AuthCase("bearer-revoked", "Bearer {revoked}"),
]


@pytest.mark.parametrize("case", AUTH_CASES, ids=[c.id for c in AUTH_CASES])
@pytest.mark.parametrize("method", ["POST", "GET", "PATCH"])
def test_without_a_valid_token_401_and_nothing_stored(
    env: Env, case: AuthCase, method: str
) -> None:
    headers = {}
    if case.authorization is not None:
        headers["Authorization"] = case.authorization.format(revoked=env.revoked_token)
    path = "/api/v1/reports" if method != "PATCH" else f"/api/v1/reports/{env.report_id}"
    body = report_payload() if method == "POST" else {"title": "Hijacked"}
    before = stored(env.db)
    response = env.api.request(
        method, path, headers=headers, json=body if method != "GET" else None
    )
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    detail = response.json()["detail"]
    assert "Authorization" in detail or "bearer token" in detail, detail
    assert stored(env.db) == before
