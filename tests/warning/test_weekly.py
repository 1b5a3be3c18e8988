"""The default weekly detector: its scores by hand on small series, and how it behaves."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rsn.warning import methods
from rsn.warning.methods.weekly import WEEKLY, Weekly, tail_surprise

YEAR = 365.25 / 7


def mid_p_surprise(dist: stats.rv_discrete, x: float) -> float:
    """-log10 of P(X > x) + P(X = x) / 2, from scipy's own distribution."""
    return -math.log10(float(dist.sf(x)) + 0.5 * float(dist.pmf(x)))


def nb(mean: float, alpha: float) -> stats.rv_discrete:
    size = 1 / alpha
    return stats.nbinom(size, size / (size + mean))


def noisy(weeks: int, mean: float, size: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.negative_binomial(size, size / (size + mean), weeks).astype(np.float64)


@pytest.mark.parametrize(
    ("x", "mean", "alpha"), [(0, 0.3, 0.5), (3, 2.0, 0.1), (40, 12.5, 0.05), (7, 7.0, 1e-8)]
)
def test_tail_surprise_is_the_mid_p_of_a_negative_binomial(
    x: int, mean: float, alpha: float
) -> None:
    got = tail_surprise(np.array([float(x)]), np.array([mean]), np.array([alpha]))[0]
    assert got == pytest.approx(mid_p_surprise(nb(mean, alpha), x), rel=1e-6)


def test_after_a_steady_history_a_week_is_judged_against_a_poisson() -> None:
    """Twelve weeks of 4: no spread, no doubt about the mean; then 10, then 9."""
    counts = np.array([4.0] * 12 + [10.0, 9.0])
    score = WEEKLY.run(counts).score
    this_week = mid_p_surprise(stats.poisson(4), 10)
    two_weeks = mid_p_surprise(stats.poisson(8), 14)
    assert score[12] == pytest.approx(max(this_week, two_weeks), rel=1e-6)


def test_a_week_after_a_short_noisy_history_by_hand() -> None:
    """The level, its overdispersion by moments and its own uncertainty, then the NB tail."""
    history = np.array([2.0, 4, 3, 5, 1, 3, 4, 2, 6, 3, 2, 9])
    counts = np.append(history, 11.0)
    n, level = len(history), history.mean()
    residual = ((history - level) ** 2).sum() / (n - 1)
    alpha = max(0.0, (residual * n - n * level) / (n * level**2)) + residual / n / level**2
    this_week = mid_p_surprise(nb(level, alpha), 11)
    two_weeks = mid_p_surprise(nb(2 * level, alpha / 2), 11 + 9)
    assert WEEKLY.run(counts).score[12] == pytest.approx(max(this_week, two_weeks), rel=1e-6)


def test_no_score_before_the_least_history() -> None:
    verdict = WEEKLY.run(noisy(30, 5.0, 4.0, seed=1))
    assert np.isnan(verdict.score[: WEEKLY.least]).all()
    assert not verdict.alarm[: WEEKLY.least].any()
    assert np.isfinite(verdict.score[WEEKLY.least :]).all()


def test_a_score_never_changes_when_later_weeks_arrive() -> None:
    counts = noisy(260, 8.0, 5.0, seed=2)
    counts[200:203] += [20, 35, 15]
    whole = WEEKLY.run(counts).score
    for cut in (13, 60, 110, 150, 201, 230):
        np.testing.assert_array_equal(WEEKLY.run(counts[:cut]).score, whole[:cut])


@pytest.mark.parametrize("value", [0.0, 1.0, 7.0, 1000.0])
def test_a_flat_series_never_alarms(value: float) -> None:
    assert not WEEKLY.run(np.full(300, value)).alarm.any()


def test_a_clear_bump_alarms_within_its_weeks() -> None:
    counts = noisy(200, 10.0, 8.0, seed=3)
    sd = math.sqrt(10 + 10**2 / 8)
    counts[170:173] += np.round(np.array([1.0, 2.0, 1.0]) * 2 * sd)
    alarm = WEEKLY.run(counts).alarm
    assert alarm[170:174].any()


def test_a_single_count_after_months_of_none_alarms() -> None:
    counts = np.zeros(60)
    counts[50] = 3
    alarm = WEEKLY.run(counts).alarm
    assert alarm[50]
    assert alarm.sum() <= 2  # the week, and the two-week sum that still holds it


def test_a_yearly_cycle_is_learnt_so_a_bump_in_its_trough_shows() -> None:
    """Four years of a strong cycle: peaks are no surprise, a bump at a trough is."""
    weeks = np.arange(208)
    mean = 20 * (1 + 0.8 * np.sin(2 * np.pi * weeks / YEAR))
    rng = np.random.default_rng(4)
    counts = rng.negative_binomial(10, 10 / (10 + mean)).astype(np.float64)
    trough = int(np.argmin(mean[180:])) + 180
    counts[trough : trough + 2] += 12
    seasonal = WEEKLY.run(counts).alarm
    level_only = Weekly(seasonal_after=10_000).run(counts).alarm
    quiet = np.ones(208, dtype=bool)
    quiet[:104] = False
    quiet[trough : trough + 3] = False
    assert seasonal[quiet].mean() <= 0.03
    assert seasonal[trough : trough + 3].any()
    assert not level_only[trough : trough + 3].any()


def test_an_outbreak_does_not_teach_the_baseline_that_it_is_normal() -> None:
    counts = noisy(200, 10.0, 10.0, seed=5)
    counts[150:154] += [60, 120, 90, 40]
    expected_after = WEEKLY.baseline(counts)[0][190, 0]
    taught = Weekly(exclude=math.inf).baseline(counts)[0][190, 0]
    assert abs(expected_after - 10) < 1.5
    assert taught > expected_after + 1


def test_a_negative_count_is_refused_by_its_position() -> None:
    with pytest.raises(ValueError, match=r"counts\[3\]: -1.0 is not a count"):
        WEEKLY.run(np.array([1.0, 2.0, 3.0, -1.0]))


def test_the_detector_is_registered_by_name() -> None:
    assert methods.by_name("weekly") is WEEKLY
    assert "weekly" in methods.names()
