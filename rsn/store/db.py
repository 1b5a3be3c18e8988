"""Engine and session set-up for SQLite (default) and PostgreSQL (production)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from rsn import clock

log = logging.getLogger("rsn.store")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def new_id() -> str:
    """A random UUIDv4: ids never count, so they never reveal how many items are hidden."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond: the precision STIX timestamps carry."""
    now = clock.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and hands back aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Per-connection SQLite settings, and why:
# - a 64 MiB page cache (the default is 2 MiB): a batch of reports inserts into a dozen
#   indexes keyed by random ids and observable values; at 100,000 reports those indexes
#   are ~300 MiB, and with the default cache most inserts re-read their pages from the OS;
# - temporary b-trees (sorts, IN lists) in memory rather than in temporary files;
# - the write-ahead log copied back by `Checkpointer`, off the writers' path. A bulk load
#   lets the log grow to RESTART_PAGES (256 MiB) between restarts: each restart costs the
#   writer one wait, so the longer the log, the fewer the waits (at 128 MiB a load of
#   100,000 reports ran ~15% slower). A writer checkpoints by itself only past
#   BACKSTOP_PAGES, should that thread ever stop; and once writes pause, the thread
#   empties the log file, so the disk space a bulk load took is given back.
CACHE_KIB = 64 * 1024
RESTART_PAGES = 65536
BACKSTOP_PAGES = 131072
IDLE_SECONDS = 30.0
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "foreign_keys=ON",
    "synchronous=NORMAL",
    "busy_timeout=30000",
    f"cache_size=-{CACHE_KIB}",
    "temp_store=MEMORY",
    f"wal_autocheckpoint={BACKSTOP_PAGES}",
    f"journal_size_limit={BACKSTOP_PAGES * 4096}",
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class Checkpointer:
    """Copies a SQLite database's write-ahead log into the database file, off the writers' path.

    SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000
    pages, and waits there for the copy and two fsyncs. A batch of 500 reports dirties
    ~10,000 index pages once the store holds 100,000 reports, so every batch paid a whole
    checkpoint in its commit (about half of the ingest's time), and single requests that
    happened to cross the threshold paid for their neighbours (the slow tail).

    Here a thread copies the log (PASSIVE: it never blocks readers or writers) just after
    each write commits, while the writer gets on with its next transaction. Only a writer
    can restart the log from its beginning, and only when its transaction begins with the
    whole log copied; so once the log passes RESTART_PAGES, a commit waits for the copy
    that follows it, and the next transaction restarts the log.
    """

    def __init__(self, path: str, *, delay: float = 0.05, idle: float = IDLE_SECONDS) -> None:
        self.path = path
        self.delay = delay
        self.idle = idle
        self._wake = threading.Event()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._started = self._finished = 0
        self._log_pages = 0

    def committed(self) -> None:
        """A write committed: copy the log soon; wait for that copy when the log is long."""
        with self._lock:
            if self._closed:
                return
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="rsn-wal-checkpoint", daemon=True
                )
                self._thread.start()
            if self._log_pages > RESTART_PAGES:
                after = self._started + 1  # the next copy begins after this commit
                self._lock.wait_for(lambda: self._finished >= after or self._thread is None)
                self._log_pages = 0  # copied whole: the next transaction restarts the log

    def close(self) -> None:
        with self._lock:
            self._closed, thread = True, self._thread
            self._lock.notify_all()
        self._wake.set()
        if thread is not None:
            thread.join(timeout=60)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            while self._wait_for_commit():
                busy, pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                with self._lock:
                    self._finished += 1
                    self._log_pages = pages if not busy else self._log_pages
                    self._lock.notify_all()
            # Writes paused: copy the rest and empty the log file. This holds off writers
            # while readers finish, so it waits 0.1 s at most, and else leaves it be.
            conn.execute("PRAGMA busy_timeout = 100")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:  # writers' own checkpoints (BACKSTOP_PAGES) still bound the log
            log.exception("copying the write-ahead log of %s failed", self.path)
            with self._lock:
                self._thread = None
                self._lock.notify_all()
        finally:
            conn.close()

    def _wait_for_commit(self) -> bool:
        """True after a commit (and the ones close behind it); False when idle or closed.

        Ending clears `_thread` under the lock, so the next commit starts a new thread.
        """
        if self._wake.wait(self.idle):
            time.sleep(self.delay)
        with self._lock:
            if self._closed or not self._wake.is_set():
                self._thread = None
                self._lock.notify_all()
                return False
            self._wake.clear()
            self._started += 1
            return True


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN; an immediate lock makes
    # concurrent writers queue on busy_timeout instead of failing on upgrade.
    write = conn.get_execution_options().get("rsn_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas and pool that suit the store behind `url`."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """One node's database: the engine and the sessions the faces open on it."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        # What every session carries in `session.info`: the audit keys, once attached.
        self.info: dict[str, Any] = {}
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info=self.info)
        path = self.engine.url.database if self.dialect == "sqlite" else None
        self._checkpointer = Checkpointer(path) if path and path != ":memory:" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error."""
        with self._sessions() as session:
            if write:
                session.connection(execution_options={"rsn_write": True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
        if write and self._checkpointer is not None:
            self._checkpointer.committed()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.engine.dispose()
