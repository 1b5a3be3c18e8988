"""An EWMA chart in the style of ESSENCE (the US syndromic surveillance system).

The exponentially weighted moving average z_t = λ x_t + (1 - λ) z_{t-1} (started at the
first count) lets a rise that lasts several periods add up, where EARS sees each
period alone. It is compared with the mean and SD of a 28-period baseline that ends 2
periods before t (the guard keeps an outbreak's first periods out of it):

    score = (z_t - baseline mean) / (max(baseline SD, min_sd) * sqrt(λ / (2 - λ)))

sqrt(λ / (2 - λ)) is the EWMA's long-run SD for counts of SD 1 (0.5 at λ = 0.4). The
default threshold, 2.47, is the one-sided 1% point of Student's t with 27 degrees of
freedom (the baseline's), ESSENCE's "alert" level. The SD floor, 1 count, keeps a
baseline of equal counts (SD 0) from making any rise an infinite score. By the first
judged period, z's start weighs 0.6^30 (about 2e-7): the start does not matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rsn.warning.methods import Floats, Scores
from rsn.warning.methods.baseline import exceeds, require, trailing


@dataclass(frozen=True)
class Ewma:
    """ESSENCE-style EWMA against a guarded 28-period baseline."""

    name: ClassVar[str] = "ewma"
    summary: ClassVar[str] = "ESSENCE-style EWMA (λ 0.4) against a 28-period baseline, guard 2"

    baseline: int = 28  # periods in the baseline
    guard: int = 2  # periods between the baseline and the period judged
    smoothing: float = 0.4  # λ, the weight of the newest count
    threshold: float = 2.47  # alarm above this score
    min_sd: float = 1.0  # floor on the baseline SD, in counts

    def __post_init__(self) -> None:
        require(self.baseline >= 2, self.name, "baseline", self.baseline, "must be 2 or more")
        require(self.guard >= 0, self.name, "guard", self.guard, "must be 0 or more")
        require(0 < self.smoothing <= 1, self.name, "smoothing", self.smoothing, "is not in (0, 1]")
        require(self.min_sd > 0, self.name, "min_sd", self.min_sd, "must be above 0")

    def run(self, counts: Floats) -> Scores:
        mean, sd = trailing(counts, length=self.baseline, guard=self.guard)
        lam = self.smoothing
        spread = np.maximum(sd, self.min_sd) * math.sqrt(lam / (2 - lam))
        score = (smoothed(counts, lam) - mean) / spread
        return Scores(score, exceeds(score, self.threshold))


def smoothed(counts: Floats, lam: float) -> Floats:
    """z_t = λ x_t + (1 - λ) z_{t-1}, with z_0 = x_0."""
    z = np.empty(counts.size)
    level = float(counts[0]) if counts.size else 0.0
    for t, x in enumerate(counts.tolist()):
        level = lam * x + (1 - lam) * level
        z[t] = level
    return z
