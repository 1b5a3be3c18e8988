"""Engine and session set-up for SQLite (default) and PostgreSQL (production)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from rsn import clock, events
from rsn.errors import Busy

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
# How long a writer waits for the store's write lock before giving up with `Busy`
# (503 and Retry-After): an overload signal a client can act on, where waiting out a
# long transaction gave it a 500 after 30 s. Work that must not give up (an import's
# next chunk, an operator's command) passes a longer `wait`.
WRITE_WAIT = 5.0
LONG_WAIT = 300.0
# Between two chunks of a long write, the writer pauses this long so that writers of
# other processes, which poll SQLite's lock, find it free (those of this process are
# handed it in turn by `WriterQueue`).
YIELD_PAUSE = 0.03
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "foreign_keys=ON",
    "synchronous=NORMAL",
    "busy_timeout=5000",  # WRITE_WAIT; a writer that may wait longer says so (`wait`)
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
    options = conn.get_execution_options()
    if not options.get("rsn_write", False):
        conn.exec_driver_sql("BEGIN")
        return
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(options['rsn_wait'] * 1000)}")
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _busy(exc: DBAPIError) -> bool:
    """Whether a driver error says the write lock stayed taken (SQLite) or a lock wait timed out."""
    if isinstance(exc.orig, sqlite3.OperationalError):
        return "locked" in str(exc.orig) or "busy" in str(exc.orig)
    return getattr(exc.orig, "sqlstate", None) == "55P03"  # PostgreSQL's lock_not_available


class WriterQueue:
    """The writers of one process take the store's write lock in turn, first come first served.

    SQLite has one writer at a time, and a writer waiting on its lock polls with growing
    sleeps: a long job that commits a chunk and at once begins the next wins the lock
    again and again while a request's writer sleeps, until that request gives up. Queued
    here, each writer of this process gets the lock in the order it asked for it, so a
    chunked import lets every waiting request in between two of its chunks.
    """

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._queue: deque[object] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        ticket = object()
        with self._turns:
            self._queue.append(ticket)
            mine = self._turns.wait_for(
                lambda: not self._held and self._queue[0] is ticket, timeout
            )
            if not mine:
                self._queue.remove(ticket)
                self._turns.notify_all()
                return False
            self._queue.popleft()
            self._held = True
            return True

    def release(self) -> None:
        with self._turns:
            self._held = False
            self._turns.notify_all()


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
    # psycopg prepares a statement on the server after 5 runs; PostgreSQL then tries a
    # generic plan, which for a sharing-filtered query guesses the grant rows from
    # averages (5,458 where 77,207 stood) and probes 74,892 times: 88 ms became 336.
    # A plan made for each call's own values never takes that step.
    # No parallel workers either: the node's queries read a few thousand rows at most,
    # and starting two workers doubled a count's time (8 ms became 15 at 100,000 reports).
    connect_args = {
        "options": "-c plan_cache_mode=force_custom_plan -c max_parallel_workers_per_gather=0"
    }
    connect_args.update(kwargs.pop("connect_args", {}))
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


class Database:
    """One node's database: the engine and the sessions the faces open on it."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        # What every session carries in `session.info`: the audit keys, once attached.
        self.info: dict[str, Any] = {}
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info=self.info)
        self.bus = events.Bus()  # this database's after-commit wake-ups (a running node's)
        events.install(self._sessions, self.bus)
        path = self.engine.url.database if self.dialect == "sqlite" else None
        self._checkpointer = Checkpointer(path) if path and path != ":memory:" else None
        self._writers = WriterQueue() if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, write: bool = False, wait: float | None = None) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error.

        A writer takes the store's write lock first, waiting at most `wait` seconds
        (`WRITE_WAIT` unless told) for it, and raises `Busy` when it cannot: nothing
        was written then.
        """
        wait = WRITE_WAIT if wait is None else wait
        if not write:
            with self._transaction(write=False, wait=wait) as session:
                yield session
            return
        if self._writers is not None and not self._writers.acquire(wait):
            raise self._refused(wait)
        try:
            with self._transaction(write=True, wait=wait) as session:
                yield session
        finally:
            if self._writers is not None:
                self._writers.release()
        if self._checkpointer is not None:
            self._checkpointer.committed()

    @contextmanager
    def try_write(self) -> Iterator[Session | None]:
        """A write transaction if the lock is free now, else None: for writes that may be skipped.

        A request that only reads still notes when its token or session was last used;
        that note must never make the request wait on another writer, so when the lock
        is taken the note waits for the next request instead.
        """
        entered = False
        try:
            with self.session(write=True, wait=0) as session:
                entered = True
                yield session
        except Busy:
            if entered:  # the lock was had, then a row lock refused: the note is dropped
                return
            yield None

    def let_writers_in(self) -> None:
        """Between two chunks of a long write: let other processes' writers take the lock."""
        if self.dialect == "sqlite":
            time.sleep(YIELD_PAUSE)

    @contextmanager
    def _transaction(self, *, write: bool, wait: float) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                if write:
                    self._begin_write(session, wait)
                yield session
                session.commit()
            except DBAPIError as exc:
                session.rollback()
                if write and _busy(exc):
                    raise self._refused(wait) from None
                raise
            except BaseException:
                session.rollback()
                raise

    def _begin_write(self, session: Session, wait: float) -> None:
        conn = session.connection(execution_options={"rsn_write": True, "rsn_wait": wait})
        if self.dialect == "postgresql":
            # Writers queue on the commit counter's row lock; bound that wait the same way.
            # A writer's statements are inserts run many times over: let them keep the
            # plan the server prepared (planning each anew took ingest from 1,008 to 625
            # reports/s); reads keep a plan made for their own values (`make_engine`).
            conn.exec_driver_sql(
                f"SET LOCAL lock_timeout = {max(int(wait * 1000), 1)}; "
                "SET LOCAL plan_cache_mode = auto"
            )

    @staticmethod
    def _refused(wait: float) -> Busy:
        return Busy(
            f"The node is busy writing (the store stayed locked for {wait:g} s); "
            "nothing was stored. Try again shortly.",
            retry_after=max(1, round(WRITE_WAIT)),
        )

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.engine.dispose()
