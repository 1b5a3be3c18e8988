"""TAXII 2.1 and STIX at scale: RSN beside medallion, RSN alone, and `rsn import`.

    .venv/bin/python bench/taxii.py [--sizes 500,1000,2000] [--large 50000,1000000]
                                    [--import-objects 100000] [--per-request 100]
                                    [--window N] [--seed 7] [--json FILE]

1. Peers: for each of --sizes, a scratch SQLite node gets reports until the main
   TAXII collection of a reader holds that many objects (GREEN reports of another
   organization, three observables each: an IP address, a domain and a phone
   number, so ten STIX objects a report). The same objects (what the reader sees,
   without extension-definition objects, which medallion cannot serve) are POSTed
   to medallion 3 (memory backend) in a subprocess on 127.0.0.1. Then `taxii2-client`
   pages through both collections with `as_pages(per_request=--per-request)`, RSN
   served by `rsn serve` (a subprocess) with a bearer token, medallion with Basic.
2. RSN alone at --large sizes, loaded through `rsn.reports.service.create_many` in
   batches of 500 (not over HTTP): objects/s over the whole collection (or the first
   --window objects), the p50/p95 of its pages, and the first page's latency (median
   of 20 fresh requests).
3. `rsn import` of a STIX bundle of --import-objects objects (RSN's own export of
   reports with five observables, two of them with indicators: at most 20% of the
   objects are indicators) into a node that has the same accounts and no reports,
   in a subprocess whose peak memory is read with getrusage; beside `stix2.parse` of
   the same bundle, also in a subprocess.

Targets (speed lives here, never in the tests): RSN ≥ 10 times medallion's objects/s at
the largest peer size; at the largest --large size within a factor 2 of RSN's own rate at the
largest peer size and a first page ≤ 100 ms; import ≥ 5,000 objects/s with a peak
under 500 MB. An empty list (--sizes "" or --large "") skips that part;
--import-objects 0 skips the import.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import requests
from rich.console import Console
from rich.table import Table
from taxii2client.v21 import Collection, as_pages

from rsn import sharing
from rsn.interop import flows, outbound, stix
from rsn.interop.model import ExportContext
from rsn.interop.stix.ext import RSN_IDENTITY
from rsn.registry import catalog, regionpacks, tokens
from rsn.registry import service as registry
from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.sharing import Principal
from rsn.store import Database, upgrade
from rsn.taxii import MAIN_COLLECTION, TAXII_21

console = Console(width=None if sys.stdout.isatty() else 150)
BATCH = 500
AUTHOR, READER = "in.analyst", "bd.analyst"
MEDALLION_USER, MEDALLION_PASSWORD = "bench", "bench-password"
MEDALLION_COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
TARGET_PEER_FACTOR = 10.0
TARGET_FLAT_FACTOR = 2.0
TARGET_FIRST_PAGE_MS = 100.0
TARGET_IMPORT_RATE = 5000.0
TARGET_IMPORT_MB = 500.0
PEERS = (
    "MISP: 33-340 attributes/s on import (MISP/MISP#3700, #9092, #10495).",
    "OpenCTI: 0.7-30 bundles/s on import (OpenCTI-Platform/opencti#4936, #6716).",
    "medallion, MongoDB backend: timeouts beyond 100,000 objects "
    "(oasis-open/cti-taxii-server#159).",
)


@dataclass
class Figure:
    part: str
    system: str
    objects: int
    rate: float | None = None  # objects/s
    first_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""


@dataclass
class Run:
    figures: list[Figure] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# A scratch node: two organizations, an author and a reader


@dataclass
class Scratch:
    home: Path
    db: Database
    author: Principal
    reader_token: str

    @property
    def url(self) -> str:
        return self.db.url


def scratch_node(home: Path) -> Scratch:
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'rsn.sqlite3'}"
    upgrade(url)
    db = Database(url)
    with db.session(write=True) as s:
        catalog.load_pack(s, regionpacks.load("bimstec"))
        users = {}
        for slug, state, name in (("in-cert", "IN", AUTHOR), ("bd-cert", "BD", READER)):
            org = registry.create_organization(
                s, slug=slug, name=slug.upper(), type="government-agency", member_state=state
            )
            users[name] = registry.create_user(
                s,
                username=name,
                display_name=name,
                organization=org,
                role="analyst",
                password_hash="!",  # no argon2: the bench signs in with tokens
            )
        token = tokens.create(s, user=users[READER], name="bench").token
    with db.session() as s:
        author = sharing.for_user(s, registry.get_user(s, username=AUTHOR))
    return Scratch(home, db, author, token)


def payload(i: int, kinds: Sequence[str]) -> ReportCreate:
    values = {
        "ipv4-addr": f"{45 + i // 65536 % 150}.{i // 256 % 256}.{i % 256}.7",
        "domain-name": f"c2-{i}.example",
        "phone-number": f"+88017{i % 100_000_000:08d}",
        "person-name": f"Karim Rahman {i}",
        "crypto-wallet": "0x" + f"{i:040x}",
    }
    return ReportCreate.model_validate(
        {
            "title": f"Boarding attempt {i}",
            "category": "maritime.piracy",
            "description": "Skiff approached a tanker; crew raised the alarm.",
            "occurred_at": "2026-10-01T10:00:00Z",
            "country": "IN",
            "location": {"lat": 20.26, "lon": 86.67},
            "severity": "medium",
            "confidence": 60,
            "source_reliability": "B",
            "information_credibility": "2",
            "tlp": "green",
            "distribution": {},
            "observables": [{"type": k, "value": values[k]} for k in kinds],
        }
    )


PAGED_KINDS = ("ipv4-addr", "domain-name", "phone-number")  # 10 objects a report
IMPORT_KINDS = ("ipv4-addr", "domain-name", "phone-number", "person-name", "crypto-wallet")


def load(node: Scratch, reports: int, kinds: Sequence[str]) -> float:
    """File `reports` reports through create_many, 500 a transaction; returns reports/s."""
    started = time.perf_counter()
    for first in range(0, reports, BATCH):
        with node.db.session(write=True) as s:
            filings = [
                service.Filing(node.author, payload(i, kinds))
                for i in range(first, min(first + BATCH, reports))
            ]
            service.create_many(s, filings)
        if (first // BATCH) % 40 == 39:
            console.print(f"  [dim]{first + BATCH:,} reports loaded[/dim]")
    return reports / (time.perf_counter() - started)


def reports_for(objects: int) -> int:
    """Reports whose objects, with the node's definitions, make `objects` in the collection."""
    per_report = 1 + 1 + 1 + len(PAGED_KINDS) + 2 * 2  # identity, report, location, SCOs, ...
    fixed = len(stix.MARKINGS) + 1 + len(stix.extension_definitions())
    return max(1, -(-(objects - fixed) // per_report))


# ---------------------------------------------------------------------------------------
# Servers on 127.0.0.1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(url: str, proc: subprocess.Popen[bytes], log: Path, **kwargs: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1, **kwargs)
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within 60 s")
        time.sleep(0.1)


@contextlib.contextmanager
def running(args: list[str], url: str, log: Path, **kwargs: Any) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait(url, proc, log, **kwargs)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def rsn_server(node: Scratch) -> Iterator[str]:
    port = free_port()
    config = node.home / "rsn.toml"
    config.write_text(
        f'[node]\ndatabase_url = "{node.url}"\ndata_dir = "{node.home}"\nport = {port}\n'
    )
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "rsn.cli", "serve", "--config", str(config)]
    with running(cmd, f"{base}/healthz", node.home / "server.log"):
        yield f"{base}/taxii2/rsn/collections/{MAIN_COLLECTION}/"


@contextlib.contextmanager
def medallion_server(home: Path, per_request: int) -> Iterator[str]:
    port = free_port()
    root = f"http://127.0.0.1:{port}/rsn-bench/"
    collection = {
        "id": MEDALLION_COLLECTION,
        "title": "bench",
        "can_read": True,
        "can_write": True,
        "media_types": ["application/stix+json;version=2.1"],
        "objects": [],
        "manifest": [],
    }
    info = {"title": "bench", "versions": [TAXII_21], "max_content_length": 100_000_000}
    data = {
        "/discovery": {"title": "bench", "default": root, "api_roots": [root]},
        "rsn-bench": {"information": info, "status": [], "collections": [collection]},
    }
    (home / "medallion-data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(home / "medallion-data.json"),
        },
        "users": {MEDALLION_USER: MEDALLION_PASSWORD},
        "taxii": {"max_page_size": per_request},
    }
    (home / "medallion.json").write_text(json.dumps(config))
    binary = str(Path(sys.executable).with_name("medallion"))
    cmd = [binary, "--host", "127.0.0.1", "--port", str(port), str(home / "medallion.json")]
    auth = (MEDALLION_USER, MEDALLION_PASSWORD)
    with running(cmd, f"{root}", home / "medallion.log", auth=auth):
        yield f"{root}collections/{MEDALLION_COLLECTION}/"


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


# ---------------------------------------------------------------------------------------
# Paging with taxii2-client


@dataclass
class Pass:
    objects: int
    seconds: float
    first_ms: float
    page_ms: list[float]

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0


def page_through(collection: Collection, per_request: int, window: int = 0) -> Pass:
    """Every page (or the first `window` objects) of a collection through `next`.

    One untimed request first, so neither server is timed warming up.
    """
    collection.get_objects(limit=1)
    count, times = 0, []
    started = last = time.perf_counter()
    for envelope in as_pages(collection.get_objects, per_request=per_request):
        now = time.perf_counter()
        times.append((now - last) * 1000)
        last = now
        count += len(envelope.get("objects", []))
        if window and count >= window:
            break
    return Pass(count, time.perf_counter() - started, times[0], times)


def first_page_ms(url: str, token: str, per_request: int, tries: int = 20) -> float:
    headers = {"Accept": TAXII_21, "Authorization": f"Bearer {token}"}
    samples = []
    with httpx.Client(timeout=60) as http:
        for _ in range(tries + 2):
            t0 = time.perf_counter()
            answer = http.get(f"{url}objects/", params={"limit": per_request}, headers=headers)
            answer.raise_for_status()
            samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples[2:])


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1) + 0.5))]


def reader_objects(node: Scratch) -> list[dict[str, Any]]:
    """What the reader's collection holds, once each, for medallion (no extension definitions)."""
    with node.db.session() as s:
        reader = sharing.for_user(s, registry.get_user(s, username=READER))
        items = outbound.items(s, principal=reader)
    context = ExportContext("bench")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in [*stix.MARKINGS.values(), RSN_IDENTITY]:
        found[(obj["id"], str(obj.get("modified")))] = obj
    for item in items:
        for obj in stix.objects_for(item, context, versions="last"):
            found.setdefault((obj["id"], str(obj.get("modified"))), obj)
    return list(found.values())


def peer_size(size: int, per_request: int, tmp: Path, run: Run) -> Pass:
    """RSN and medallion at one collection size; returns RSN's pass."""
    node = scratch_node(tmp / f"peer-{size}")
    load(node, reports_for(size), PAGED_KINDS)
    objects = reader_objects(node)
    with medallion_server(node.home, per_request) as url:
        collection = Collection(url, user=MEDALLION_USER, password=MEDALLION_PASSWORD)
        for first in range(0, len(objects), 500):
            status = collection.add_objects({"objects": objects[first : first + 500]})
            if status.failure_count:
                raise RuntimeError(f"medallion refused objects: {status.failures[:3]}")
        theirs = page_through(collection, per_request)
    with rsn_server(node) as url:
        ours = page_through(Collection(url, auth=Bearer(node.reader_token)), per_request)
    node.db.dispose()
    for name, found in (("medallion 3 (memory)", theirs), ("RSN (SQLite)", ours)):
        run.figures.append(
            Figure(
                f"peer, {size:,} objects",
                name,
                found.objects,
                found.rate,
                found.first_ms,
                percentile(found.page_ms, 0.5),
                percentile(found.page_ms, 0.95),
            )
        )
    wanted = TARGET_PEER_FACTOR * theirs.rate
    run.figures[-1].target = f"≥ {TARGET_PEER_FACTOR:.0f} x medallion ({wanted:,.0f}/s)"
    run.figures[-1].passed = ours.rate >= wanted
    return ours


def large_size(size: int, per_request: int, window: int, tmp: Path, run: Run) -> Pass:
    node = scratch_node(tmp / f"large-{size}")
    reports = reports_for(size)
    console.print(f"loading {reports:,} reports ({size:,} objects) …")
    rate = load(node, reports, PAGED_KINDS)
    with rsn_server(node) as url:
        first = first_page_ms(url, node.reader_token, per_request)
        found = page_through(Collection(url, auth=Bearer(node.reader_token)), per_request, window)
    node.db.dispose()
    shutil.rmtree(node.home, ignore_errors=True)
    run.figures.append(
        Figure(
            f"RSN alone, {size:,} objects",
            "RSN (SQLite)",
            found.objects,
            found.rate,
            first,
            percentile(found.page_ms, 0.5),
            percentile(found.page_ms, 0.95),
            target=f"first page ≤ {TARGET_FIRST_PAGE_MS:.0f} ms",
            passed=first <= TARGET_FIRST_PAGE_MS,
            note=f"loaded at {rate:,.0f} reports/s" + (f"; first {window:,}" if window else ""),
        )
    )
    return found


# ---------------------------------------------------------------------------------------
# Import of a large bundle, and stix2.parse of the same, each in its own process

MEASURED = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "seconds": time.perf_counter() - t0,
                  "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "out": done.stdout[-1500:], "err": done.stderr[-1500:]}))
"""
STIX2_PARSE = """
import sys, stix2
with open(sys.argv[1], encoding="utf-8") as f:
    bundle = stix2.parse(f.read(), allow_custom=True)
print(len(bundle.objects))
"""


def measured(cmd: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURED, *cmd], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed:\n{result['out']}\n{result['err']}")
    return result


def import_bundle(objects: int, tmp: Path, run: Run) -> None:
    source = scratch_node(tmp / "import-source")
    target = scratch_node(tmp / "import-target")  # the same accounts, no reports
    target.db.dispose()
    per_report = 1 + 1 + 1 + len(IMPORT_KINDS) + 2 * 2
    load(source, max(1, objects // per_report), IMPORT_KINDS)
    bundle = tmp / "bundle.json"
    with source.db.session(write=True) as s, bundle.open("wb") as out:
        flows.export_stream(s, principal=source.author, out=out, format="stix")
    source.db.dispose()
    listed = json.loads(bundle.read_text(encoding="utf-8"))["objects"]
    total = len(listed)
    indicators = sum(1 for o in listed if o["type"] == "indicator")
    del listed
    size_mb = bundle.stat().st_size / 2**20
    cmd = [sys.executable, "-m", "rsn.cli", "import", str(bundle), "--as", AUTHOR]
    ours = measured([*cmd, "--data-dir", str(target.home)])
    theirs = measured([sys.executable, "-c", STIX2_PARSE, str(bundle)])
    note = f"{size_mb:.0f} MB bundle, {indicators / total:.0%} indicators"
    rate = total / ours["seconds"]
    peak = ours["peak_kb"] / 1024
    run.figures.append(
        Figure(
            "import of a STIX bundle",
            "rsn import (SQLite)",
            total,
            rate,
            target=f"≥ {TARGET_IMPORT_RATE:,.0f}/s, peak < {TARGET_IMPORT_MB:.0f} MB",
            passed=rate >= TARGET_IMPORT_RATE and peak < TARGET_IMPORT_MB,
            note=f"{note}; peak {peak:,.0f} MB; process start included",
        )
    )
    run.figures.append(
        Figure(
            "parse of the same bundle",
            "stix2.parse",
            total,
            total / theirs["seconds"],
            note=f"peak {theirs['peak_kb'] / 1024:,.0f} MB; process start included",
        )
    )


# ---------------------------------------------------------------------------------------
# Output


def show(run: Run) -> None:
    table = Table(title="RSN TAXII 2.1 and STIX import", title_justify="left")
    for name, justify in (
        ("part", "left"),
        ("system", "left"),
        ("objects", "right"),
        ("objects/s", "right"),
        ("first page", "right"),
        ("page p50 / p95", "right"),
        ("target", "left"),
        ("", "center"),
        ("note", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    verdict = {True: "[green]PASS[/green]", False: "[red]MISS[/red]", None: "[dim]info[/dim]"}
    for f in run.figures:
        first = f"{f.first_ms:.0f} ms" if f.first_ms is not None else ""
        pages = f"{f.p50_ms:.0f} / {f.p95_ms:.0f} ms" if f.p50_ms is not None else ""
        rate = f"{f.rate:,.0f}" if f.rate is not None else ""
        table.add_row(
            f.part,
            f.system,
            f"{f.objects:,}",
            rate,
            first,
            pages,
            f.target,
            verdict[f.passed],
            f.note,
        )
    console.print(table)


def sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="500,1000,2000", help="peer sizes, in objects")
    parser.add_argument("--large", default="50000,1000000", help="RSN-alone sizes, in objects")
    parser.add_argument("--import-objects", type=int, default=100_000, help="bundle size")
    parser.add_argument("--per-request", type=int, default=100, help="objects per page")
    parser.add_argument("--window", type=int, default=0, help="page only the first N (0: all)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    run = Run()
    run.facts = {
        "CPUs": str(os.cpu_count()),
        "Python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="rsn_bench_taxii_"))
    try:
        baseline = None
        for size in sizes(args.sizes):
            baseline = peer_size(size, args.per_request, tmp, run)
        for size in sizes(args.large):
            found = large_size(size, args.per_request, args.window, tmp, run)
            if baseline is not None:
                floor = baseline.rate / TARGET_FLAT_FACTOR
                run.figures[-1].target += f"; ≥ {floor:,.0f}/s (½ of the peer rate)"
                run.figures[-1].passed = bool(run.figures[-1].passed) and found.rate >= floor
        if args.import_objects:
            import_bundle(args.import_objects, tmp, run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    show(run)
    run.facts["load average at end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    console.print("[bold]machine[/bold]: " + ", ".join(f"{k} {v}" for k, v in run.facts.items()))
    console.print("[bold]published peer figures, for context[/bold] (other data, other machines):")
    for line in PEERS:
        console.print(f"  • {line}")
    total = time.perf_counter() - started
    console.print(f"total run time: {total:.0f} s")
    if args.json:
        out = {"seconds": total, **asdict(run), "peers": list(PEERS)}
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
