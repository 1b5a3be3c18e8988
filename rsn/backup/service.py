"""A node's backup: its database, as portable JSON lines, and the key files that vouch for it.

The archive (a gzipped tar) holds `manifest.json` (format, schema revision, row
counts), `tables/<name>.jsonl` and `keys/<file>`. With the keys it is as sensitive
as the node itself, so it is written readable by its owner only (0600). A SQLite
node is read from a copy the sqlite3 online backup API takes, a PostgreSQL node
in one repeatable-read transaction: either way one consistent moment.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url

from rsn.audit import keys as keyfiles
from rsn.audit import ring
from rsn.backup import tables
from rsn.config import Settings
from rsn.errors import ValidationError
from rsn.reports import search
from rsn.store import Database, upgrade, utcnow
from rsn.store.db import make_engine
from rsn.store.migrate import alembic_config

FORMAT = "rsn-backup/1"
KEY_FILES = (keyfiles.MAC_KEY_NAME, keyfiles.SIGNING_KEY_NAME, ring.RING_NAME)


@dataclass(frozen=True)
class Summary:
    revision: str
    rows: dict[str, int]
    keys: list[str]


def write(settings: Settings, output: Path) -> Summary:
    """Write the node's backup to `output` (created 0600, replacing a file there)."""
    with _snapshot(settings.database_url) as conn:
        revision = _revision(conn)
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            rows = {t.name: _add_table(tar, conn, t) for t in tables.tables()}
            keys = [name for name in KEY_FILES if (settings.data_dir / name).exists()]
            for name in keys:
                _add(tar, f"keys/{name}", (settings.data_dir / name).read_bytes())
            manifest = {"format": FORMAT, "revision": revision, "rows": rows, "keys": keys}
            manifest["written_at"] = utcnow().isoformat()
            _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
    return Summary(revision, rows, keys)


@contextmanager
def _snapshot(url: str) -> Iterator[Connection]:
    """A connection that sees the node at one moment, whatever writes meanwhile."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = make_engine(url, isolation_level="REPEATABLE READ")
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            engine.dispose()
        return
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "snapshot.sqlite3"
        with sqlite3.connect(str(parsed.database)) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        src.close()
        dst.close()
        engine = create_engine(f"sqlite:///{copy}")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()


def _revision(conn: Connection) -> str:
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        raise ValidationError.field("database", "the node's database has no schema yet")
    return revision


def _add_table(tar: tarfile.TarFile, conn: Connection, table: Any) -> int:
    with tempfile.TemporaryFile() as spool:
        count = tables.dump(conn, table, spool)
        info = tarfile.TarInfo(f"tables/{table.name}.jsonl")
        info.size, info.mode = spool.tell(), 0o600
        spool.seek(0)
        tar.addfile(info, spool)
    return count


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def restore(settings: Settings, archive: Path, *, force: bool = False) -> Summary:
    """Load `archive` into the node of `settings`: its database first, then its key files.

    Refused for a backup of a schema newer than this RSN knows, or older than the
    node's (restore with that version, then upgrade), and for a node that holds any
    row unless `force` (which replaces everything in it).
    """
    with _opened(archive) as tar:
        manifest = _manifest(tar, archive)
        _check_revision(settings.database_url, str(manifest["revision"]))
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
        db = Database(settings.database_url)
        try:
            rows = _load(db, tar, force=force)
        finally:
            db.dispose()
        keys = _restore_keys(tar, settings.data_dir, list(manifest["keys"]))
    return Summary(str(manifest["revision"]), rows, keys)


@contextmanager
def _opened(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(archive, mode="r:gz")  # noqa: SIM115 (closed below)
    except (OSError, tarfile.TarError) as exc:
        raise ValidationError.field("backup", f"'{archive}' is not an RSN backup: {exc}") from exc
    with tar:
        yield tar


def _manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(_read(tar, "manifest.json"))
    except (KeyError, ValueError) as exc:
        raise ValidationError.field("backup", f"'{archive}' has no RSN manifest") from exc
    if manifest.get("format") != FORMAT:
        raise ValidationError.field("backup", f"'{archive}' is not in format '{FORMAT}'")
    return dict(manifest)


def _check_revision(url: str, revision: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    known = {rev.revision for rev in script.walk_revisions()}
    if revision not in known:
        raise ValidationError.field(
            "backup",
            f"the backup is of schema revision '{revision}', newer than this RSN knows "
            f"(its newest is '{head}'): restore it with the RSN that wrote it",
        )
    if revision != head:
        raise ValidationError.field(
            "backup",
            f"the backup is of schema revision '{revision}', older than this RSN's '{head}': "
            "restore it with the RSN that wrote it, then upgrade",
        )


def _load(db: Database, tar: tarfile.TarFile, *, force: bool) -> dict[str, int]:
    with db.session(write=True) as session:
        conn = session.connection()
        filled = tables.first_filled(conn)
        if filled is not None and not force:
            raise ValidationError.field(
                "node",
                f"the node is not empty (table '{filled}' holds rows): restore into an "
                "empty node, or give --force to replace everything in it",
            )
        tables.empty(conn)
        rows = {}
        late: dict[str, tables.Late] = {}
        for table in tables.tables():
            member = tar.extractfile(f"tables/{table.name}.jsonl")
            held = late.setdefault(table.name, [])
            rows[table.name] = tables.load(conn, table, member, held) if member else 0
        for table in tables.tables():
            tables.link(conn, table, late[table.name])
        tables.renumber(conn)
        search.rebuild(session)
    return rows


def _restore_keys(tar: tarfile.TarFile, data_dir: Path, names: list[str]) -> list[str]:
    """The backup's key files replace the node's; a ring the backup lacks goes."""
    for name in KEY_FILES:
        if name in names:
            ring.write_new(data_dir / name, _read(tar, f"keys/{name}"))
            os.replace(data_dir / (name + ".new"), data_dir / name)
        else:
            (data_dir / name).unlink(missing_ok=True)
    return [n for n in KEY_FILES if n in names]


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise KeyError(name)
    return member.read()
