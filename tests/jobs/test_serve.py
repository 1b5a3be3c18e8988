"""`rsn serve` runs the node's jobs in its own process, and its periodic clean-up among them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsn.store import Database
from tests.jobs.conftest import listed, wait_for
from tests.served import serve

pytestmark = pytest.mark.slow


def test_a_served_node_runs_its_periodic_clean_up(db: Database, tmp_path: Path) -> None:
    """Removing imports cut short runs every 10 minutes: the last mark's run is due at start.

    The hourly look for digests due and the daily early-warning sweep may run at start
    too (on SQLite always; procrastinate defers a mark only up to 10 minutes late), and
    find nothing here.
    """

    def done() -> bool:
        found = listed(db)
        return "imports.discard_stale" in {j.name for j in found} and all(
            j.state == "succeeded" for j in found
        )

    with serve(db, tmp_path):
        wait_for(done)
    periodic = {"imports.discard_stale", "notify.digest", "warning.sweep"}
    assert {j.name for j in listed(db)} <= periodic
