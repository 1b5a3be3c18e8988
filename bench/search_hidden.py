"""Search timing with hidden matches: does `q=` take longer because of reports one may not read?

    .venv/bin/python bench/search_hidden.py [--store sqlite|postgresql|both]
                                            [--hidden 3000] [--visible 3000] [--requests 200]

Builds a small BIMSTEC node in a scratch store (as `bench/reports.py` does), files
`--visible` reports India's CERT analyst may read (none holds either word below) and
`--hidden` red reports of Bangladesh's CERT that name nobody, each holding the word
`hiddenword`. Then times, in process, a page of the report list (`listing.get_all`,
what the list page and `GET /api/v1/reports` run) and the count by TLP
(`listing.counts`, the dashboard's) for the analyst with `q=hiddenword` and with
`q=nobodysword`, a word no report holds. Both answer nothing; the ratio of their
p50 and p95 is what a reader could learn about hidden reports from timing alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports import console, percentile, scratch_store  # bench/reports.py

from rsn.reports import listing, service
from rsn.reports.schemas import ReportCreate
from rsn.sharing import Principal
from rsn.store import Database, upgrade
from tests.factories import World, bimstec_world, report_payload

NOBODY = {"member_states": [], "organizations": [], "sharing_groups": [], "users": []}
BATCH = 500


def file_many(w: World, who: str, n: int, **fields: object) -> None:
    """`n` reports by `who`, `BATCH` to a transaction; `{i}` in the title is the number."""
    principal = w.people[who].principal
    for start in range(0, n, BATCH):
        filings = [
            service.Filing(
                principal,
                ReportCreate.model_validate(
                    report_payload(
                        **{**fields, "title": str(fields["title"]).format(i=i)},
                        observables=[{"type": "domain-name", "value": f"r{i}.{who}.example"}],
                    )
                ),
            )
            for i in range(start, min(start + BATCH, n))
        ]
        with w.db.session(write=True) as s:
            service.create_many(s, filings)


def build(db: Database, hidden: int, visible: int) -> World:
    w = bimstec_world(db)
    file_many(w, "bd.analyst", visible, title="Boarding {i} at the anchorage", tlp="amber")
    file_many(
        w,
        "bd.analyst",
        hidden,
        title="Report {i} about hiddenword",
        description="The hiddenword again.",
        tlp="red",
        distribution=NOBODY,
    )
    return w


def timings(run: Callable[[], object], requests: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        run()
        samples.append(time.perf_counter() - began)
    return samples


def measure(db: Database, reader: Principal, requests: int) -> list[tuple[str, str, list[float]]]:
    def page(q: str) -> Callable[[], object]:
        def run() -> object:
            with db.session() as s:
                rows, _ = listing.get_all(s, principal=reader, filters=listing.Filters(q=q))
            assert rows == [], f"q={q} found {len(rows)} reports for the reader"
            return rows

        return run

    def count(q: str) -> Callable[[], object]:
        def run() -> object:
            with db.session() as s:
                found = listing.counts(s, principal=reader, by="tlp", filters=listing.Filters(q=q))
            assert found == [], f"q={q} counted {found} for the reader"
            return found

        return run

    return [
        (what, q, timings(make(q), requests))
        for what, make in (("list page", page), ("count by tlp", count))
        for q in ("nobodysword", "hiddenword")
    ]


def show(store: str, figures: Sequence[tuple[str, str, list[float]]]) -> None:
    table = Table(title=f"q= for a reader with hidden matches — {store}")
    for name in ("measure", "q", "p50 ms", "p95 ms", "p50 ratio", "p95 ratio"):
        table.add_column(name, justify="right" if "ms" in name or "ratio" in name else "left")
    base: dict[str, tuple[float, float]] = {}
    for what, q, samples in figures:
        p50, p95 = percentile(samples, 0.5) * 1000, percentile(samples, 0.95) * 1000
        ref = base.setdefault(what, (p50, p95))
        table.add_row(
            what, q, f"{p50:.2f}", f"{p95:.2f}", f"{p50 / ref[0]:.2f}", f"{p95 / ref[1]:.2f}"
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--hidden", type=int, default=3000, help="hidden reports with the word")
    parser.add_argument("--visible", type=int, default=3000, help="reports the reader may read")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per figure")
    args = parser.parse_args(argv)
    for store in ("sqlite", "postgresql") if args.store == "both" else (args.store,):
        with scratch_store(store, args.pg_url, keep=False) as (url, _data_dir):
            upgrade(url)
            db = Database(url)
            try:
                w = build(db, args.hidden, args.visible)
                if store == "postgresql":
                    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                        c.exec_driver_sql("VACUUM ANALYZE")
                show(store, measure(db, w.people["in.analyst"].principal, args.requests))
            finally:
                db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
