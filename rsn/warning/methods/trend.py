"""Trend rules in the style of ACLED's Trendfinder: this period against last month and year.

ACLED flags a place when its latest week's events pass the weekly average of the month
before (its Surge Tracker: +100%) or of the year before, and keeps quiet where the
averages are too low for a percentage to mean anything. Here both must hold, so a
period alarms only when it is high against the recent past and against the year:

    score = x_t / max(mean of the `short` periods before t, mean of the `long` before t)

alarm when the score is above `factor` (default 2: at least double both averages).
Where the larger of the two means is under `min_mean` (default 1 report a period) the
rule is suppressed: score NaN, no alarm (ACLED's floor for a four-week average), since
one report after a quiet year would otherwise be an infinite rise. The rule judges from
period `long` (52 by default: a year of weekly counts) on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rsn.warning.methods import Floats, Scores
from rsn.warning.methods.baseline import exceeds, require, trailing


@dataclass(frozen=True)
class Trend:
    """The latest period against the means of the 4 and the 52 periods before."""

    name: ClassVar[str] = "trend"
    summary: ClassVar[str] = (
        "Trendfinder-style: above 2x the mean of both the last 4 and 52 periods"
    )

    short: int = 4  # periods in the recent average
    long: int = 52  # periods in the yearly average
    factor: float = 2.0  # alarm when the period passes factor x both averages
    min_mean: float = 1.0  # no judgment where both averages are under this

    def __post_init__(self) -> None:
        require(self.short >= 2, self.name, "short", self.short, "must be 2 or more")
        require(self.long > self.short, self.name, "long", self.long, "must be above short")
        require(self.factor > 1, self.name, "factor", self.factor, "must be above 1")
        require(self.min_mean > 0, self.name, "min_mean", self.min_mean, "must be above 0")

    def run(self, counts: Floats) -> Scores:
        recent, _ = trailing(counts, length=self.short, guard=0)
        year, _ = trailing(counts, length=self.long, guard=0)
        usual = np.maximum(recent, year)  # NaN until the year is full
        usual[usual < self.min_mean] = np.nan
        score = counts / usual
        return Scores(score, exceeds(score, self.factor))
