"""Detection methods over one count series: each scores every period and raises alarms.

A method is a small object with a `name`, a one-line `summary` and `run(counts)`: given
the counts of one series in period order, a score per period (NaN where the method does
not judge, e.g. too little baseline before it) and whether that period alarms under the
method's own threshold. Methods hold their parameters as fields, so a category's
configuration (a data file beside the taxonomy) is a name and some numbers. They are
looked up by name: `by_name`, `names` (what `rsn warning methods` lists).
"""

from __future__ import annotations

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
