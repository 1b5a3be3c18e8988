"""The retired audit keys, kept in a key file beside the current ones, never in the database.

A rotation retires the MAC key and the signing key but the chain they sealed and the
checkpoints they signed must still verify. Each retired key is kept with the part of
the chain it may vouch for (MAC key: chain positions up to `last_seq`; signing key:
checkpoints up to `last_size`), so a retired key that leaked cannot vouch for anything
written after its retirement. The ring names the current MAC key's id, which every
record carries (`audit_log.key_id`).

Files are replaced by writing `<name>.new` first and renaming; the ring's `.new` is
written last and renamed last, so its presence at start means the rotation finished
writing and is rolled forward, its absence that stray `.new` files are discarded.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

RING_NAME = "audit-keys.retired.json"
FORMAT = "rsn-audit-key-ring/1"


@dataclass(frozen=True)
class RetiredMac:
    key_id: int
    key: str
    last_seq: int


@dataclass(frozen=True)
class RetiredSigning:
    public_key: str
    last_size: int
    retired_at: str


@dataclass(frozen=True)
class Ring:
    mac_key_id: int = 1
    macs: tuple[RetiredMac, ...] = field(default=())
    signing: tuple[RetiredSigning, ...] = field(default=())


def read(data_dir: Path) -> Ring:
    """The ring of `data_dir`; an empty one (key id 1) before any rotation."""
    path = data_dir / RING_NAME
    if not path.exists():
        return Ring()
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("format") != FORMAT:
        raise ValueError(f"{path} is not an audit key ring (format is not '{FORMAT}')")
    return Ring(
        int(raw["mac_key_id"]),
        tuple(RetiredMac(**item) for item in raw["macs"]),
        tuple(RetiredSigning(**item) for item in raw["signing"]),
    )


def content(ring: Ring) -> bytes:
    body = {
        "format": FORMAT,
        "mac_key_id": ring.mac_key_id,
        "macs": [asdict(m) for m in ring.macs],
        "signing": [asdict(s) for s in ring.signing],
    }
    return (json.dumps(body, indent=2) + "\n").encode()


def write_new(path: Path, data: bytes) -> None:
    """`<path>.new`, owner-only and on disk before any rename relies on it."""
    staged = path.with_name(path.name + ".new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def commit(data_dir: Path, names: tuple[str, ...]) -> None:
    """Rename every staged key file into place, the ring last (see the module docstring)."""
    for name in (*names, RING_NAME):
        staged = data_dir / (name + ".new")
        if staged.exists():
            os.replace(staged, data_dir / name)


def settle(data_dir: Path, names: tuple[str, ...]) -> None:
    """Finish a rotation that wrote all its files, or forget one that did not."""
    if (data_dir / (RING_NAME + ".new")).exists():
        commit(data_dir, names)
        return
    for name in names:
        (data_dir / (name + ".new")).unlink(missing_ok=True)
