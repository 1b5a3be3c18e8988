"""Detection methods over one count series: each scores every period and raises alarms.

A method is a small object with a `name`, a one-line `summary` and `run(counts)`: given
the counts of one series in period order, a score per period (NaN where the method does
not judge, e.g. too little baseline before it) and whether that period alarms under the
method's own threshold. Methods hold their parameters as fields, so a category's
configuration (a data file beside the taxonomy) is a name and some numbers. They are
looked up by name: `by_name`, `names` (what `rsn warning methods` lists), and
`configured(name, params)` builds one with other numbers. `DEFAULT` names the method
`rsn warning backtest` runs when none is given.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Scores:
    """A method's verdict on every period of a series."""

    score: Floats  # NaN where the method does not judge
    alarm: Bools  # False wherever score is NaN


class Method(Protocol):
    """What every detection method offers."""

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    def run(self, counts: Floats) -> Scores: ...


_METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Make a method available by its name (once per name)."""
    if method.name in _METHODS:
        raise ValueError(f"a method named '{method.name}' is registered already")
    _METHODS[method.name] = method
    return method


def by_name(name: str) -> Method:
    """The method of this name; `KeyError` names the ones there are."""
    try:
        return _METHODS[name]
    except KeyError:
        raise KeyError(f"'{name}' is not a method; there are: {', '.join(names())}") from None


def names() -> list[str]:
    """Every method's name, sorted."""
    return sorted(_METHODS)


def parameters(method: Method) -> dict[str, float]:
    """A method's parameters and their values: what a configuration may change."""
    if not dataclasses.is_dataclass(method):
        return {}
    return {f.name: getattr(method, f.name) for f in dataclasses.fields(method)}


def configured(name: str, params: Mapping[str, float]) -> Method:
    """The method of this name with some parameters changed, each checked by name.

    A category's configuration is numbers: an integer parameter takes only a whole
    number, and a parameter the method does not have is refused, naming those it has.
    """
    method = by_name(name)
    known = parameters(method)
    changes: dict[str, float] = {}
    for key, value in params.items():
        if key not in known:
            there = ", ".join(known) or "none"
            raise ValueError(f"{name}.{key}: not a parameter; there are: {there}")
        changes[key] = _number(f"{name}.{key}", value, whole=isinstance(known[key], int))
    return dataclasses.replace(method, **changes) if changes else method  # type: ignore[type-var]


def _number(field: str, value: object, *, whole: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: {value!r} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{field}: {value!r} is not a finite number")
    if whole:
        if not float(value).is_integer():
            raise ValueError(f"{field}: {value!r} is not a whole number")
        return int(value)
    return float(value)


# What `rsn warning backtest` runs when no --method is given, and what a weekly count
# series gets unless its category says otherwise: tuned on the quality bench's
# development seeds (bench/warning_quality.py, docs/benchmarks.md).
DEFAULT = "weekly"

# The methods, one module each, registered by name. Imported here, at the bottom,
# because each module takes `Scores` and `Floats` from this one.
from rsn.warning.methods import ears, ewma, farrington, negbin, trend  # noqa: E402

register(ears.C1())
register(ears.C2())
register(ears.C3())
register(ewma.Ewma())
register(negbin.NegBinCusum())
register(farrington.Farrington())
register(trend.Trend())
from rsn.warning.methods import weekly  # noqa: E402, F401  (registers itself: `weekly`)
