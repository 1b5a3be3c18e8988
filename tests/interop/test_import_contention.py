"""A long import on a serving node: other users keep reading and filing while it runs.

A real `rsn serve` process on 127.0.0.1 and real HTTP clients. The import of
20,000 rows used to hold SQLite's write lock from its first row to its last, so
filers waited out the lock and got a 500, and so did readers whose token was due a
last-used note.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from rsn.store import Database
from tests.conftest import Clock
from tests.factories import bimstec_world, report_payload, stamp
from tests.served import serve

ROWS = 20_000


def big_csv(clock: Clock) -> bytes:
    when = stamp(clock.now - timedelta(days=3))
    head = "title,category,country,occurred_at,severity,confidence,tlp,observables\r\n"
    rows = (
        f"Bulk row {n},cyber.attack,BD,{when},medium,50,green,ipv4-addr:10.{n >> 16 & 255}."
        f"{n >> 8 & 255}.{n & 255}\r\n"
        for n in range(ROWS)
    )
    return (head + "".join(rows)).encode()


@pytest.mark.slow
def test_reads_and_filings_go_on_during_a_20000_row_import(
    sqlite_db: Database, tmp_path: Path, clock: Clock
) -> None:
    world = bimstec_world(sqlite_db)
    importer, filer = world.people["bd.analyst"], world.people["in.analyst"]
    readers = [world.people[name] for name in ("in.coast", "mm.analyst", "bd.police")]
    body = big_csv(clock)
    answers: Counter[tuple[str, int]] = Counter()
    filed_during: list[float] = []
    retry_after: set[str] = set()
    done = threading.Event()
    window: dict[str, float] = {}

    with serve(sqlite_db, tmp_path) as url:

        def read_loop(token_headers: dict[str, str]) -> None:
            with httpx.Client(base_url=url, headers=token_headers, timeout=60) as client:
                while not done.is_set():
                    answers["read", client.get("/api/v1/reports?limit=20").status_code] += 1

        def file_loop() -> None:
            with httpx.Client(base_url=url, headers=filer.auth, timeout=60) as client:
                n = 0
                while not done.is_set():
                    n += 1
                    payload = report_payload(title=f"Filed meanwhile {n}")
                    answer = client.post("/api/v1/reports", json=payload)
                    answers["file", answer.status_code] += 1
                    if answer.status_code == 201:
                        filed_during.append(time.monotonic())
                    elif answer.status_code == 503:
                        retry_after.add(answer.headers["Retry-After"])
                        time.sleep(0.2)

        threads = [threading.Thread(target=read_loop, args=(p.auth,)) for p in readers]
        threads.append(threading.Thread(target=file_loop))
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            window["start"] = time.monotonic()
            with httpx.Client(base_url=url, headers=importer.auth, timeout=600) as client:
                imported = client.post("/api/v1/import?format=csv", content=body)
            window["end"] = time.monotonic()
        finally:
            done.set()
            for thread in threads:
                thread.join(timeout=60)

    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == ROWS
    statuses = {status for (_, status) in answers}
    assert 500 not in statuses, answers
    assert {status for (kind, status) in answers if kind == "read"} == {200}, answers
    assert {status for (kind, status) in answers if kind == "file"} <= {201, 503}, answers
    assert retry_after <= {"5"}
    during = [t for t in filed_during if window["start"] < t < window["end"]]
    # Filings went in between the import's chunks, not only after it.
    assert len(during) >= 5, (len(during), window["end"] - window["start"], answers)
