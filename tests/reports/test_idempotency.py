"""Two filings with one Idempotency-Key at once: one report; the other waits, replays or is told."""

from __future__ import annotations

import threading

from rsn.errors import Conflict
from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import bimstec_world, report_payload


def test_the_same_key_at_once_files_one_report_and_never_a_5xx(db: Database) -> None:
    world = bimstec_world(db)
    analyst = world.people["bd.analyst"].principal
    data = ReportCreate.model_validate(report_payload())
    first_flushed, first_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with db.session(write=True) as s:
            outcome["first"] = service.create_once(s, principal=analyst, data=data, key="k-1")
            first_flushed.set()
            first_may_commit.wait(10)

    def second() -> None:
        first_flushed.wait(10)
        try:
            with db.session(write=True, wait=30) as s:
                outcome["second"] = service.create_once(s, principal=analyst, data=data, key="k-1")
        except Conflict as exc:
            outcome["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_flushed.wait(10)
    threading.Timer(0.5, first_may_commit.set).start()  # the second is waiting by then
    for t in threads:
        t.join(30)
    report_id, replayed = outcome["first"]  # type: ignore[misc]
    assert replayed is False
    second = outcome["second"]
    # SQLite lets the second in after the first committed: it replays. PostgreSQL runs
    # both at once: the second's key collides at its flush, a 409 to retry.
    assert second == (report_id, True) or isinstance(second, Conflict), second


def test_the_first_two_commit_numbers_of_a_new_node_taken_at_once(db: Database) -> None:
    """Both once found no commit counter; the second's insert of it failed on PostgreSQL."""
    first_took, first_may_commit = threading.Event(), threading.Event()
    taken: dict[str, range] = {}

    def first() -> None:
        with db.session(write=True) as s:
            taken["first"] = service.next_seqs(s, 3)
            first_took.set()
            first_may_commit.wait(10)

    def second() -> None:
        first_took.wait(10)
        with db.session(write=True, wait=30) as s:
            taken["second"] = service.next_seqs(s, 2)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_took.wait(10)
    threading.Timer(0.5, first_may_commit.set).start()  # the second is waiting by then
    for t in threads:
        t.join(30)
    assert (list(taken["first"]), list(taken["second"])) == ([1, 2, 3], [4, 5])
