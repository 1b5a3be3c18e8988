"""`rsn serve` as a real process on 127.0.0.1: what crosses the wire, and the demo's start."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from rsn import audit
from rsn.store import Database
from tests.factories import bimstec_world, report_payload

RSN = [sys.executable, "-m", "rsn.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited: {proc.stdout.read().decode() if proc.stdout else ''}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url}/healthz did not answer within {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[tuple[str, Database]]:
    port = free_port()
    config = tmp_path / "rsn.toml"
    config.write_text(
        f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\nport = {port}\n'
    )
    proc = subprocess.Popen(
        [*RSN, "serve", "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout=30)
        audit.attach(db, audit.load_or_create(tmp_path)[0])  # the node's keys, made at start
        yield url, db
    finally:
        stop(proc)


def test_reports_cross_the_wire(served: tuple[str, Database]) -> None:
    url, db = served
    w = bimstec_world(db)
    with httpx.Client(base_url=url, timeout=10) as http:
        created = http.post(
            "/api/v1/reports", json=report_payload(), headers=w.people["bd.analyst"].auth
        )
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        assert (
            http.get(f"/api/v1/reports/{rid}", headers=w.people["in.analyst"].auth).status_code
            == 200
        )
        assert (
            http.get(f"/api/v1/reports/{rid}", headers=w.people["mm.analyst"].auth).status_code
            == 404
        )
        assert http.get("/api/v1/reports").status_code == 401
        assert "/api/v1/reports" in http.get("/openapi.json").json()["paths"]
    deadline = time.monotonic() + 10
    while audit.verify(db).unchained and time.monotonic() < deadline:
        time.sleep(0.2)  # the server's chainer links the records shortly after each request
    verdict = audit.verify(db)
    assert verdict.ok and verdict.unchained == 0 and verdict.checked >= 2


def test_demo_starts_and_serves_its_accounts(tmp_path: Path) -> None:
    """The demo comes up and its written accounts work (how fast is a benchmark's business:
    a timed assertion here failed on a loaded machine while the demo was fine)."""
    port = free_port()
    data = tmp_path / "demo"
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [*RSN, "demo", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout=120)
        accounts = json.loads((data / "demo-accounts.json").read_text())
        assert (data / "demo-accounts.json").stat().st_mode & 0o777 == 0o600
        analyst = next(a for a in accounts if a["role"] == "analyst")
        page = httpx.get(
            f"{url}/api/v1/reports?limit=5",
            headers={"Authorization": f"Bearer {analyst['api_token']}"},
            timeout=10,
        )
        assert page.status_code == 200 and page.json()["items"]
    finally:
        stop(proc)
    verify = [*RSN, "audit", "verify", "--data-dir", str(data)]
    intact = subprocess.run(verify, capture_output=True, text=True, env=env)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    db = Database(f"sqlite:///{data / 'rsn.sqlite3'}")
    with db.engine.begin() as conn:
        target = conn.execute(text("SELECT id FROM audit_log WHERE chain_seq = 10")).scalar_one()
        conn.execute(text("UPDATE audit_log SET item_ids = '[]' WHERE id = :id"), {"id": target})
    db.dispose()
    broken = subprocess.run(verify, capture_output=True, text=True, env=env)
    assert broken.returncode == 1
    assert f"record {target}" in broken.stdout + broken.stderr


def test_keys_and_restores_wait_for_the_serving_node_to_stop(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """A running node seals with the keys it read at start: rotating them under it, or
    restoring a backup into its store, would leave it sealing with retired keys."""
    port = free_port()
    config = tmp_path / "rsn.toml"
    config.write_text(
        f'[node]\ndatabase_url = "{sqlite_db.url}"\ndata_dir = "{tmp_path}"\nport = {port}\n'
    )
    backup = tmp_path / "node.rsnbackup"
    assert (
        subprocess.run([*RSN, "backup", "-o", str(backup), "--config", str(config)]).returncode == 0
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*RSN, *args, "--config", str(config)], capture_output=True, text=True, timeout=120
        )

    proc = subprocess.Popen(
        [*RSN, "serve", "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, timeout=30)
        for refused, doing in (
            (run("node", "rotate-keys"), "rotating its keys"),
            (run("restore", str(backup), "--force"), "restoring a backup"),
        ):
            assert refused.returncode == 1, refused.stdout
            assert "A node is serving from" in refused.stderr and doing in refused.stderr
    finally:
        stop(proc)
    rotated = run("node", "rotate-keys")
    assert rotated.returncode == 0, rotated.stderr
