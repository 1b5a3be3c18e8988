"""The node's one clock: pinned in the test process, moved by an offset in another."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rsn import clock
from rsn.config import Settings
from rsn.errors import ValidationError
from rsn.node import Node
from tests.conftest import Clock

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("365d", 365 * 86400), ("-12h", -12 * 3600), ("+90m", 5400), ("30s", 30), ("2.5", 2.5)],
)
def test_offsets_are_read_with_their_unit(text: str, seconds: float) -> None:
    assert clock.parse_offset(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "a year", "365 days", "1y", "--3d"])
def test_an_offset_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a clock offset"):
        clock.parse_offset(text)


def test_the_fixture_pins_the_clock_and_moves_it_only_when_asked(clock: Clock) -> None:
    from rsn.store import utcnow

    first = utcnow()
    assert first == clock.now and first.tzinfo is not None
    assert utcnow() == first  # pinned: time does not pass by itself
    later = clock.advance(days=31)
    assert utcnow() == later == first + timedelta(days=31)


def test_another_process_is_moved_by_the_environment() -> None:
    env = {**os.environ, "RSN_CLOCK_OFFSET": "365d"}
    code = "from rsn import clock; print(clock.now().isoformat())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    moved = datetime.fromisoformat(out.strip())
    expected = datetime.now(UTC) + timedelta(days=365)  # the machine's time, moved a year
    assert abs(moved - expected) < timedelta(minutes=1)


def test_a_bad_environment_offset_stops_the_process_with_its_name() -> None:
    env = {**os.environ, "RSN_CLOCK_OFFSET": "next year"}
    done = subprocess.run(
        [sys.executable, "-c", "import rsn.clock"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "RSN_CLOCK_OFFSET" in done.stderr


def test_the_setting_moves_a_node_and_a_bad_one_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.for_data_dir(tmp_path, clock_offset="soon")
    assert "config.clock_offset" in str(refused.value.problems[0].field)
    before = clock.offset()
    try:
        node = Node(Settings.for_data_dir(tmp_path, clock_offset="-30d"))
        node.db.dispose()
        assert clock.offset() == timedelta(days=-30)
        assert abs(clock.now() - (datetime.now(UTC) - timedelta(days=30))) < timedelta(minutes=1)
    finally:
        clock.set_offset(before)


def test_nothing_but_the_clock_reads_the_machine_time() -> None:
    """A window computed from `datetime.now` would ignore a test's clock (and the offset)."""
    readers = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "rsn").rglob("*.py"))
        if path.name != "clock.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if readers.search(line)
    ]
    assert offenders == []
