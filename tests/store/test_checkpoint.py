"""SQLite's write-ahead log is copied back off the writers' path, and stays short."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import rsn.store.db as store_db
from rsn.store import Database


def _write(db: Database, times: int, size: int = 20_000, pause: float = 0.0) -> None:
    for _ in range(times):
        with db.session(write=True) as s:
            s.execute(text("INSERT INTO blobs (body) VALUES (randomblob(:n))"), {"n": size})
        time.sleep(pause)


def _log_pages(path: Path) -> tuple[int, int]:
    """(pages in the log, pages of it copied into the database file)."""
    with sqlite3.connect(path) as conn:
        _busy, log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return log, copied


def _database(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "wal.sqlite3"
    db = Database(f"sqlite:///{path}")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
    return db, path


def _checkpoint_threads() -> int:
    return sum(t.name == "rsn-wal-checkpoint" for t in threading.enumerate())


def test_commits_are_copied_back_by_a_thread_that_ends_with_the_database(
    tmp_path: Path,
) -> None:
    db, path = _database(tmp_path)
    before = _checkpoint_threads()
    try:
        _write(db, 3)
        assert _checkpoint_threads() == before + 1
        deadline = time.monotonic() + 10
        while db._checkpointer is not None and db._checkpointer._finished == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        log, copied = _log_pages(path)
        assert log == copied > 0
    finally:
        db.dispose()
    assert _checkpoint_threads() == before


def test_a_long_log_starts_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-to-back transactions, as in a bulk load, would never restart the log by
    themselves: each begins while the thread is still copying the one before."""
    monkeypatch.setattr(store_db, "RESTART_PAGES", 20)
    db, path = _database(tmp_path)
    assert db._checkpointer is not None
    db._checkpointer.delay = 0.005
    try:
        _write(db, 80)  # ~7 pages each: 560 pages if the log never restarted
        log, _copied = _log_pages(path)
        assert log < 200, log  # (20 pages and the commits before the thread told)
    finally:
        db.dispose()


def test_the_log_file_is_emptied_once_writes_pause(tmp_path: Path) -> None:
    db, path = _database(tmp_path)
    assert db._checkpointer is not None
    db._checkpointer.idle = 0.2
    wal = path.with_name(path.name + "-wal")
    try:
        _write(db, 10)
        assert wal.stat().st_size > 0
        deadline = time.monotonic() + 10
        while wal.stat().st_size > 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with db.session() as s:  # and the store reads as before
            assert s.execute(text("SELECT count(*) FROM blobs")).scalar() == 10
    finally:
        db.dispose()
