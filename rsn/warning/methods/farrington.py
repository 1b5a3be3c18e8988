"""A Farrington-style quasi-Poisson regression: this period against the same time in past years.

For categories with a season (cyclones, dengue, the fishing calendar), a period is
judged against the periods around the same time of year in the past (Farrington et al.,
1996, as the UK and much of Europe run it for notifiable diseases):

- Reference periods: for each past year y = 1 .. `years` (5), the periods
  t - y P - w .. t - y P + w, P = `period_of_year` (52), w = `half_window` (3), those on
  or after the first period. It judges only from t = `min_years` P (2 years: period 104
  of weekly counts) and where the references hold at least `min_reference` (5) reports
  in all; elsewhere NaN.
- Model: a Poisson GLM with log link, the dispersion φ estimated from the Pearson
  chi-square (quasi-Poisson, floored at 1), with a linear trend in time when the
  references reach back `trend_years` (3) years; the trend is kept only when significant
  at `trend_p` (0.05) and its prediction is no higher than every reference value.
- Past outbreaks down-weighted, as Farrington does: after a first fit, each reference
  whose standardised Anscombe residual s is above 1 is weighted by s^-2, the others by
  1, all scaled to add up to the number of references; the model is fitted again.
- Expected μ and its variance by the delta method: the SD of prediction is
  sqrt(φ μ + Var μ̂); score = (x_t - μ) / SD. The upper bound is the (1 - `alpha`)
  point (one-sided, 0.01 by default) of the 2/3-power transform Farrington uses,
  μ (1 + (2/3) z sqrt(τ / μ))^(3/2), τ = φ + Var μ̂ / μ.
- Alarm when x_t is above the bound and the current and 3 previous periods
  (`recent`) hold at least `min_recent` (5) reports, Farrington's guard against
  alarms on a single report of a rare category.

Cost: 1 to 4 small statsmodels fits per judged period (the refit only when a
reference looks like an outbreak; two more only when a trend is tried and dropped),
and none where the method does not judge. A 260-period weekly series (156 judged
periods) took 0.33 s (seasonal, mean 5) to 0.56 s (sparse, mean 0.5) on one loaded core,
plus about 1 s to import statsmodels the first time; the other methods take under 1 ms.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from statistics import NormalDist
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from rsn.warning.methods import Floats, Scores
from rsn.warning.methods.baseline import require

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Prediction:
    """What one fit expects of the period judged."""

    expected: float  # μ
    sd: float  # SD of the observed count about μ: sqrt(φ μ + Var μ̂)
    upper: float  # the upper prediction bound


@dataclass(frozen=True)
class Farrington:
    """Quasi-Poisson regression on the same time of year in past years, outbreaks down-weighted."""

    name: ClassVar[str] = "farrington"
    summary: ClassVar[str] = (
        "Farrington-style quasi-Poisson regression on the same weeks of past years (2+ years)"
    )

    period_of_year: int = 52  # periods in a year
    years: int = 5  # past years the references come from, at most
    min_years: int = 2  # years of history before the first judged period
    half_window: int = 3  # reference periods either side of the same time of year
    alpha: float = 0.01  # the upper bound is the one-sided 1 - alpha point
    min_reference: float = 5.0  # reports in all the references, else no judgment
    recent: int = 4  # periods (t and those before) in the recent-reports guard
    min_recent: float = 5.0  # reports in those periods needed to alarm
    trend_years: int = 3  # years the references must reach for a trend to be tried
    trend_p: float = 0.05  # a trend is kept only when significant at this level

    def __post_init__(self) -> None:
        period, half = self.period_of_year, self.half_window
        require(period >= 2, self.name, "period_of_year", period, "must be 2 or more")
        require(0 <= 2 * half < period, self.name, "half_window", half, "must be 0 to P/2")
        require(self.min_years >= 1, self.name, "min_years", self.min_years, "must be 1 or more")
        require(self.years >= self.min_years, self.name, "years", self.years, "is below min_years")
        require(0 < self.alpha < 0.5, self.name, "alpha", self.alpha, "is not in (0, 0.5)")
        require(
            self.min_reference > 0,
            self.name,
            "min_reference",
            self.min_reference,
            "must be above 0",
        )
        require(self.recent >= 1, self.name, "recent", self.recent, "must be 1 or more")
        require(0 < self.trend_p < 1, self.name, "trend_p", self.trend_p, "is not in (0, 1)")

    def run(self, counts: Floats) -> Scores:
        score = np.full(counts.size, np.nan)
        alarm = np.zeros(counts.size, dtype=np.bool_)
        z = NormalDist().inv_cdf(1 - self.alpha)
        for t in range(self.min_years * self.period_of_year, counts.size):
            where, years = self.references(t)
            if counts[where].sum() < self.min_reference:
                continue
            trend = years >= self.trend_years
            p = predict(counts[where], (where - t) / self.period_of_year, trend, self.trend_p, z)
            score[t] = (counts[t] - p.expected) / p.sd
            recent = counts[max(0, t - self.recent + 1) : t + 1].sum()
            alarm[t] = counts[t] > p.upper and recent >= self.min_recent
        return Scores(score, alarm)

    def references(self, t: int) -> tuple[Ints, int]:
        """Indices of t's reference periods, and how many past years they reach."""
        period, half = self.period_of_year, self.half_window
        picked = [
            t - year * period + step
            for year in range(1, self.years + 1)
            for step in range(-half, half + 1)
            if t - year * period + step >= 0
        ]
        reached = max((t - i + half) // period for i in picked)
        return np.array(picked, dtype=np.int64), reached


@dataclass(frozen=True)
class Fit:
    """A quasi-Poisson fit: coefficients, (X'WX)^-1, fitted means and the dispersion φ."""

    params: Floats
    inverse: Floats  # (X'WX)^-1; the coefficients' covariance is φ times it
    fitted: Floats
    phi: float  # Pearson chi-square over degrees of freedom, at least 1

    def trend_p(self) -> float:
        """Two-sided p-value of the trend coefficient under the fitted dispersion."""
        z = self.params[1] / math.sqrt(self.phi * self.inverse[1, 1])
        return 2 * (1 - NormalDist().cdf(abs(z)))


def predict(y: Floats, when: Floats, trend: bool, trend_p: float, z: float) -> Prediction:
    """Fit with a trend when allowed, dropping it as Farrington does, and predict at time 0."""
    if trend and np.ptp(y) > 0:  # a constant has no trend to fit
        fit = reweighted(y, np.column_stack([np.ones_like(when), when]))
        if fit.trend_p() < trend_p and math.exp(fit.params[0]) <= y.max():
            return prediction(fit, z)
    return prediction(reweighted(y, np.ones((y.size, 1))), z)


def reweighted(y: Floats, design: Floats) -> Fit:
    """The quasi-Poisson fit again after down-weighting references that look like outbreaks."""
    first = fitted(y, design, np.ones(y.size))
    weights = outbreak_weights(y, design, first)
    return first if np.all(weights == 1.0) else fitted(y, design, weights)


def outbreak_weights(y: Floats, design: Floats, fit: Fit) -> Floats:
    """s^-2 where the standardised Anscombe residual s is above 1, else 1; scaled to sum to n."""
    mu = fit.fitted
    leverage: Floats = mu * np.einsum("ij,jk,ik->i", design, fit.inverse, design)
    spread = np.sqrt(fit.phi * np.clip(1 - leverage, 1e-9, None)) * mu ** (1 / 6)
    s = 1.5 * (y ** (2 / 3) - mu ** (2 / 3)) / spread
    if not np.any(s > 1):
        return np.ones(y.size)  # nothing looks like an outbreak: the first fit stands
    weights: Floats = np.where(s > 1, 1 / np.maximum(s, 1) ** 2, 1.0)
    return weights * (y.size / float(weights.sum()))


def fitted(y: Floats, design: Floats, weights: Floats) -> Fit:
    """A Poisson GLM (log link), with φ from the weighted Pearson chi-square.

    Without a trend the fit has a closed form (μ is the weighted mean, (X'WX)^-1 is
    1 / Σ w μ); with one, statsmodels fits it. φ is computed here rather than by
    statsmodels' `scale="X2"`, which divides by zero on a perfect fit.
    """
    if design.shape[1] == 1:
        mean = float(np.sum(weights * y) / np.sum(weights))
        params = np.array([math.log(mean)])
        inverse = np.array([[1 / (mean * float(np.sum(weights)))]])
        mu = np.full(y.size, mean)
    else:
        params, inverse, mu = _glm(y, design, weights)
    free = y.size - design.shape[1]
    chi2 = float(np.sum(weights * (y - mu) ** 2 / mu))
    phi = max(1.0, chi2 / free) if free > 0 else 1.0
    return Fit(params=params, inverse=inverse, fitted=mu, phi=phi)


def _glm(y: Floats, design: Floats, weights: Floats) -> tuple[Floats, Floats, Floats]:
    """statsmodels' Poisson GLM: coefficients, (X'WX)^-1 and fitted means.

    References that lie exactly on a log-linear curve are a perfect fit, which
    statsmodels warns of as "perfect separation"; for a prediction it is simply exact.
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        result = GLM(y, design, family=families.Poisson(), var_weights=weights).fit()
    return (
        np.asarray(result.params, dtype=np.float64),
        np.asarray(result.normalized_cov_params, dtype=np.float64),
        np.asarray(result.fittedvalues, dtype=np.float64),
    )


def prediction(fit: Fit, z: float) -> Prediction:
    """μ at time 0 (the judged period), its SD of prediction and its upper bound."""
    phi = fit.phi
    mu = math.exp(float(fit.params[0]))
    var_mu = mu**2 * phi * float(fit.inverse[0, 0])  # delta method
    tau = phi + var_mu / mu
    upper = mu * (1 + (2 / 3) * z * math.sqrt(tau / mu)) ** 1.5
    return Prediction(expected=mu, sd=math.sqrt(phi * mu + var_mu), upper=upper)
