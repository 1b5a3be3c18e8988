"""Small builders for tests: a registry of states, organizations and users, and reports."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from rsn import audit, clock, sharing
from rsn.api.app import create_app
from rsn.config import Settings
from rsn.node import Node
from rsn.registry import catalog, regionpacks, tokens
from rsn.registry import service as registry
from rsn.registry.models import Organization, User
from rsn.sharing import Principal
from rsn.store import Database

# Hashing a real password costs ~100 ms; tests that never sign in use this instead.
NO_PASSWORD = "!"


@dataclass
class Person:
    user: User
    org: Organization
    token: str
    principal: Principal

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """Named organizations and people on one node, for sharing tests to read like prose."""

    db: Database
    orgs: dict[str, Organization] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)

    def org(self, slug: str, *, state: str | None, type: str = "government-agency") -> Organization:
        with self.db.session(write=True) as s:
            org = registry.create_organization(
                s, slug=slug, name=slug.upper(), type=type, member_state=state
            )
        self.orgs[slug] = org
        return org

    def person(
        self, username: str, org: str, role: str = "analyst", password: str | None = None
    ) -> Person:
        """A user with a token; with `password` they can also sign in to the web UI."""
        with self.db.session(write=True) as s:
            user = registry.create_user(
                s,
                username=username,
                display_name=username.title(),
                organization=self.orgs[org],
                role=role,
                password=password,
                password_hash=None if password else NO_PASSWORD,
            )
            token = tokens.create(s, user=user, name="test").token
        with self.db.session() as s:
            principal = sharing.for_user(s, user)
        person = Person(user, self.orgs[org], token, principal)
        self.people[username] = person
        return person

    def refresh(self, username: str) -> Person:
        """Recompute a person's keys after group membership changed."""
        person = self.people[username]
        with self.db.session() as s:
            person.principal = sharing.for_user(s, s.get(User, person.user.id))  # type: ignore[arg-type]
        return person


def bimstec_world(db: Database) -> World:
    """BIMSTEC loaded; Bangladesh, India, Myanmar agencies; a CSO; every kind of reader."""
    with db.session(write=True) as s:
        catalog.load_pack(s, regionpacks.load("bimstec"))
    w = World(db)
    w.org("bd-cert", state="BD")
    w.org("bd-police", state="BD")
    w.org("in-cert", state="IN")
    w.org("in-coastguard", state="IN")
    w.org("mm-cert", state="MM")
    w.org("in-watch", state="IN", type="cso")
    w.person("bd.analyst", "bd-cert")
    w.person("bd.duty", "bd-cert", role="duty-officer")
    w.person("bd.policy", "bd-cert", role="policymaker")
    w.person("bd.police", "bd-police")
    w.person("bd.admin", "bd-cert", role="node-admin")
    w.person("in.analyst", "in-cert")
    w.person("in.coast", "in-coastguard")
    w.person("mm.analyst", "mm-cert")
    w.person("in.watch", "in-watch", role="observer")
    return w


def days_ago(days: float, *, hour: int = 10) -> datetime:
    """A round hour (UTC) `days` before today by the node's clock: times never age.

    Tests use this, or the `clock` fixture, instead of literal dates, so a window such as
    the map's 30 days holds their reports next year as it does today.
    """
    today = clock.now().replace(hour=hour, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


def stamp(when: datetime, *, offset_hours: float = 0) -> str:
    """`when` as RFC 3339 in a zone `offset_hours` east of UTC ('Z' for UTC)."""
    if not offset_hours:
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.astimezone(timezone(timedelta(hours=offset_hours))).isoformat()


def millis(when: datetime) -> str:
    """`when` as the API writes it back: UTC, milliseconds, 'Z'."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def report_payload(**overrides: Any) -> dict[str, Any]:
    """The issue's example report, with any field replaced."""
    body: dict[str, Any] = {
        "title": "Trafficking ring using a Bangladeshi number",
        "category": "organized-crime.human-trafficking",
        "description": "Recruiters promise work abroad; victims moved through Cox's Bazar.",
        "occurred_at": stamp(days_ago(5)),
        "country": "BD",
        "location": {"lat": 22.33, "lon": 91.83},
        "sea_area": None,
        "severity": "high",
        "confidence": 70,
        "source_reliability": "B",
        "information_credibility": "2",
        "tlp": "amber",
        "distribution": {
            "member_states": ["IN"],
            "organizations": [],
            "sharing_groups": [],
            "users": [],
        },
        "observables": [{"type": "phone-number", "value": "+8801712345678"}],
    }
    body.update(overrides)
    return body


class Api:
    """In-process HTTP to the node's ASGI app through httpx's ASGITransport."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(
        self, method: str, url: str, *, as_: Person | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if as_ is not None:
            headers.update(as_.auth)

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://rsn.test") as c:
                return await c.request(method, url, headers=headers, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)


def api_for(db: Database, tmp_path: Path, **settings: Any) -> Api:
    """The node's app on the test's store, with any settings replaced.

    The node opens a store of its own at start; it is closed here (a PostgreSQL
    connection left open warns in whichever later test the collector runs), and
    the test's store gets the node's keys, so what the API writes is sealed as the node's.
    """
    node = Node(Settings(database_url=db.url, data_dir=tmp_path, **settings), migrate=False)
    audit.attach(db, audit.keys_of(node.db))
    node.db.dispose()
    node.db = node.chainer.db = db
    db.bus.after_commit(audit.AuditRecorded, lambda _: node.chainer.poke())
    return Api(create_app(node))
