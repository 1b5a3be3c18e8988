"""Screenshots of RSN's main pages, at laptop and phone width, for docs/screenshots/.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots]

Starts a demo node (`python -m rsn.cli demo`) in a temporary directory on a free
127.0.0.1 port, signs in through the sign-in form as a demo analyst (and as the
node-admin for the admin pages) in Debian's Chromium, and writes one PNG per page and
width: `<page>-desktop.png` (1280 x 800 viewport, full page) and `<page>-phone.png`
(390 x 844, full page). A page taller than the PNG budget allows is cut at
MAX_HEIGHT pixels. Nothing is fetched from anywhere but the demo node.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, FloatRect, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOST = "127.0.0.1"
WIDTHS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
    },
}
MAX_BYTES = 600_000
MAX_HEIGHT = 2000
# The analyst whose view the demo's storylines are written for (the phishing campaign).
PREFERRED_ANALYST = "bd.cert.analyst"
CORRELATED_QUERY = "secure-docs-gov.example"
# The demo's organization that requires release, and its liaison officer's queue.
RELEASER = "bd.ddm.liaison"


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str
    member_state: str
    api_token: str


@dataclass(frozen=True)
class Shot:
    """One page to capture: its file name, who looks, and how to get there."""

    name: str
    username: str | None
    go: Callable[[Page], None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_node(data_dir: Path) -> Iterator[str]:
    """`rsn demo` on a free port; its URL once /healthz answers. Stopped on exit."""
    port = free_port()
    log = data_dir.parent / "demo.log"
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "rsn.cli", "demo", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--data-dir", str(data_dir)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"rsn demo exited:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"rsn demo did not answer /healthz:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def accounts(data_dir: Path) -> tuple[Account, Account, Account]:
    """The analyst to show (the storylines' one when present), a node-admin, and the
    liaison officer of the organization whose reports wait for release."""
    raw = json.loads((data_dir / "demo-accounts.json").read_text(encoding="utf-8"))
    found = [
        Account(a["username"], a["password"], a["role"], a["member_state"], a["api_token"])
        for a in raw
    ]
    analysts = [a for a in found if a.role == "analyst"]
    analyst = next((a for a in analysts if a.username == PREFERRED_ANALYST), analysts[0])
    admin = next(a for a in found if a.role == "node-admin")
    releaser = next(a for a in found if a.username == RELEASER)
    return analyst, admin, releaser


def correlated_report(url: str, analyst: Account) -> str:
    """The report, of those the storyline search finds, with the most related reports.

    The analyst's own reports come first, so the page also shows the revoke form.
    """
    auth = {"Authorization": f"Bearer {analyst.api_token}"}
    found: list[tuple[bool, int, str, str]] = []
    with httpx.Client(base_url=url, headers=auth, timeout=10) as http:
        for query in ({"q": CORRELATED_QUERY}, {}):
            page = http.get("/api/v1/reports", params={**query, "limit": 50}).json()
            for item in page["items"]:
                full = http.get(f"/api/v1/reports/{item['id']}").json()
                others = {c["report_id"] for c in full.get("correlations", [])}
                if others:
                    own = full["originator"]["user"] == analyst.username
                    found.append((own, len(others), full["title"], str(full["id"])))
            if found:
                return max(found)[3]
    raise SystemExit(f"{analyst.username} may read no report with correlations")


def sign_in(context: BrowserContext, account: Account) -> None:
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    page.close()


def wait_for_shapes(page: Page, selector: str) -> None:
    """Until Leaflet has drawn the country shapes, and the map has settled."""
    page.wait_for_function(
        "css => document.querySelectorAll(css).length > 5",
        arg=f"{selector} .leaflet-overlay-pane path",
    )
    page.wait_for_load_state("networkidle")


def visit(path: str, after: Callable[[Page], None] | None = None) -> Callable[[Page], None]:
    def go(page: Page) -> None:
        page.goto(path, wait_until="networkidle")
        if after:
            after(page)

    return go


def fill_new_report(page: Page, state: str) -> None:
    """A report half written: the who-will-see panel names the chosen state."""
    page.goto("/reports/new", wait_until="networkidle")
    wait_for_shapes(page, "#point-picker")
    page.locator("#title").fill("Fake job offers sent from a Bangladeshi number")
    page.locator("#category").fill("organized-crime.human-trafficking")
    page.locator("#country").select_option("BD")
    page.locator("#severity").select_option("high")
    page.locator("#source_reliability").select_option("B")
    page.locator("#information_credibility").select_option("2")
    page.locator("#tlp-amber").check()
    page.locator(f"#ms-{state}").check()
    page.locator("#audience-body").filter(has_text=f"({state})").wait_for()
    page.locator("#obs-0-type").select_option("phone-number")
    page.locator("#obs-0-value").fill("+880 1711-460983")
    page.locator("#obs-0-value").press("Tab")
    page.locator("#obs-0-check .obs-ok").wait_for()
    page.locator("#obs-1-type").select_option("domain-name")
    page.locator("#obs-1-value").fill("jobs-abroad.example")
    page.locator("#obs-1-value").press("Tab")
    page.locator("#obs-1-check .obs-ok").wait_for()
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("window.scrollTo(0, 0)")


def shots(report_id: str, analyst: Account, admin: Account, releaser: Account) -> list[Shot]:
    state = "IN" if analyst.member_state != "IN" else "BD"
    lookup = "/observables?value=" + CORRELATED_QUERY
    return [
        Shot("login", None, visit("/login")),
        Shot("dashboard", analyst.username, visit("/dashboard")),
        Shot("reports", analyst.username, visit("/reports")),
        Shot("report-new", analyst.username, lambda page: fill_new_report(page, state)),
        Shot("report", analyst.username, visit(f"/reports/{report_id}")),
        Shot("report-edit", analyst.username, visit(f"/reports/{report_id}/edit")),
        Shot("observable", analyst.username, visit(lookup)),
        Shot("releases", releaser.username, visit("/releases")),
        Shot("approvals", releaser.username, visit("/approvals")),
        Shot("map", analyst.username, visit("/map", lambda p: wait_for_shapes(p, "#map"))),
        Shot("public", None, visit("/public")),
        Shot("admin-users", admin.username, visit("/admin/users")),
        Shot("profile", analyst.username, visit("/profile")),
    ]


def capture(page: Page, target: Path) -> int:
    """A full-page PNG; cut at MAX_HEIGHT when the whole page would be too heavy."""
    page.screenshot(path=str(target), full_page=True, animations="disabled", caret="hide")
    if target.stat().st_size > MAX_BYTES:
        width = page.viewport_size["width"] if page.viewport_size else 1280
        clip = FloatRect(x=0, y=0, width=width, height=MAX_HEIGHT)
        page.screenshot(path=str(target), full_page=True, clip=clip, animations="disabled")
    return target.stat().st_size


def take_all(browser: Browser, url: str, out: Path, data_dir: Path) -> list[Path]:
    analyst, admin, releaser = accounts(data_dir)
    report_id = correlated_report(url, analyst)
    people = {a.username: a for a in (analyst, admin, releaser)}
    written: list[Path] = []
    for width, options in WIDTHS.items():
        contexts: dict[str | None, BrowserContext] = {}
        try:
            for shot in shots(report_id, analyst, admin, releaser):
                if shot.username not in contexts:
                    context = browser.new_context(base_url=url, **options)
                    context.set_default_timeout(20_000)
                    if shot.username is not None:
                        sign_in(context, people[shot.username])
                    contexts[shot.username] = context
                page = contexts[shot.username].new_page()
                shot.go(page)
                target = out / f"{shot.name}-{width}.png"
                size = capture(page, target)
                page.close()
                written.append(target)
                print(f"{target.name:28} {size // 1024:4d} KB")
        finally:
            for context in contexts.values():
                context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    home = Path(tempfile.mkdtemp(prefix="rsn-shots-"))
    try:
        data_dir = home / "demo"
        with demo_node(data_dir) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
            )
            try:
                written = take_all(browser, url, out, data_dir)
            finally:
                browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"{len(written)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
