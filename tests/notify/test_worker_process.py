"""`notify.match` is known to every process that runs workers, not only to the one that filed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from rsn import jobs
from rsn.config import Settings
from rsn.node import define_jobs
from rsn.notify import MATCH
from rsn.notify.models import Notification
from rsn.store import Database
from tests.factories import api_for, bimstec_world, report_payload
from tests.jobs.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_nodes_own_jobs_include_the_match(tmp_path: Path) -> None:
    jobs.forget(MATCH)
    define_jobs(Settings.for_data_dir(tmp_path))
    assert MATCH in {j.name for j in jobs.defined()}


def test_a_filing_is_matched_by_an_rsn_worker_process(db: Database, tmp_path: Path) -> None:
    world = bimstec_world(db)
    api = api_for(db, tmp_path)
    made = api.post(
        "/api/v1/subscriptions", as_=world.people["in.analyst"], json={"name": "everything"}
    )
    assert made.status_code == 201
    filed = api.post(
        "/api/v1/reports",
        as_=world.people["bd.analyst"],
        json=report_payload(tlp="green", distribution={}),
    )
    assert filed.status_code == 201

    config = tmp_path / "rsn.toml"
    config.write_text(
        f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n'
        "job_workers = 1\njob_stall_after = 3\n"
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rsn.cli", "worker", "--config", str(config)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def notified() -> bool:
        assert proc.poll() is None, log.read_text()
        with db.session() as session:
            return session.scalar(select(func.count()).select_from(Notification)) == 1

    try:
        wait_for(notified)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    items = api.get("/api/v1/inbox", as_=world.people["in.analyst"]).json()["items"]
    assert [i["link"] for i in items] == [f"/reports/{filed.json()['id']}"]
