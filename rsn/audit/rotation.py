"""Rotating the node's audit keys: new ones for what comes, the old ones kept for what was.

The chain is linked and a checkpoint signed with the old keys first, so everything
the old keys vouch for ends at a signed size; the old keys join the ring with that
size as their limit; the rotation is recorded (an operator's act) and a checkpoint
is signed with the new keys right after. Run it with the node stopped: a running
node keeps sealing with the keys it started with, and those records no longer verify.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from rsn.audit import keys as keyfiles
from rsn.audit import ring
from rsn.audit.checkpoints import Checkpoint
from rsn.audit.keys import AuditKeys
from rsn.audit.log import attach, chain, checkpoint, keys_of, record
from rsn.audit.ring import RetiredMac, RetiredSigning, Ring
from rsn.store import Database, utcnow

ACTION = "node.rotate-keys"


@dataclass(frozen=True)
class Rotation:
    before: Checkpoint | None
    after: Checkpoint | None
    mac_key_id: int
    public_key: str


def rotate(
    db: Database,
    data_dir: Path,
    *,
    actor: str,
    also: Callable[[Session], dict[str, Any]] | None = None,
) -> Rotation:
    """Rotate the keys of `data_dir`; `also` rotates more in the recording transaction."""
    old = keys_of(db)
    chain(db)
    before = checkpoint(db)
    new = _successor(old, before.size if before else 0)
    _write(data_dir, new)
    attach(db, new)
    with db.session(write=True) as session:
        detail = {
            "mac_key_id": new.mac_key_id,
            "retired_mac_key_id": old.mac_key_id,
            "public_key": new.public_key,
            "retired_public_key": old.public_key,
        }
        detail |= also(session) if also else {}
        record(session, actor=actor, action=ACTION, detail=detail)
    chain(db)
    return Rotation(before, checkpoint(db), new.mac_key_id, new.public_key)


def _successor(old: AuditKeys, size: int) -> AuditKeys:
    """New keys, with `old` retired into the ring as vouching for the first `size` records."""
    retired_mac = RetiredMac(old.mac_key_id, old.mac_key.hex(), size)
    retired_signing = RetiredSigning(
        old.public_key, size, utcnow().isoformat(timespec="milliseconds")
    )
    next_ring = Ring(
        old.mac_key_id + 1,
        (*old.ring.macs, retired_mac),
        (*old.ring.signing, retired_signing),
    )
    return AuditKeys(secrets.token_bytes(32), Ed25519PrivateKey.generate(), next_ring)


def _write(data_dir: Path, new: AuditKeys) -> None:
    """Stage every file, the ring last, then rename them in (`rsn.audit.ring.settle`)."""
    ring.write_new(data_dir / keyfiles.MAC_KEY_NAME, keyfiles.mac_file(new.mac_key))
    ring.write_new(data_dir / keyfiles.SIGNING_KEY_NAME, keyfiles.signing_file(new.signing_key))
    ring.write_new(data_dir / ring.RING_NAME, ring.content(new.ring))
    ring.commit(data_dir, (keyfiles.MAC_KEY_NAME, keyfiles.SIGNING_KEY_NAME))
