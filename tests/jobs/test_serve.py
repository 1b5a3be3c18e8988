"""`rsn serve` runs the node's jobs in its own process, and its periodic clean-up among them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsn.store import Database
from tests.jobs.conftest import listed, wait_for
from tests.served import serve

pytestmark = pytest.mark.slow


def test_a_served_node_runs_its_periodic_clean_up(db: Database, tmp_path: Path) -> None:
    """Removing imports cut short runs every 10 minutes: the last mark's run is due at start."""
    with serve(db, tmp_path):
        wait_for(lambda: [j.state for j in listed(db)] == ["succeeded"])
    assert [j.name for j in listed(db)] == ["imports.discard_stale"]
