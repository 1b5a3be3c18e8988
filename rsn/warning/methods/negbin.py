"""A negative-binomial CUSUM: for sparse, overdispersed counts, where SD rules misfire.

Reports of one category in one place come in bursts (variance above the mean) and are
often zero. This method asks, period after period, whether the counts are likelier
under a mean `shift` times the usual one than under the usual one, and adds the
evidence up (Page's CUSUM of the log-likelihood ratio, as in the negative-binomial
CUSUMs of Höhle and Paul, 2008, and Fricker et al., 2008):

- In-control model, from the baseline that ends `guard` periods before t: mean m (the
  baseline mean, at least `min_mean`) and dispersion by the method of moments: size
  r = m^2 / (s^2 - m) when the sample variance s^2 exceeds m, else Poisson (r infinite).
- Out of control: mean k m, k = `shift` (default 2: a doubling), same r.
- The log-likelihood ratio of x_t is x log(k (r + m) / (r + k m)) + r log((r + m) / (r + k m)),
  and x log k - (k - 1) m when Poisson.
- S_t = max(0, S_{t-1} + LLR_t), from 0 at the first period with a full baseline; the
  score is S_t; alarm when S_t > `threshold` (default 4), after which S starts again
  from 0, so a long outbreak alarms again rather than once.

`min_mean` (default 0.5 reports a period) stands in for a baseline of zeros, where no
shift of 0 is a shift. Against it, and with no earlier evidence, one period of 7 or
more reports alarms (7 ln 2 - 0.5 = 4.35); steady counts at the mean never do (each
period adds m (ln 2 - 1) < 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rsn.warning.methods import Floats, Scores
from rsn.warning.methods.baseline import exceeds, require, trailing


@dataclass(frozen=True)
class NegBinCusum:
    """Log-likelihood-ratio CUSUM for a k-fold rise in a negative-binomial mean."""

    name: ClassVar[str] = "negbin-cusum"
    summary: ClassVar[str] = (
        "Negative-binomial CUSUM for a doubling of the mean (28-period baseline, guard 2)"
    )

    baseline: int = 28  # periods the in-control mean and dispersion come from
    guard: int = 2  # periods between the baseline and the period judged
    shift: float = 2.0  # the out-of-control mean, as a multiple of the in-control one
    threshold: float = 4.0  # alarm when the CUSUM passes this
    min_mean: float = 0.5  # floor on the in-control mean, in counts

    def __post_init__(self) -> None:
        require(self.baseline >= 2, self.name, "baseline", self.baseline, "must be 2 or more")
        require(self.guard >= 0, self.name, "guard", self.guard, "must be 0 or more")
        require(self.shift > 1, self.name, "shift", self.shift, "must be above 1")
        require(self.threshold > 0, self.name, "threshold", self.threshold, "must be above 0")
        require(self.min_mean > 0, self.name, "min_mean", self.min_mean, "must be above 0")

    def run(self, counts: Floats) -> Scores:
        mean, sd = trailing(counts, length=self.baseline, guard=self.guard)
        evidence = log_ratio(counts, np.maximum(mean, self.min_mean), sd**2, self.shift)
        score = cusum(evidence, self.threshold)
        return Scores(score, exceeds(score, self.threshold))


def log_ratio(counts: Floats, mean: Floats, variance: Floats, shift: float) -> Floats:
    """Each count's log-likelihood ratio, mean shift x mean against mean; NaN stays NaN."""
    poisson = counts * math.log(shift) - (shift - 1) * mean
    over = np.nan_to_num(variance) > mean  # overdispersed: a finite size
    if not over.any():
        return poisson
    m, x = mean[over], counts[over]
    size = m**2 / (variance[over] - m)
    ratio = np.log((size + m) / (size + shift * m))
    nb = poisson.copy()
    nb[over] = x * (math.log(shift) + ratio) + size * ratio
    return nb


def cusum(evidence: Floats, threshold: float) -> Floats:
    """Page's CUSUM of the evidence, back to 0 after each alarm; NaN where it is NaN."""
    score = np.full(evidence.size, np.nan)
    total = 0.0
    for t, step in enumerate(evidence.tolist()):
        if step != step:  # NaN: no baseline yet
            continue
        total = max(0.0, total + step)
        score[t] = total
        if total > threshold:
            total = 0.0
    return score
