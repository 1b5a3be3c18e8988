"""A throwaway PostgreSQL cluster for the tests, when RSN_TEST_PG_URL names none.

Debian's `postgresql` package ships `initdb` and `pg_ctl`; `initdb` refuses to run
as root, so under root the cluster belongs to the `postgres` system user.

Under pytest-xdist the workers share one cluster (`shared`): the first worker that needs
it starts it under a file lock and notes where it is, the others read the note, each
makes databases of its own in it, and the controlling process stops it (`stop_shared`)
once every worker is done; a worker cannot, as another may still be using it.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError(
        "PostgreSQL tests need Debian's 'postgresql' package (initdb, pg_ctl) or "
        "RSN_TEST_PG_URL; `make test` installs the package when it is missing."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.bindir = _bindir()
        self.root = root or Path(tempfile.mkdtemp(prefix="rsn-pg-"))
        self.data = self.root / "data"
        self.port = port or _free_port()
        self.as_user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            subprocess.run(
                cmd,
                check=True,
                capture_output=True,
                preexec_fn=lambda: (os.setgid(pw.pw_gid), os.setuid(pw.pw_uid)),
                cwd="/",
            )
        else:
            subprocess.run(cmd, check=True, capture_output=True)

    def start(self) -> str:
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", opts, "-w", "-l", str(self.root / "log"), "start"
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


NOTE = "cluster.json"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared(state: Path) -> str:
    """The URL of the run's one cluster, started by whichever process asks first."""
    with _locked(state / "lock"):
        note = state / NOTE
        if note.exists():
            return str(json.loads(note.read_text())["url"])
        cluster = Cluster()
        url = cluster.start()
        note.write_text(json.dumps({"url": url, "root": str(cluster.root), "port": cluster.port}))
        return url


def stop_shared(state: Path) -> None:
    """Stop the run's cluster, if a process started one; for the controlling process."""
    note = state / NOTE
    if note.exists():
        found = json.loads(note.read_text())
        Cluster(Path(found["root"]), int(found["port"])).stop()
    shutil.rmtree(state, ignore_errors=True)
