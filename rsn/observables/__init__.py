"""Observables (selectors) on a report, validated and reduced to one canonical form."""

from __future__ import annotations

from rsn.observables.infer import Reading, read
from rsn.observables.normalize import OBSERVABLE_TYPES, TYPE_LABELS, ObservableError, normalize

__all__ = ["OBSERVABLE_TYPES", "TYPE_LABELS", "ObservableError", "Reading", "normalize", "read"]
