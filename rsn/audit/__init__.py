"""The append-only, hash-chained record of every write and every disclosure."""

from __future__ import annotations

from rsn.audit.log import Verdict, chain, digest, record, record_many, verify
from rsn.audit.models import AuditRecord

__all__ = ["AuditRecord", "Verdict", "chain", "digest", "record", "record_many", "verify"]
