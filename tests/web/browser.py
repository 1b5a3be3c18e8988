"""What the browser tests share: a real `rsn serve` process, Debian's Chromium, and checks.

The server is a subprocess on a free 127.0.0.1 port with a TOML configuration, as an
operator runs it; the browser is Debian's Chromium driven by Playwright's sync API
(never a downloaded browser). axe-core is the copy shipped inside the
`axe_playwright_python` package, evaluated in the page, so no check fetches anything.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
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
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
BLOCKING = ("critical", "serious")


def chromium() -> Iterator[Browser]:
    """Debian's Chromium for a module's tests: a missing browser fails, never skips.

    A skipped browser test proves nothing; `make test` installs the chromium package.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with nothing of its own phoning home."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
    )


# --- the server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `rsn serve`; its output goes to a file, read back when something fails."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(database_url: str, home: Path, timeout: float = 30) -> Server:
    """`rsn serve --config` on a free port, returned once /healthz answers 200."""
    port = free_port()
    config = home / "rsn.toml"
    config.write_text(
        f'[node]\ndatabase_url = "{database_url}"\ndata_dir = "{home}"\n'
        f'host = "{HOST}"\nport = {port}\n'
    )
    log = home / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rsn.cli", "serve", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://{HOST}:{port}", proc, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rsn serve exited with {proc.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise AssertionError(f"{server.url}/healthz did not answer in {timeout} s:\n{server.output()}")


# --- pages ---------------------------------------------------------------------------


def sign_in(page: Page, username: str, password: str) -> None:
    """Through the sign-in form, by its labels, as a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def wait_for_map(page: Page, selector: str = "#map", least: int = 6) -> int:
    """Wait until Leaflet has drawn at least `least` country shapes; return how many.

    The regional map marks its country shapes with the class `country`; the report
    form's point picker draws plain paths.
    """
    shape = "path.country" if selector == "#map" else "path"
    shapes = f"{selector} .leaflet-overlay-pane {shape}"
    page.wait_for_function(
        "([css, n]) => document.querySelectorAll(css).length >= n", arg=[shapes, least]
    )
    return page.locator(shapes).count()


@dataclass
class Traffic:
    """Every request, failed response and script error of the pages it watches."""

    requests: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.failures.append(f"{response.status} {response.url}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.location.get('url', '')}: {message.text}")

    def foreign(self) -> list[str]:
        """Requests to any host but 127.0.0.1 (data: and blob: URLs stay in the page)."""
        return [url for url in self.requests if not is_local(url)]


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname == HOST


# --- accessibility -------------------------------------------------------------------

_axe = Axe()


def axe_violations(page: Page, impacts: Sequence[str] = BLOCKING) -> list[dict[str, Any]]:
    """axe-core's violations of the given impacts on the page as it is now."""
    results = _axe.run(page)
    found: list[dict[str, Any]] = results.response["violations"]
    return [v for v in found if v.get("impact") in impacts]


def describe_violations(violations: Sequence[dict[str, Any]]) -> str:
    """Rule, impact, help and each offending element, for a failure message."""
    lines: list[str] = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {target}: {summary}")
            lines.append(f"      {str(node.get('html', ''))[:200]}")
    return "\n".join(lines)
