"""The node's default detector for weekly counts: each series against its own past.

What an ideal detector would know is each week's expected count (level and yearly
cycle) and how far counts stray from it (their overdispersion): then a week is as
surprising as the negative-binomial tail of its count says, and a bump over two weeks as
the tail of their sum. `bench/warning_quality.py` gives such an oracle the true model;
this detector estimates it from the series' own past, week by week, and never looks
ahead: the score of week t reads counts up to t only.

The baseline is a least-squares fit of the last `span` weeks before t: a level, plus a
yearly sine and cosine once `seasonal_after` weeks are known (a linear cycle, so a low
count series' trough is never forced through a logarithm). Overdispersion comes from
the residuals by moments (variance = mean + alpha * mean^2). The estimate's own
uncertainty widens the predictive distribution, so a short history alarms less readily.
Outbreaks must not teach the baseline that they are normal: a week beyond the 1% upper
tail of its prediction enters later fits at that tail's edge (winsorized).

The score is -log10 of the mid-p upper tail of this week's count, or of the last two
weeks' sum, whichever is more surprising: one catches a spike, the other a bump that
no single week makes plain. The default threshold is the one that gives 1% false alarms
on the benchmark's development seeds (`bench/warning_quality.py`), frozen here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy import special, stats

from rsn.warning.methods import Floats, Scores, register

YEAR = 365.25 / 7  # weeks
HIGHEST = 300.0  # the score of a count beyond floating point's tail


def tail_surprise(x: Floats, mean: Floats, alpha: Floats) -> Floats:
    """-log10 of P(X > x) + P(X = x) / 2 for X negative binomial (alpha = 1 / size)."""
    size = 1 / np.maximum(alpha, 1e-8)
    mean = np.maximum(mean, 1e-12)
    q = mean / (size + mean)  # the failure probability in scipy's terms
    above = special.betainc(x + 1, size, q)
    log_at = (
        special.gammaln(x + size)
        - special.gammaln(size)
        - special.gammaln(x + 1)
        + size * np.log1p(-q)
        + x * np.log(q)
    )
    mid = above + 0.5 * np.exp(log_at)
    return np.asarray(-np.log10(np.maximum(mid, 10.0**-HIGHEST)), dtype=np.float64)


def yearly_design(weeks: int) -> Floats:
    """Columns: 1, sin and cos of the year, per week."""
    angle = 2 * np.pi * np.arange(weeks) / YEAR
    return np.column_stack([np.ones(weeks), np.sin(angle), np.cos(angle)])


@dataclass
class _Sums:
    """Running sums of the weeks in the baseline window, for a least-squares fit."""

    xx: Floats = field(default_factory=lambda: np.zeros((3, 3)))
    xy: Floats = field(default_factory=lambda: np.zeros(3))
    yy: float = 0.0

    def add(self, x: Floats, y: float, sign: float = 1.0) -> None:
        self.xx += sign * np.outer(x, x)
        self.xy += sign * y * x
        self.yy += sign * y * y


@dataclass(frozen=True)
class _Model:
    """A fitted baseline: coefficients, overdispersion, and the estimate's own variance."""

    beta: Floats
    alpha: float
    noise: float  # residual variance, for the estimate's uncertainty
    inverse: Floats  # (X'X)^-1
    floor: float  # the least mean: half a count over the window

    def mean(self, x: Floats) -> Floats:
        return np.asarray(np.maximum(x @ self.beta, self.floor), dtype=np.float64)

    def spread(self, x: Floats, mean: float) -> float:
        """Overdispersion plus the relative variance of the estimated mean at x."""
        return self.alpha + self.noise * float(x @ self.inverse @ x) / mean**2


def fit(sums: _Sums, p: int) -> _Model:
    """Least squares of the first p design columns; alpha by moments of the residuals."""
    weeks = sums.xx[0, 0]
    xx, xy = sums.xx[:p, :p], sums.xy[:p]
    try:
        inverse = np.asarray(np.linalg.inv(xx), dtype=np.float64)
    except np.linalg.LinAlgError:  # the yearly terms are not yet told apart: level only
        return fit(sums, 1)
    beta = inverse @ xy
    fitted_sum, fitted_squares = float(beta @ sums.xx[0, :p]), float(beta @ xx @ beta)
    dof = max(weeks - p, 1.0)
    residual = max(sums.yy - float(beta @ xy), 0.0) / dof
    excess = residual * weeks - fitted_sum
    alpha = max(0.0, excess / fitted_squares) if fitted_squares > 0 else 0.0
    return _Model(beta, alpha, residual, inverse, 0.5 / weeks)


@dataclass(frozen=True)
class Weekly:
    """Weekly counts against a negative-binomial baseline fitted to their own past."""

    name: ClassVar[str] = "weekly"
    summary: ClassVar[str] = (
        "weekly counts against their own past: level, yearly cycle and overdispersion; "
        "NB tail of the week and of the last two weeks"
    )
    # -log10 of a tail probability: 1% false alarms on the bench's development seeds
    # (`bench/warning_quality.py --seeds-dev 1-10`), frozen
    threshold: float = 2.326
    least: int = 12  # weeks of history before the first score
    span: int = 156  # weeks of history in the baseline (3 years)
    seasonal_after: int = 104  # weeks of history before a yearly cycle is fitted
    exclude: float = 2.0  # a week beyond this tail enters later fits at its edge
    widths: tuple[int, ...] = (1, 2)  # weeks summed in a score

    def run(self, counts: Floats) -> Scores:
        score = self.scores(counts)
        return Scores(score, np.nan_to_num(score, nan=-np.inf) > self.threshold)

    def scores(self, counts: Floats) -> Floats:
        """Each week's surprise (NaN before `least` weeks of history)."""
        y = checked(counts)
        mean, spread = self.baseline(y)
        return window_scores(y, mean, spread, self.widths)

    def baseline(self, y: Floats) -> tuple[Floats, Floats]:
        """Per week t: the expected counts of weeks t, t-1, ... and the spread, from weeks < t."""
        n, lags = len(y), max(self.widths)
        design = yearly_design(n)
        mean, spread = np.full((n, lags), np.nan), np.full(n, np.nan)
        learnt = y.copy()  # what each week teaches the baseline: winsorized when surprising
        sums = _Sums()
        for now in range(1, n):
            sums.add(design[now - 1], learnt[now - 1])
            if now > self.span:
                sums.add(design[now - 1 - self.span], learnt[now - 1 - self.span], -1.0)
            if now < self.least:
                continue
            model = fit(sums, 3 if min(now, self.span) >= self.seasonal_after else 1)
            back = np.maximum(np.arange(now, now - lags, -1), 0)
            mean[now] = model.mean(design[back, : len(model.beta)])
            spread[now] = model.spread(design[now, : len(model.beta)], mean[now, 0])
            learnt[now] = self.winsorized(y[now], mean[now, 0], spread[now])
        return mean, spread

    def winsorized(self, count: float, mean: float, alpha: float) -> float:
        """The count, or the edge of the `exclude` tail if it lies beyond."""
        if count <= mean:  # a count at or below its expectation surprises no one
            return count
        one = np.array([count])
        if tail_surprise(one, np.array([mean]), np.array([alpha]))[0] <= self.exclude:
            return count
        size = 1 / max(alpha, 1e-8)
        edge = stats.nbinom.ppf(1 - 10**-self.exclude, size, size / (size + mean))
        return float(min(count, edge))


def checked(counts: Floats) -> Floats:
    """Counts as whole numbers; a negative or missing one is refused by its position."""
    y = np.asarray(counts, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y) | (y < 0))
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"counts[{i}]: {y[i]} is not a count (a finite number, 0 or more)")
    return np.floor(y)


def window_scores(y: Floats, mean: Floats, spread: Floats, widths: tuple[int, ...]) -> Floats:
    """The largest surprise of the sums of the last w weeks, w in `widths`."""
    n = len(y)
    best = np.full(n, np.nan)
    total = np.concatenate([[0.0], np.cumsum(y)])
    for w in widths:
        at = np.flatnonzero(~np.isnan(spread) & (np.arange(n) >= w - 1))
        expected = mean[at, :w]
        m = expected.sum(axis=1)
        alpha = spread[at] * (expected**2).sum(axis=1) / m**2
        best[at] = np.fmax(best[at], tail_surprise(total[at + 1] - total[at + 1 - w], m, alpha))
    return best


WEEKLY = register(Weekly())

__all__ = ["WEEKLY", "Weekly"]
