"""Fusion across reports and borders: correlation on shared observables."""

from __future__ import annotations

from rsn.fusion.correlate import (
    DEFAULT_THRESHOLD,
    Correlations,
    Indexed,
    Match,
    attach,
    correlations,
    forget,
    index_published,
    reindex,
)
from rsn.fusion.crossborder import CrossBorderLink, for_organization

__all__ = [
    "DEFAULT_THRESHOLD",
    "Correlations",
    "CrossBorderLink",
    "Indexed",
    "Match",
    "attach",
    "correlations",
    "for_organization",
    "forget",
    "index_published",
    "reindex",
]
