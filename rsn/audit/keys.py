"""The node's audit keys, kept in files beside the database, never inside it.

Whoever can write the database alone can neither forge an audit record nor re-hash
the chain after an edit: every record carries an HMAC under `audit-mac.key`, and the
node signs checkpoints of the chain with its Ed25519 key `node-signing.key`. Both
files are created on the node's first start, readable by its owner only (0600).
`rsn node rotate-keys` replaces them; the keys they replace stay in the ring
(`rsn.audit.ring`), each vouching only for the part of the chain it sealed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rsn.audit import ring
from rsn.audit.ring import Ring

log = logging.getLogger("rsn.audit")

MAC_KEY_NAME = "audit-mac.key"
SIGNING_KEY_NAME = "node-signing.key"


@dataclass(frozen=True)
class AuditKeys:
    """The MAC key every record is sealed with and the key checkpoints are signed with."""

    mac_key: bytes
    signing_key: Ed25519PrivateKey
    ring: Ring = field(default_factory=Ring)

    @classmethod
    def generate(cls) -> AuditKeys:
        return cls(secrets.token_bytes(32), Ed25519PrivateKey.generate())

    @property
    def mac_key_id(self) -> int:
        return self.ring.mac_key_id

    def mac(self, purpose: bytes, body: bytes, key_id: int | None = None) -> str:
        """The MAC under the key `key_id` names (the current one by default); '' if unknown."""
        key = self.mac_key if key_id in (None, self.mac_key_id) else self._retired(key_id)
        if key is None:
            return ""
        return hmac.new(key, purpose + b"\0" + body, hashlib.sha256).hexdigest()

    def _retired(self, key_id: int | None) -> bytes | None:
        found = next((m for m in self.ring.macs if m.key_id == key_id), None)
        return bytes.fromhex(found.key) if found else None

    def may_seal(self, key_id: int, seq: int | None) -> bool:
        """Whether key `key_id` may vouch for chain position `seq` (None: the unchained tail)."""
        if key_id == self.mac_key_id:
            return True
        retired = next((m for m in self.ring.macs if m.key_id == key_id), None)
        return retired is not None and seq is not None and seq <= retired.last_seq

    def may_sign(self, public_key: str, size: int) -> bool:
        """Whether a checkpoint of `size` records may bear `public_key`: ours, now or then."""
        if public_key == self.public_key:
            return True
        return any(s.public_key == public_key and size <= s.last_size for s in self.ring.signing)

    def sign(self, body: bytes) -> str:
        return self.signing_key.sign(body).hex()

    @property
    def public_key(self) -> str:
        raw = self.signing_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return raw.hex()


def signature_holds(public_key: str, body: bytes, signature: str) -> bool:
    """True when `signature` is the holder of `public_key` signing `body`."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), body
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create(data_dir: Path) -> tuple[AuditKeys, bool]:
    """The keys in `data_dir`, made there on first use; True when either was just made."""
    ring.settle(data_dir, (MAC_KEY_NAME, SIGNING_KEY_NAME))
    mac_key, mac_new = _file(data_dir / MAC_KEY_NAME, lambda: secrets.token_hex(32).encode())
    pem, signing_new = _file(data_dir / SIGNING_KEY_NAME, _new_signing_pem)
    signing = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(signing, Ed25519PrivateKey):
        raise ValueError(f"{data_dir / SIGNING_KEY_NAME} does not hold an Ed25519 private key")
    keys = AuditKeys(bytes.fromhex(mac_key.decode().strip()), signing, ring.read(data_dir))
    return keys, mac_new or signing_new


def mac_file(key: bytes) -> bytes:
    return key.hex().encode()


def signing_file(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def forget(data_dir: Path) -> None:
    """Remove the key files, for a first start that failed before it sealed the log."""
    for name in (MAC_KEY_NAME, SIGNING_KEY_NAME):
        (data_dir / name).unlink(missing_ok=True)


def _new_signing_pem() -> bytes:
    return signing_file(Ed25519PrivateKey.generate())


def _file(path: Path, make: Callable[[], bytes]) -> tuple[bytes, bool]:
    """The file's bytes; when missing, written once (O_EXCL: two starting processes agree)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("%s can be read by others than its owner; chmod 600 it", path)
        return path.read_bytes(), False
    content = make()
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return content, True
