"""Backing a node up and restoring it, on either store, with the keys that vouch for it."""

from __future__ import annotations

from rsn.backup.service import Summary, restore, write

__all__ = ["Summary", "restore", "write"]
