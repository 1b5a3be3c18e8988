"""The append-only, hash-chained, MAC-sealed record of every write and every disclosure."""

from __future__ import annotations

from rsn.audit import checkpoints, keys
from rsn.audit.checkpoints import Checkpoint
from rsn.audit.keys import AuditKeys, load_or_create
from rsn.audit.log import (
    AuditRecorded,
    Verdict,
    adopt,
    attach,
    chain,
    checkpoint,
    digest,
    keys_of,
    record,
    record_many,
    verify,
)
from rsn.audit.models import AuditCheckpoint, AuditRecord
from rsn.audit.rotation import Rotation, rotate

__all__ = [
    "AuditCheckpoint",
    "AuditKeys",
    "AuditRecord",
    "AuditRecorded",
    "Checkpoint",
    "Rotation",
    "Verdict",
    "adopt",
    "attach",
    "chain",
    "checkpoint",
    "checkpoints",
    "digest",
    "keys",
    "keys_of",
    "load_or_create",
    "record",
    "record_many",
    "rotate",
    "verify",
]
