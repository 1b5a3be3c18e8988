"""Observables (selectors) on a report, validated and reduced to one canonical form."""

from __future__ import annotations

from rsn.observables.infer import Reading, read
from rsn.observables.normalize import (
    OBSERVABLE_LABELS,
    OBSERVABLE_TYPES,
    ObservableError,
    normalize,
)

__all__ = [
    "OBSERVABLE_LABELS",
    "OBSERVABLE_TYPES",
    "ObservableError",
    "Reading",
    "normalize",
    "read",
]
