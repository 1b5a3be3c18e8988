"""Notifications: what the inbox match costs a filing, and how long the match job takes.

    .venv/bin/python bench/notify.py [--store sqlite|postgresql|both] [--reports 300]
                                     [--subscriptions 200] [--pg-url URL]

In a scratch store migrated like a node's, with the BIMSTEC test world:

1. filing: `--reports` green reports filed one per transaction (`reports.service.create`)
   with no subscription on the node (the subscriber's one look finds none: no job), then
   as many with `--subscriptions` inbox subscriptions (each filing also queues
   `notify.match`); ms per filing, p50 and p95;
2. the match: `notify.match` run for one report, and for all of them in one job, against
   the subscriptions (a third with a category, a third a country, a third none), each
   owner's principal built and the list's own conditions asked; ms per run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reports import DEFAULT_PG_URL, console, percentile, scratch_store  # bench/reports.py

from rsn.notify import matching
from rsn.notify.models import Notification, Subscription
from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.store import Database, upgrade
from tests.factories import bimstec_world, report_payload

READERS = ("in.analyst", "in.coast", "mm.analyst", "bd.police", "bd.policy")


def _file(db: Database, world: object, n: int) -> tuple[list[str], list[float]]:
    filer = world.people["bd.analyst"].principal  # type: ignore[attr-defined]
    data = ReportCreate.model_validate(report_payload(tlp="green", distribution={}))
    ids, times = [], []
    for _ in range(n):
        start = time.perf_counter()
        with db.session(write=True) as session:
            ids.append(service.create(session, principal=filer, data=data))
        times.append((time.perf_counter() - start) * 1000)
    return ids, times


def run(url: str, reports: int, subscriptions: int) -> dict[str, float]:
    upgrade(url)
    db = Database(url)
    world = bimstec_world(db)
    _, quiet = _file(db, world, reports)
    with db.session(write=True) as session:
        for n in range(subscriptions):
            person = world.people[READERS[n % len(READERS)]]
            filters = [{"category": "trafficking"}, {"country": "BD"}, {}][n % 3]
            session.add(
                Subscription(
                    user_id=person.user.id,
                    name=f"s{n}",
                    kind="reports",
                    filters=filters,
                    channel="inbox",
                    mode="immediate",
                )
            )
    ids, subscribed = _file(db, world, reports)
    start = time.perf_counter()
    with db.session(write=True) as session:
        matching.match(session, ids[:1])
    one = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    with db.session(write=True) as session:
        matching.match(session, ids)
    batch = (time.perf_counter() - start) * 1000
    with db.session() as session:
        made = session.query(Notification).count()
    db.dispose()
    return {
        "quiet_p50": percentile(quiet, 0.5),
        "quiet_p95": percentile(quiet, 0.95),
        "sub_p50": percentile(subscribed, 0.5),
        "sub_p95": percentile(subscribed, 0.95),
        "match_one": one,
        "match_all": batch,
        "notifications": made,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    table = Table(title=f"{args.reports} filings, {args.subscriptions} subscriptions")
    for column in (
        "store",
        "filing, none (p50/p95 ms)",
        "filing, subscribed (p50/p95 ms)",
        "match 1 report (ms)",
        f"match {args.reports} (ms)",
        "notifications",
    ):
        table.add_column(column)
    for store in stores:
        with scratch_store(store, args.pg_url, keep=False) as (url, _tmp):
            r = run(url, args.reports, args.subscriptions)
        table.add_row(
            store,
            f"{r['quiet_p50']:.1f} / {r['quiet_p95']:.1f}",
            f"{r['sub_p50']:.1f} / {r['sub_p95']:.1f}",
            f"{r['match_one']:.0f}",
            f"{r['match_all']:.0f}",
            f"{r['notifications']:.0f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
