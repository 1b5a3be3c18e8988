"""Trailing baselines: the past periods a method measures the current one against.

Period t's baseline is the `length` periods that end `guard` periods before it,
counts[t - guard - length : t - guard]. The guard keeps the first periods of an outbreak
out of the baseline that judges it (EARS C2, ESSENCE). A period whose baseline is not
full gets NaN, so no method judges on less history than it asks for, and nothing after
t is ever read: a score never changes when later periods arrive.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from rsn.warning.methods import Bools, Floats

CHUNK = 4096  # baselines computed at once, so a long series needs no n x length copy


def trailing(counts: Floats, *, length: int, guard: int) -> tuple[Floats, Floats]:
    """Each period's baseline mean and sample SD (n - 1); NaN until the baseline is full."""
    n = counts.size
    mean = np.full(n, np.nan)
    sd = np.full(n, np.nan)
    first = length + guard  # the first period with a full baseline
    if n > first:
        windows = sliding_window_view(counts, length)[: n - first]
        for start in range(0, n - first, CHUNK):  # std's temporaries: CHUNK x length floats
            part = windows[start : start + CHUNK]
            mean[first + start : first + start + len(part)] = part.mean(axis=1)
            sd[first + start : first + start + len(part)] = part.std(axis=1, ddof=1)
    return mean, sd


def exceeds(score: Floats, threshold: float) -> Bools:
    """Where the score is above the threshold; False where it is NaN."""
    with np.errstate(invalid="ignore"):
        return np.asarray(score > threshold, dtype=np.bool_)


def require(ok: bool, method: str, field: str, value: float, problem: str) -> None:
    """Refuse a parameter by name, as a category's configuration file would spell it."""
    if not ok:
        raise ValueError(f"{method}.{field}: {value!r} {problem}")
