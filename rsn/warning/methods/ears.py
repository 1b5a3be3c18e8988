"""EARS C1, C2 and C3: the CDC's Early Aberration Reporting System.

Made for short histories (a week of daily counts is enough), they compare a period with
the mean and SD of the few periods before it (Hutwagner et al., 2003):

- C1: baseline the 7 periods right before t; score (x_t - mean) / SD; alarm above 3.
- C2: the same with a guard of 2 periods between baseline and t (t-9 .. t-3), so a
  growing outbreak does not lift its own baseline; alarm above 3.
- C3: the sum, over t and the 2 periods before, of each C2 score's excess over 1
  (max(0, C2 - 1)); alarm above 2. It judges from period 11 (counting from 0).

The SD is the sample SD (n - 1) raised to at least `min_sd` (default 1 count): a
baseline of equal counts has SD 0, which would make any rise an infinite score. Burkom
suggests 0.5 or 1 for sparse data; 1 keeps a sparse category from alarming on a
single period of 2 or 3 reports after a run of zeros (it takes 4 against zeros).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from rsn.warning.methods import Floats, Scores
from rsn.warning.methods.baseline import exceeds, require, trailing


@dataclass(frozen=True)
class C1:
    """EARS C1: against the 7 periods right before."""

    name: ClassVar[str] = "ears-c1"
    summary: ClassVar[str] = "EARS C1: against the mean and SD of the 7 periods before"

    baseline: int = 7  # periods in the baseline
    guard: int = 0  # periods between the baseline and the period judged
    threshold: float = 3.0  # alarm above this many SDs
    min_sd: float = 1.0  # floor on the baseline SD, in counts

    def __post_init__(self) -> None:
        require(self.baseline >= 2, self.name, "baseline", self.baseline, "must be 2 or more")
        require(self.guard >= 0, self.name, "guard", self.guard, "must be 0 or more")
        require(self.min_sd > 0, self.name, "min_sd", self.min_sd, "must be above 0")

    def statistic(self, counts: Floats) -> Floats:
        """(x_t - baseline mean) / floored baseline SD, NaN before a full baseline."""
        mean, sd = trailing(counts, length=self.baseline, guard=self.guard)
        return (counts - mean) / np.maximum(sd, self.min_sd)

    def run(self, counts: Floats) -> Scores:
        score = self.statistic(counts)
        return Scores(score, exceeds(score, self.threshold))


@dataclass(frozen=True)
class C2(C1):
    """EARS C2: as C1, with 2 periods kept out of the baseline."""

    name: ClassVar[str] = "ears-c2"
    summary: ClassVar[str] = "EARS C2: as C1, with a 2-period guard before the baseline"

    guard: int = 2


@dataclass(frozen=True)
class C3(C2):
    """EARS C3: C2's excesses over the last 3 periods, added up."""

    name: ClassVar[str] = "ears-c3"
    summary: ClassVar[str] = "EARS C3: the sum of C2's excess over 1 for t and the 2 before"

    threshold: float = 2.0  # alarm above this sum
    terms: int = 3  # periods summed: t and the terms - 1 before it
    excess_over: float = 1.0  # each C2 score counts by how much it passes this

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.terms >= 1, self.name, "terms", self.terms, "must be 1 or more")

    def run(self, counts: Floats) -> Scores:
        excess = np.maximum(self.statistic(counts) - self.excess_over, 0.0)  # NaN stays NaN
        score = np.full(counts.size, np.nan)
        if counts.size >= self.terms:
            score[self.terms - 1 :] = sliding_window_view(excess, self.terms).sum(axis=1)
        return Scores(score, exceeds(score, self.threshold))
