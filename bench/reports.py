"""Reports at scale: batched ingest, then a real HTTP server under one client.

    .venv/bin/python bench/reports.py [--n 100000] [--store sqlite|postgresql|both]
                                      [--pg-url URL] [--json FILE] [--keep]
                                      [--via create_many|create]

Builds a BIMSTEC node in a scratch store (a temporary SQLite file; a database named
rsn_bench_* on the PostgreSQL server at --pg-url, dropped afterwards), loads N reports
through the service layer (`rsn.reports.service.create_many` per batch, or
`service.create` per report; `ReportCreate` validation included) in transactions of
500, then starts uvicorn in a subprocess on a free port of 127.0.0.1
and times it with httpx: single creates, list pages (unfiltered, by country, by country
and category, and with `q=`), single reads with correlations and the counts API with a
token; the dashboard and the map's data as a browser signed in through /login; each as
a user of the large organization (in-cert) and of a small one (bt-police); and the
public page. Then, in this process, the dashboard's cross-border panel and tallies
(no route serves them alone) and, on PostgreSQL, the counts query 30 times on one
connection (generic plans). Reports occurred over the two years before the node's
clock, so every time window holds data. Prints one table per store with the targets
beside the figures. Speed targets live here, never in the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from rsn import audit, clock, fusion, sharing
from rsn.config import Settings
from rsn.node import open_database
from rsn.registry import catalog, regionpacks, tokens
from rsn.registry import service as registry
from rsn.reports import listing, service
from rsn.reports.schemas import ReportCreate
from rsn.sharing import Principal
from rsn.store import Database, upgrade
from rsn.web.sessions import COOKIE as SESSION_COOKIE
from rsn.web.views import dashboard as dashboard_view

# Wide enough for the tables when the output goes to a file.
console = Console(width=None if sys.stdout.isatty() else 150)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 500
STATES = ("BD", "BT", "IN", "MM", "NP", "LK", "TH")
LARGE_ORG = "in-cert"
LARGE_READER = "in-cert.analyst01"
SMALL_ORG = "bt-police"
SMALL_READER = "bt-police.analyst1"
READERS = {"large org (in-cert)": LARGE_READER, "small org (bt-police)": SMALL_READER}
GROUP = "bay-of-bengal-fusion"
SPAN_MINUTES = 2 * 365 * 24 * 60  # reports occurred over the two years before now
TARGET_INGEST = 1000.0  # reports/s, batched, on SQLite
TARGET_P95_MS = 50.0  # list pages, reads, single creates
TARGET_PAGE_MS = 100.0  # pages users see first: dashboard, map data, public page (issue 13)
TARGET_COUNT_MS = 30.0  # counts and the dashboard's tallies (issue 13)
# The two timed readers sign in through the web form for the pages (a real session
# cookie over the wire); everyone else has only an API token.
PASSWORD = "bench-password-not-secret"
HTTP_TIMEOUT = 600  # seconds: at 1,000,000 reports a counted page takes seconds
PEERS = (
    "OpenCTI: list views taking 10-30 s at ~1.7 M entities (OpenCTI-Platform/opencti#769).",
    "MISP: log-ins taking 2-5 min with ~150 M correlation rows (MISP/MISP#7396).",
)

# ---------------------------------------------------------------------------------------
# The node: states, organizations, users, a sharing group


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    state: str
    type: str
    users: int
    weight: float  # share of the reports


def org_specs() -> list[OrgSpec]:
    """in-cert is the large organization; every state has a few small ones."""
    specs = [OrgSpec(LARGE_ORG, "IN", "government-agency", 60, 0.45)]
    for cc in STATES:
        low = cc.lower()
        if cc != "IN":
            specs.append(OrgSpec(f"{low}-cert", cc, "government-agency", 4, 0.04))
        specs.append(OrgSpec(f"{low}-police", cc, "government-agency", 3, 0.025))
        specs.append(OrgSpec(f"{low}-coastguard", cc, "government-agency", 2, 0.01))
    specs.extend(
        OrgSpec(f"{cc.lower()}-watch", cc, "cso", 2, 0.005) for cc in ("IN", "BD", "LK", "NP")
    )
    return specs


@dataclass
class Account:
    username: str
    org: str
    state: str
    token: str
    principal: Principal


@dataclass
class Registry:
    accounts: dict[str, Account]
    by_org: dict[str, list[str]]
    specs: list[OrgSpec]


def build_registry(db: Database) -> Registry:
    specs = org_specs()
    accounts: dict[str, Account] = {}
    by_org: dict[str, list[str]] = {}
    with db.session(write=True) as s:
        catalog.load_pack(s, regionpacks.load("bimstec"))
        orgs = {
            spec.slug: registry.create_organization(
                s, slug=spec.slug, name=spec.slug.upper(), type=spec.type, member_state=spec.state
            )
            for spec in specs
        }
        group = registry.create_sharing_group(
            s, slug=GROUP, name="Bay of Bengal fusion cell", owner=orgs[LARGE_ORG]
        )
        registry.set_group_members(
            s,
            group=group,
            acting_org=orgs[LARGE_ORG],
            organizations=[orgs["bd-cert"], orgs["mm-cert"], orgs["lk-cert"], orgs["in-watch"]],
            member_states=["TH"],
        )
        issued: list[tuple[str, str, str, str]] = []
        hashed = registry.hash_password(PASSWORD)
        for spec in specs:
            width = 2 if spec.users > 9 else 1
            for i in range(1, spec.users + 1):
                name = f"{spec.slug}.analyst{i:0{width}d}"
                user = registry.create_user(
                    s,
                    username=name,
                    display_name=name,
                    organization=orgs[spec.slug],
                    role="analyst",
                    # Only the timed readers sign in with a password; "!" matches none.
                    password_hash=hashed if name in (LARGE_READER, SMALL_READER) else "!",
                )
                token = tokens.create(s, user=user, name="bench").token
                issued.append((name, spec.slug, spec.state, token))
                by_org.setdefault(spec.slug, []).append(name)
    with db.session() as s:
        for name, org, state, token in issued:
            principal = sharing.for_user(s, registry.get_user(s, username=name))
            accounts[name] = Account(name, org, state, token, principal)
    return Registry(accounts, by_org, specs)


# ---------------------------------------------------------------------------------------
# Reports: categories, words, and observables of which a realistic fraction repeat

PLACES = {
    "BD": ["Chittagong", "Cox's Bazar", "Khulna", "Dhaka", "Mongla"],
    "BT": ["Thimphu", "Phuentsholing", "Paro", "Gelephu"],
    "IN": ["Kolkata", "Chennai", "Visakhapatnam", "Port Blair", "Paradip", "Guwahati"],
    "MM": ["Yangon", "Sittwe", "Kyaukphyu", "Myeik", "Mandalay"],
    "NP": ["Kathmandu", "Birgunj", "Biratnagar", "Pokhara"],
    "LK": ["Colombo", "Trincomalee", "Galle", "Jaffna", "Hambantota"],
    "TH": ["Bangkok", "Ranong", "Phuket", "Satun", "Mae Sot"],
}
NOUNS = {
    "maritime": ["vessel", "trawler", "dhow", "boarding", "tanker", "fishing fleet"],
    "cyber": ["phishing campaign", "ransomware", "DDoS", "credential leak", "defacement"],
    "organized-crime": ["smuggling ring", "courier network", "shipment", "trafficking route"],
    "terrorism": ["cell", "propaganda channel", "attack plot", "financing network"],
    "disaster": ["cyclone", "flooding", "landslide", "storm surge", "aftershock"],
    "border": ["crossing", "patrol clash", "fence breach", "incursion"],
    "health": ["outbreak", "fever cluster", "quarantine breach"],
}
ADJECTIVES = ["suspicious", "reported", "confirmed", "possible", "recurring", "new", "major"]
# A Zipf-ish vocabulary for descriptions: the first words are in many reports, the last few.
VOCABULARY = (
    "port vessel border smuggling network route cargo local police reported seized "
    "suspects district coast night payment transfer account phone recruiters victims "
    "traffick bay island fishing boat crew warning alert flood cyclone rainfall damage "
    "malware server domain phishing ransomware botnet credential hospital outbreak fever "
    "clinic village camp displaced refugees market prices fuel shortage protest rally "
    "militia weapons explosives courier hawala wallet exchange containers customs "
    "manifest forged passports visas brokers agents informant patrol radar drone "
    "satellite imagery tanker spill mangrove timber sand mining gold narcotics "
    "methamphetamine heroin yaba pills cannabis precursor laboratory shipment"
)
WORDS = VOCABULARY.split()
Q_TERMS = [
    "vessel",  # in titles and many descriptions
    "smuggling network",  # two words, both common
    "ransomware",
    "cyclone",
    "traff",  # a prefix: the last word of a query matches as one
    "yaba pills",
    "chittagong",
    "mangrove",
]
LIST_FILTERS = [
    ("IN", "cyber"),
    ("BD", "organized-crime"),
    ("MM", "maritime"),
    ("TH", "disaster"),
    ("LK", "maritime.illegal-fishing"),
    ("NP", "disaster.earthquake"),
    ("BT", "health"),
    ("IN", "terrorism.attack"),
]
OBS_TYPES = [
    ("ipv4-addr", 16),
    ("domain-name", 12),
    ("url", 8),
    ("email-addr", 8),
    ("file-sha256", 10),
    ("file-md5", 5),
    ("phone-number", 12),
    ("vessel-imo", 4),
    ("vehicle-plate", 4),
    ("person-name", 8),
    ("group-name", 3),
    ("crypto-wallet", 6),
    ("bank-account", 4),
]
SYLLABLE_TEXT = "ka ri mo an sa de la ru hi ta ne bo sha vi ku ma lo pe ra zu"
SYLLABLES = SYLLABLE_TEXT.split()
# The types of the four most common values (two more are of any type).
COMMON_KINDS = ("ipv4-addr", "domain-name", "file-sha256", "phone-number")


def observable_value(kind: str, i: int) -> str:
    """The i-th distinct value of a type, valid for RSN's normalizers."""
    h = hashlib.sha256(f"{kind}:{i}".encode()).hexdigest()
    if kind == "ipv4-addr":
        return f"{45 + (i >> 24) % 150}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    if kind == "domain-name":
        return f"{_syllables(i, 3)}-{h[:4]}.{('com', 'net', 'org', 'in', 'bd', 'lk')[i % 6]}"
    if kind == "url":
        return f"https://{_syllables(i, 2)}{h[:5]}.net/{h[5:11]}/login.php?id={i}"
    if kind == "email-addr":
        return f"{_syllables(i, 2)}.{h[:4]}@{('gmail.com', 'proton.me', 'yahoo.in')[i % 3]}"
    if kind == "file-sha256":
        return h
    if kind == "file-md5":
        return hashlib.md5(h.encode(), usedforsecurity=False).hexdigest()
    if kind == "phone-number":
        return f"+88017{i % 100_000_000:08d}" if i % 2 else f"+9198{i % 100_000_000:08d}"
    if kind == "vessel-imo":
        digits = f"{9_000_000 // 10 + i % 99_999:06d}"
        check = sum(int(d) * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
        return f"IMO{digits}{check}"
    if kind == "vehicle-plate":
        return f"{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}-{i % 10_000:04d}-{h[:2].upper()}"
    if kind in ("person-name", "group-name"):
        first, last = _syllables(i, 3), _syllables(i // 7 + 13, 3)
        return f"{first} {last}" if kind == "person-name" else f"{first} {last} brigade"
    if kind == "crypto-wallet":
        return "0x" + h[:40]
    if kind == "bank-account":
        return f"{('BD', 'IN', 'LK', 'MM')[i % 4]}:{i:012d}"
    raise ValueError(kind)


def _syllables(i: int, count: int) -> str:
    out = []
    for _ in range(count + 2):
        out.append(SYLLABLES[i % len(SYLLABLES)])
        i //= len(SYLLABLES)
    return "".join(out)


KIND_NAMES = [k for k, _ in OBS_TYPES]
_TAGS = ("unique", "shared", "common")


def _code(kind: int, counter: int, tag: int = 0) -> int:
    """One observable slot as an int: which type, which value of it, and why it is there."""
    return (kind << 40 | counter) << 2 | tag


def _decode(code: int) -> tuple[str, str]:
    value = code >> 2
    kind = KIND_NAMES[value >> 40]
    return kind, observable_value(kind, value & (1 << 40) - 1)


@dataclass
class ObservablePlan:
    """The observables of every report, laid out before loading.

    About 30% of observable slots hold a value shared by 2-19 reports, a handful of very
    common values are each in ~0.4% of reports (beyond the 'common' threshold), and the
    rest are unique. No value but the very common ones is in 20 or more reports.

    Kept as flat arrays of ints (type and number of each value), spelled out only when a
    batch's bodies are made: at 1,000,000 reports, lists of strings took ~850 MB.
    """

    codes: array[int]  # every report's values, report after report
    offsets: array[int]  # report i's values are codes[offsets[i]:offsets[i + 1]]
    shared_reports: array[int]  # reports with at least one shared (not common) value
    max_shared: int
    shared_values: int
    common_values: list[tuple[str, str]]

    def values(self, i: int) -> list[tuple[str, str]]:
        """Report i's observables as (type, value)."""
        return [_decode(c) for c in self.codes[self.offsets[i] : self.offsets[i + 1]]]

    @classmethod
    def build(cls, n: int, rng: random.Random) -> ObservablePlan:
        # The same draws, in the same order, as the plan of lists this replaced: a seed
        # gives the same values as before.
        counters = [0] * len(KIND_NAMES)
        weights = [w for _, w in OBS_TYPES]
        kinds = range(len(KIND_NAMES))

        def fresh(kind: int | None = None, tag: int = 0) -> int:
            kind = rng.choices(kinds, weights)[0] if kind is None else kind
            counters[kind] += 1
            return _code(kind, counters[kind], tag)

        sizes = array("b", (rng.choice((3, 4, 4, 4, 5)) for _ in range(n)))
        total = sum(sizes)
        slots = array("q")
        common = [fresh(KIND_NAMES.index(k)) for k in COMMON_KINDS]
        common.extend(fresh() for _ in range(2))
        per_common = max(60, n // 250)
        slots.extend(c | 2 for c in common for _ in range(per_common))
        shared_values, biggest = 0, 0
        while len(slots) < 0.3 * total:
            k = min(19, 2 + int(rng.expovariate(1 / 3)))
            value = fresh(tag=1)
            slots.extend(value for _ in range(k))
            shared_values, biggest = shared_values + 1, max(biggest, k)
        slots.extend(fresh() for _ in range(total - len(slots)))
        rng.shuffle(slots)
        codes, offsets, shared_reports = array("q"), array("q", [0]), array("q")
        at = 0
        for i, size in enumerate(sizes):
            taken = slots[at : at + size]
            chosen = dict.fromkeys(c & ~3 for c in taken)
            while len(chosen) < size:  # the same value twice in one report: take a new one
                chosen[fresh()] = None
            if any(c & 3 == 1 for c in taken):
                shared_reports.append(i)
            codes.extend(chosen)
            offsets.append(len(codes))
            at += size
        spelled = [_decode(c) for c in common]
        return cls(codes, offsets, shared_reports, biggest, shared_values, spelled)


@dataclass
class Generator:
    """Deterministic report payloads (the JSON a client sends) for the bench's node."""

    reg: Registry
    rng: random.Random
    plan: ObservablePlan
    categories: list[str]
    category_weights: list[float]
    latest: datetime  # the newest `occurred_at`: the node's "now" when the plan was made
    extra: int = 0
    _orgs: list[OrgSpec] = field(default_factory=list)

    @classmethod
    def make(cls, reg: Registry, db: Database, n: int, seed: int) -> Generator:
        rng = random.Random(seed)
        with db.session() as s:
            leaves = sorted(c for c in catalog.category_ids(s) if "." in c)
        rng.shuffle(leaves)
        weights = [1 / (rank + 1) ** 0.8 for rank in range(len(leaves))]
        plan = ObservablePlan.build(n, rng)
        # The node's clock (RSN_CLOCK_OFFSET moves it here and in the server alike), to
        # the minute: every run puts the same share of reports in the pages' windows.
        latest = clock.now().replace(second=0, microsecond=0)
        return cls(reg, rng, plan, leaves, weights, latest, _orgs=reg.specs)

    def occurred_at(self) -> datetime:
        """Uniform over the two years before the plan was made.

        So the dashboard's and the map's 30- and 365-day windows hold ~4% and ~50% of
        the reports whenever the bench runs (fixed dates aged out of every window).
        """
        return self.latest - timedelta(minutes=self.rng.randrange(SPAN_MINUTES))

    def author(self) -> str:
        spec = self.rng.choices(self._orgs, [o.weight for o in self._orgs])[0]
        return self.rng.choice(self.reg.by_org[spec.slug])

    def payload(self, i: int | None, username: str) -> dict[str, Any]:
        """Report i of the plan, or (i=None) a new one with fresh values, by `username`."""
        rng, acct = self.rng, self.reg.accounts[username]
        category = rng.choices(self.categories, self.category_weights)[0]
        country = acct.state if rng.random() < 0.8 else rng.choice(STATES)
        place = rng.choice(PLACES[country])
        noun = rng.choice(NOUNS.get(category.split(".")[0], ["incident", "activity"]))
        words = rng.choices(WORDS, [1 / (r + 1) for r in range(len(WORDS))], k=rng.randint(8, 30))
        if i is None:
            self.extra += 1
            observables = [
                (k, observable_value(k, 10_000_000 + self.extra * 8 + j))
                for j, k in enumerate(rng.sample([k for k, _ in OBS_TYPES], 4))
            ]
        else:
            observables = self.plan.values(i)
        tlp, distribution = self.marking(acct)
        when = self.occurred_at()
        return {
            "title": f"{rng.choice(ADJECTIVES).title()} {noun} near {place}",
            "category": category,
            "description": f"{noun.capitalize()} observed near {place}. " + " ".join(words) + ".",
            "occurred_at": when.isoformat().replace("+00:00", "Z"),
            "country": country,
            "location": {
                "lat": round(rng.uniform(5, 28), 4),
                "lon": round(rng.uniform(80, 100), 4),
            },
            "severity": rng.choice(("low", "medium", "medium", "high", "critical")),
            "confidence": rng.randrange(20, 100),
            "source_reliability": rng.choice("ABCDEF"),
            "information_credibility": rng.choice("123456"),
            "tlp": tlp,
            "distribution": distribution,
            "observables": [{"type": k, "value": v} for k, v in observables],
        }

    def marking(self, acct: Account) -> tuple[str, dict[str, list[str]]]:
        """10% clear, 40% green, 35% amber (with a distribution), 10% amber+strict, 5% red."""
        rng, roll = self.rng, self.rng.random()
        if roll < 0.10:
            return "clear", {}
        if roll < 0.50:
            return "green", {}
        orgs = [o.slug for o in self._orgs if o.slug != acct.org]
        if roll < 0.85:
            dist: dict[str, list[str]] = {}
            pick = rng.random()
            if pick < 0.5:
                dist["member_states"] = rng.sample(STATES, rng.randint(1, 3))
            elif pick < 0.8:
                dist["organizations"] = rng.sample(orgs, rng.randint(1, 2))
            elif pick < 0.95:
                dist["sharing_groups"] = [GROUP]
            return "amber", dist
        if roll < 0.95:
            return "amber+strict", {"organizations": rng.sample(orgs, rng.randint(1, 2))}
        others = [u for u in self.reg.accounts if u != acct.username]
        return "red", {"users": rng.sample(others, rng.randint(0, 2))}


# ---------------------------------------------------------------------------------------
# Stores


@contextlib.contextmanager
def scratch_store(store: str, pg_url: str, keep: bool) -> Iterator[tuple[str, Path]]:
    """A fresh, empty store URL and a data directory; both removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=f"rsn_bench_{store}_"))
    if store == "sqlite":
        try:
            yield f"sqlite:///{tmp / 'rsn.sqlite3'}", tmp
        finally:
            if keep:
                console.print(f"[dim]kept {tmp / 'rsn.sqlite3'}[/dim]")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        return
    admin = make_url(pg_url).set(drivername="postgresql")
    name = f"rsn_bench_{uuid.uuid4().hex[:10]}"
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        yield url, tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if keep:
            console.print(f"[dim]kept database {name}[/dim]")
        else:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_version(pg_url: str) -> str:
    try:
        dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"
    except psycopg.Error:
        return "unreachable"


# ---------------------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    measure: str
    reader: str
    count: int
    p50_ms: float | None = None
    p95_ms: float | None = None
    value: float | None = None  # for rates and sizes
    unit: str = "ms"
    target: str = ""
    passed: bool | None = None
    note: str = ""
    samples_ms: list[float] | None = None  # every sample, where their order tells something


@dataclass
class StoreRun:
    store: str
    n: int
    figures: list[Figure] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency(
    measure: str,
    reader: str,
    samples: Sequence[float],
    note: str = "",
    target_ms: float = TARGET_P95_MS,
) -> Figure:
    p50, p95 = percentile(samples, 0.5) * 1000, percentile(samples, 0.95) * 1000
    figure = Figure(
        measure,
        reader,
        len(samples),
        p50,
        p95,
        target=f"p95 ≤ {target_ms:.0f} ms",
        passed=p95 <= target_ms,
        note=note,
    )
    console.print(f"[dim]  {measure}, {reader}: {p50:.1f} / {p95:.1f} ms[/dim]")
    return figure


# ---------------------------------------------------------------------------------------
# Ingest through the service layer


def ingest(db: Database, gen: Generator, n: int, run: StoreRun, via: str) -> list[str]:
    """N reports through the service, 500 to a transaction; returns their ids.

    `via="create"` calls `service.create` once per report (the path of the API);
    `via="create_many"` hands each batch of 500 to `service.create_many` (imports, sync).
    The clock runs over what the node does: validating each `ReportCreate`, filing,
    committing. Making up the JSON bodies is the client's work, done before each batch.
    """
    ids: list[str] = []
    principals = {name: a.principal for name, a in gen.reg.accounts.items()}
    took = cpu = validating = 0.0
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"ingest ({run.store}, {via})", total=n, rate="")
        for first in range(0, n, BATCH):
            bodies = []
            for i in range(first, min(first + BATCH, n)):
                author = gen.author()
                bodies.append((principals[author], gen.payload(i, author)))
            started, cpu_started = time.perf_counter(), time.process_time()
            with db.session(write=True) as s:
                filings = []
                for principal, body in bodies:
                    t0 = time.perf_counter()
                    data = ReportCreate.model_validate(body)
                    validating += time.perf_counter() - t0
                    if via == "create_many":
                        filings.append(service.Filing(principal, data))
                    else:
                        ids.append(service.create(s, principal=principal, data=data))
                if filings:
                    ids.extend(service.create_many(s, filings))
            took += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            done = len(ids)
            progress.update(task, completed=done, rate=f"{done / took:,.0f} reports/s")
            if not console.is_terminal and done % (BATCH * 20) == 0:
                progress.console.print(f"  {done:,} reports, {done / took:,.0f} reports/s")
    rate = n / took
    sqlite = run.store == "sqlite"
    run.figures.append(
        Figure(
            "batched ingest (validation incl.)",
            f"service.{via}",
            n,
            value=rate,
            unit="reports/s",
            target=f"≥ {TARGET_INGEST:,.0f} /s" + ("" if sqlite else " (SQLite's)"),
            passed=(rate >= TARGET_INGEST) if sqlite else None,
            note=(
                f"{took:.1f} s; this process's CPU {cpu / n * 1e3:.2f} ms/report, "
                f"of which validation {validating / n * 1e3:.2f} ms"
            ),
        )
    )
    return ids


def settle(db: Database, run: StoreRun) -> None:
    """Chain the audit tail the ingest left (as the server's chainer would), then analyze."""
    t0 = time.perf_counter()
    linked = audit.chain(db)
    took = time.perf_counter() - t0
    run.figures.append(
        Figure(
            "audit chain of the ingest tail",
            "-",
            linked,
            value=linked / took if took else 0.0,
            unit="records/s",
            note=f"{took:.1f} s",
        )
    )
    if db.dialect == "postgresql":
        # Autovacuum analyses a freshly loaded table within a minute or so; do it now
        # so the timings do not depend on when it happens to run.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def store_size(db: Database, url: str) -> float:
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
        return float(size or 0) / 2**20
    # The write-ahead log copied back and emptied first, as the node does once writes pause.
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(make_url(url).database or "")
    files = [path, path.with_name(path.name + "-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


# ---------------------------------------------------------------------------------------
# The HTTP server, in its own process so the client does not share its GIL

SERVER = """
import sys
from pathlib import Path

import uvicorn

from rsn.api.app import create_app
from rsn.config import Settings
from rsn.node import Node

node = Node(Settings(database_url=sys.argv[1], data_dir=Path(sys.argv[2])), migrate=False)
uvicorn.run(create_app(node), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning",
            access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def http_server(url: str, data_dir: Path) -> Iterator[str]:
    port = free_port()
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, url, str(data_dir), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(data_dir / 'server.log').read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("server did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ---------------------------------------------------------------------------------------
# Timings over HTTP


def timed(
    client: httpx.Client, calls: Sequence[Callable[[httpx.Client], httpx.Response]], ok: int
) -> list[float]:
    samples: list[float] = []
    for call in calls:
        t0 = time.perf_counter()
        response = call(client)
        samples.append(time.perf_counter() - t0)
        if response.status_code != ok:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return samples


def get(path: str, **params: str | int) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.get(path, params=params)


def post(path: str, body: dict[str, Any]) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.post(path, json=body)


def measure_api(
    base: str, gen: Generator, ids: list[str], run: StoreRun, requests: int, warmup: int
) -> None:
    candidates = [ids[i] for i in gen.plan.shared_reports]
    gen.rng.shuffle(candidates)
    for label, username in READERS.items():
        token = gen.reg.accounts[username].token
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=HTTP_TIMEOUT) as client:
            creates = [post("/api/v1/reports", gen.payload(None, username)) for _ in range(warmup)]
            timed(client, creates, 201)
            creates = [
                post("/api/v1/reports", gen.payload(None, username)) for _ in range(requests)
            ]
            run.figures.append(latency("single create (POST)", label, timed(client, creates, 201)))

            for name, calls in (
                ("list page, no filter", [get("/api/v1/reports", limit=50)] * requests),
                (
                    "list page, country only",
                    (
                        [get("/api/v1/reports", limit=50, country=cc) for cc in STATES]
                        * (requests // len(STATES) + 1)
                    )[:requests],
                ),
                (
                    "list page, country+category",
                    [
                        get("/api/v1/reports", limit=50, country=cc, category=cat)
                        for cc, cat in LIST_FILTERS
                    ]
                    * (requests // len(LIST_FILTERS)),
                ),
                (
                    "list page, q= full text",
                    [get("/api/v1/reports", limit=50, q=q) for q in Q_TERMS]
                    * (requests // len(Q_TERMS)),
                ),
            ):
                timed(client, calls[:warmup], 200)
                samples = timed(client, calls, 200)
                run.figures.append(latency(name, label, samples))

            chosen: list[str] = []
            corr_total = common_total = 0
            for report_id in candidates:  # doubles as the warm-up of the reads
                if len(chosen) >= requests:
                    break
                response = client.get(f"/api/v1/reports/{report_id}")
                if response.status_code == 200 and response.json()["correlations"]:
                    chosen.append(report_id)
                    corr_total += len(response.json()["correlations"])
                    common_total += len(response.json()["common_observables"])
            samples = timed(client, [get(f"/api/v1/reports/{r}") for r in chosen], 200)
            note = (
                f"{corr_total / max(1, len(chosen)):.1f} correlations, "
                f"{common_total / max(1, len(chosen)):.2f} common per read"
            )
            run.figures.append(latency("read one, with correlations", label, samples, note))


# ---------------------------------------------------------------------------------------
# The pages users see first (issue 13): counts, dashboard, map, public page


LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextlib.contextmanager
def signed_in(base: str, username: str) -> Iterator[httpx.Client]:
    """A browser's session: the sign-in form (its CSRF cookie and field), then the cookie."""
    with httpx.Client(base_url=base, timeout=HTTP_TIMEOUT) as client:
        form = client.get("/login")
        found = LOGIN_CSRF.search(form.text)
        if form.status_code != 200 or found is None:
            raise RuntimeError(f"/login: {form.status_code}, no csrf_token field")
        body = {"username": username, "password": PASSWORD, "csrf_token": found.group(1)}
        response = client.post("/login", data=body)
        if response.status_code != 303 or not client.cookies.get(SESSION_COOKIE):
            raise RuntimeError(f"sign-in as {username}: {response.status_code} {response.text}")
        yield client


def time_figure(
    client: httpx.Client,
    run: StoreRun,
    measure: str,
    reader: str,
    calls: Sequence[Callable[[httpx.Client], httpx.Response]],
    warmup: int,
    target_ms: float,
    note: str = "",
) -> None:
    timed(client, calls[:warmup], 200)
    run.figures.append(latency(measure, reader, timed(client, calls, 200), note, target_ms))


def measure_pages(base: str, gen: Generator, run: StoreRun, requests: int, warmup: int) -> None:
    """Counts over the API (token), dashboard and map data as a signed-in browser, public page."""
    for label, username in READERS.items():
        headers = {"Authorization": f"Bearer {gen.reg.accounts[username].token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=HTTP_TIMEOUT) as api:
            for by in ("category", "country"):
                rows = api.get("/api/v1/reports/counts", params={"by": by}).json()["rows"]
                note = f"{sum(r['count'] for r in rows):,} reports in {len(rows)} rows"
                calls = [get("/api/v1/reports/counts", by=by)] * requests
                measure = f"counts by {by} (API, all time)"
                time_figure(api, run, measure, label, calls, warmup, TARGET_COUNT_MS, note)
        with signed_in(base, username) as web:
            calls = [get("/dashboard")] * requests
            note = "HTML; newest 10, cross-border links, 30-day tallies"
            measure = "/dashboard (signed in)"
            time_figure(web, run, measure, label, calls, warmup, TARGET_PAGE_MS, note)
            for days in (30, 365):
                data = web.get("/map/data.json", params={"days": days}).json()
                note = (
                    f"{sum(data['counts'].values()):,} reports counted, "
                    f"{len(data['points'])} points{' (capped)' if data['points_capped'] else ''}"
                )
                calls = [get("/map/data.json", days=days)] * requests
                measure = f"/map/data.json, {days} days"
                time_figure(web, run, measure, label, calls, warmup, TARGET_PAGE_MS, note)
    with httpx.Client(base_url=base, timeout=HTTP_TIMEOUT) as anyone:
        calls = [get("/public")] * requests
        note = "HTML; newest 50 clear reports and counts of all clear ones"
        time_figure(anyone, run, "/public", "no sign-in", calls, warmup, TARGET_PAGE_MS, note)


def in_process(
    run: StoreRun,
    measure: str,
    reader: str,
    call: Callable[[], int],
    requests: int,
    warmup: int,
    target_ms: float,
    note: str,
) -> None:
    """`call` timed in this process, for parts of a page that have no route of their own."""
    found = 0
    for _ in range(warmup):
        found = call()
    samples = []
    for _ in range(requests):
        t0 = time.perf_counter()
        found = call()
        samples.append(time.perf_counter() - t0)
    run.figures.append(latency(measure, reader, samples, note.format(found=found), target_ms))


def measure_dashboard_parts(
    db: Database, gen: Generator, run: StoreRun, threshold: int, requests: int, warmup: int
) -> None:
    """The dashboard's cross-border panel and its tallies, each in its own read transaction.

    Neither has a route of its own (both are served inside `/dashboard`), so they are
    timed here, in the bench's process, with the same calls the page makes.
    """
    for label, username in READERS.items():
        principal = gen.reg.accounts[username].principal

        def links(principal: Principal = principal) -> int:
            with db.session() as s:
                found = fusion.for_organization(
                    s, principal=principal, limit=dashboard_view.LINKS, threshold=threshold
                )
            return len(found)

        def tallies(principal: Principal = principal) -> int:
            with db.session() as s:
                since = dashboard_view.window_start(dashboard_view.WINDOW_DAYS)
                names = dashboard_view.category_names(s)
                counted = dashboard_view.tallies(
                    s, principal=principal, filters=listing.Filters(since=since), names=names
                )
            return counted.total

        in_process(
            run,
            "cross-border panel (in process)",
            label,
            links,
            requests,
            warmup,
            TARGET_PAGE_MS,
            "fusion.for_organization, as /dashboard calls it; {found} links",
        )
        in_process(
            run,
            "dashboard tallies, 30 days (in process)",
            label,
            tallies,
            requests,
            warmup,
            TARGET_COUNT_MS,
            "counts by category and by country, as /dashboard; {found:,} reports",
        )


PLAN_RUNS = 30


def measure_generic_plans(db: Database, gen: Generator, run: StoreRun) -> None:
    """The API's counts query 30 times on one PostgreSQL connection, each time on its own.

    psycopg prepares a statement on the server after `prepare_threshold` (5) executions
    on a connection; PostgreSQL then plans it for its parameters five more times and may
    switch to a generic plan. A step in the series is that switch. Measured as the node
    runs it, then with `plan_cache_mode = force_custom_plan` for comparison.
    """
    principal = gen.reg.accounts[LARGE_READER].principal
    for setting in ("", "force_custom_plan"):
        samples: list[float] = []
        db.engine.dispose()  # a new connection: nothing counted or prepared on it yet
        with db.engine.connect() as conn:
            if setting:
                conn.exec_driver_sql(f"SET plan_cache_mode = {setting}")
                conn.commit()
            for _ in range(PLAN_RUNS):
                with Session(bind=conn) as s:
                    t0 = time.perf_counter()
                    listing.counts(s, principal=principal, by="category", filters=listing.Filters())
                    samples.append(time.perf_counter() - t0)
                    # Committed as the node's read transactions are: a rollback would
                    # make psycopg forget (and deallocate) what it counted and prepared.
                    s.commit()
            plans = conn.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                    " WHERE statement ILIKE :counted"
                ),
                {"counted": "%count(*)%FROM reports%GROUP BY%reports.category%"},
            ).all()
            conn.rollback()
        ms = [x * 1000 for x in samples]
        parts = ", ".join(
            f"{a}-{b}: {percentile(ms[a - 1 : b], 0.5):.0f} ms"
            for a, b in ((1, 5), (6, 10), (11, PLAN_RUNS))
        )
        prepared = (
            f"prepared: {plans[0][0]} generic, {plans[0][1]} custom plans"
            if plans
            else "never prepared"
        )
        figure = latency(
            f"counts by category, {PLAN_RUNS} runs on one connection"
            + (f" ({setting})" if setting else " (as served)"),
            "large org (in-cert)",
            samples,
            f"p50 of executions {parts}; {prepared}",
            TARGET_COUNT_MS,
        )
        figure.passed = None  # a shape to look at, not a target
        figure.samples_ms = [round(x, 1) for x in ms]
        run.figures.append(figure)


# ---------------------------------------------------------------------------------------
# One store, start to finish


def peak_rss_mib(who: int) -> int:
    """Peak resident memory of this process (or of its largest finished child), in MiB."""
    return round(resource.getrusage(who).ru_maxrss / 1024)  # Linux reports KiB


def run_store(store: str, args: argparse.Namespace) -> StoreRun:
    run = StoreRun(store, args.n)
    started = time.perf_counter()
    with scratch_store(store, args.pg_url, args.keep) as (url, data_dir):
        console.rule(f"[bold]{store}[/bold]: {args.n:,} reports")
        upgrade(url)
        # The node's own way in: its audit records are sealed with the data directory's keys.
        settings = Settings(database_url=url, data_dir=data_dir)
        db = open_database(settings)
        try:
            reg = build_registry(db)
            gen = Generator.make(reg, db, args.n, args.seed)
            # The plan is flat arrays of ints (a few bytes a report); what else the client
            # has made by now (registry, principals, modules) is frozen out of the cycle
            # collector, which walked the plan of lists in every full collection during
            # the load before (15-20% of the ingest's time at 100,000, work no node does).
            gc.freeze()
            plan = gen.plan
            run.facts["observables"] = len(plan.codes)
            run.facts["shared values (2-19 reports each)"] = plan.shared_values
            run.facts["largest shared value"] = plan.max_shared
            run.facts["very common values"] = len(plan.common_values)
            run.facts["organizations"] = len(reg.specs)
            run.facts["users"] = len(reg.accounts)
            run.facts["occurred_at"] = f"uniform over the 730 days to {gen.latest:%Y-%m-%d %H:%M}Z"
            ids = ingest(db, gen, args.n, run, args.via)
            run.facts["bench peak RSS after ingest (MiB)"] = peak_rss_mib(resource.RUSAGE_SELF)
            if args.ingest_only:  # before/after comparisons of the write path
                return run
            settle(db, run)
            run.facts["store size (MiB)"] = round(store_size(db, url), 1)
        finally:
            db.dispose()
        console.print("ingest done; starting the HTTP server")
        with http_server(url, data_dir) as base:
            measure_api(base, gen, ids, run, args.requests, args.warmup)
            measure_pages(base, gen, run, args.requests, args.warmup)
        run.facts["server peak RSS (MiB)"] = peak_rss_mib(resource.RUSAGE_CHILDREN)
        console.print("server stopped; timing the dashboard's parts in this process")
        db = open_database(settings)
        try:
            threshold = settings.correlation_threshold
            measure_dashboard_parts(db, gen, run, threshold, args.requests, args.warmup)
            if db.dialect == "postgresql":
                measure_generic_plans(db, gen, run)
        finally:
            db.dispose()
    run.seconds = time.perf_counter() - started
    return run


# ---------------------------------------------------------------------------------------
# Output


def machine_facts(args: argparse.Namespace) -> dict[str, str]:
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    facts = {
        "CPUs": str(os.cpu_count()),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "platform": platform.platform(terse=True),
        "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    if "postgresql" in stores:
        facts["PostgreSQL"] = pg_version(args.pg_url)
    return facts


def show(run: StoreRun) -> None:
    table = Table(
        title=f"RSN reports — {run.store}, {run.n:,} reports ({run.seconds:.0f} s)",
        title_justify="left",
    )
    for name, justify in (
        ("measure", "left"),
        ("reader", "left"),
        ("n", "right"),
        ("p50", "right"),
        ("p95 / value", "right"),
        ("target", "left"),
        ("", "center"),
        ("note", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for f in run.figures:
        verdict = {True: "[green]PASS[/green]", False: "[red]MISS[/red]", None: "[dim]info[/dim]"}
        if f.unit == "ms":
            p50, main = f"{f.p50_ms:.1f} ms", f"{f.p95_ms:.1f} ms"
        else:
            p50, main = "", f"{f.value:,.0f} {f.unit}"
        table.add_row(
            f.measure, f.reader, f"{f.count:,}", p50, main, f.target, verdict[f.passed], f.note
        )
    console.print(table)
    data = ", ".join(
        f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in run.facts.items()
    )
    console.print(f"[dim]data: {data}[/dim]")
    for f in run.figures:
        if f.samples_ms:
            each = " ".join(f"{x:.0f}" for x in f.samples_ms)
            console.print(f"{f.measure}, ms per execution 1-{len(f.samples_ms)}: {each}")


def stopped(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000, help="reports to load (100000)")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("RSN_BENCH_PG_URL", DEFAULT_PG_URL),
        help="a PostgreSQL server on which to create (and drop) a scratch rsn_bench_* database",
    )
    parser.add_argument(
        "--via",
        choices=("create", "create_many"),
        default="create_many",
        help="ingest with service.create_many per batch (default) or create per report",
    )
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="stop after the ingest (for before/after runs of the write path, interleaved)",
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per figure")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests before each")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch store")
    args = parser.parse_args(argv)
    # A run stopped with `kill` (a background job ignores Ctrl-C) still drops its
    # scratch database and stops its server: SystemExit unwinds through both.
    signal.signal(signal.SIGTERM, stopped)
    started = time.perf_counter()
    facts = machine_facts(args)
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    runs = []
    for store in stores:
        run = run_store(store, args)
        runs.append(run)
        show(run)
    facts["load average at end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    console.print("[bold]machine[/bold]: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    console.print("[bold]published peer figures, for context[/bold] (other data, other machines):")
    for line in PEERS:
        console.print(f"  • {line}")
    total = time.perf_counter() - started
    console.print(f"total run time: {total:.0f} s")
    if args.json:
        out = {
            "machine": facts,
            "n": args.n,
            "seconds": total,
            "stores": [asdict(r) for r in runs],
            "peers": list(PEERS),
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
