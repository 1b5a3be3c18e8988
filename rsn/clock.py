"""The node's one clock: every "now" of the node is read here, never from `datetime.now`.

Time windows (the map's 30 days, session idle limits, enrolment expiry, the demo's
"last 90 days") all depend on it, so a test must be able to move it:

- in the process itself, a test pins it (`pin`) to an instant it controls;
- in another process (a real `rsn serve` a test starts, the demo), it is moved by an
  offset that the process reads at start from the `RSN_CLOCK_OFFSET` environment variable
  or the `clock_offset` setting: "365d", "-12h", "+90m", "30s" or a number of seconds.
  A library that freezes time in the test process cannot move another process's clock;
  an offset both sides agree on can.

`make test` runs the date-sensitive tests a second time with the clock a year ahead, so a
literal date that ages in a test fails today rather than next month.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, date, datetime, timedelta

OFFSET_ENV = "RSN_CLOCK_OFFSET"
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_OFFSET = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([dhms]?)\s*$")

_lock = threading.Lock()
_pinned: datetime | None = None


def parse_offset(text: str) -> timedelta:
    """'365d', '-12h', '+90m', '30s' or plain seconds, as a timedelta; ValueError otherwise."""
    found = _OFFSET.match(text)
    if found is None:
        raise ValueError(
            f"{text!r} is not a clock offset (a number with d, h, m or s, such as '365d')"
        )
    return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2) or "s"])


def _offset_from_env() -> timedelta:
    raw = os.environ.get(OFFSET_ENV, "").strip()
    if not raw:
        return timedelta(0)
    try:
        return parse_offset(raw)
    except ValueError as exc:
        raise ValueError(f"{OFFSET_ENV}: {exc}") from exc


_offset: timedelta = _offset_from_env()


def offset() -> timedelta:
    """How far this process's clock is moved from the machine's."""
    return _offset


def set_offset(delta: timedelta) -> None:
    """Move the clock for the rest of the process (the `clock_offset` setting does this)."""
    global _offset
    with _lock:
        _offset = delta


def now() -> datetime:
    """Now, aware and in UTC: the pinned instant, else the machine's time plus the offset."""
    pinned = _pinned
    if pinned is not None:
        return pinned
    return datetime.now(UTC) + _offset


def today() -> date:
    """Today's date in UTC, by the same clock."""
    return now().date()


def pin(at: datetime | None) -> None:
    """Stop the clock at `at` (aware); `None` lets it run again. For tests."""
    global _pinned
    if at is not None and at.tzinfo is None:
        raise ValueError("clock.pin needs a timezone-aware datetime")
    with _lock:
        _pinned = None if at is None else at.astimezone(UTC)


def advance(delta: timedelta) -> datetime:
    """Move a pinned clock forward by `delta` and return the new instant. For tests."""
    global _pinned
    with _lock:
        if _pinned is None:
            raise RuntimeError("clock.advance needs a pinned clock (clock.pin first)")
        _pinned = _pinned + delta
        return _pinned
