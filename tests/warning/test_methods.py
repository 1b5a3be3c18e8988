"""The detection methods against values worked out by hand, and the properties all must keep."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rsn.warning import methods
from rsn.warning.methods import (
    Floats,
    Method,
    Scores,
    baseline,
    ears,
    ewma,
    farrington,
    negbin,
    trend,
)

# The first period (counting from 0) each method judges with its default parameters.
FIRST_JUDGED = {
    "ears-c1": 7,  # 7 baseline periods
    "ears-c2": 9,  # 7 + a guard of 2
    "ears-c3": 11,  # C2 at t - 2 must be judged
    "ewma": 30,  # 28 + a guard of 2
    "negbin-cusum": 30,  # 28 + a guard of 2
    "trend": 52,  # a year of weekly periods before t
    "farrington": 104,  # two years of weekly periods before t
}


def series(*counts: float) -> Floats:
    return np.array(counts, dtype=np.float64)


def noisy(n: int, seed: int) -> Floats:
    """Flat but noisy: 9, 10 or 11 at random in each period."""
    return np.random.default_rng(seed).integers(9, 12, size=n).astype(np.float64)


def lively(n: int, seed: int) -> Floats:
    """A seasonal Poisson series with two outbreaks: every method alarms somewhere in it."""
    t = np.arange(n)
    mean = 6 + 3 * np.sin(2 * np.pi * t / 52)
    mean[[40, 41, 42, 120, 121, 122]] += 25
    return np.random.default_rng(seed).poisson(mean).astype(np.float64)


# -- EARS ---------------------------------------------------------------------------------


def test_c1_against_the_seven_periods_before() -> None:
    # Baseline 1..7: mean 28/7 = 4; squares of deviations 9+4+1+0+1+4+9 = 28;
    # sample variance 28/6 = 4.667, SD 2.1602; C1 = (12 - 4) / 2.1602 = 3.7033 > 3.
    scores = ears.C1().run(series(1, 2, 3, 4, 5, 6, 7, 12))
    assert np.isnan(scores.score[:7]).all() and not scores.alarm[:7].any()
    assert scores.score[7] == pytest.approx(3.7033, abs=1e-4)
    assert scores.alarm[7]


def test_c1_alarms_only_above_the_threshold() -> None:
    # Baseline 2,4,2,4,2,4,3: mean 3, deviations ±1 six times and 0: variance 6/6, SD 1.
    # 6 scores (6 - 3)/1 = 3, not above 3; 7 scores 4.
    at_three = ears.C1().run(series(2, 4, 2, 4, 2, 4, 3, 6))
    at_four = ears.C1().run(series(2, 4, 2, 4, 2, 4, 3, 7))
    assert at_three.score[7] == pytest.approx(3.0) and not at_three.alarm[7]
    assert at_four.score[7] == pytest.approx(4.0) and at_four.alarm[7]


def test_c2_skips_the_two_periods_before() -> None:
    # At t = 9 the baseline is periods 0..6 (2,4,2,4,2,4,3: mean 3, SD 1), not the 9s at 7
    # and 8: C2 = (7 - 3) / 1 = 4. C1 sees the 9s: baseline 2,4,2,4,3,9,9 has mean 33/7 =
    # 4.714 and SD 3.039 (squares 7.37+0.51+7.37+0.51+2.94+18.37+18.37 = 55.43, / 6 = 9.24),
    # so C1 = (7 - 4.714) / 3.039 = 0.752.
    counts = series(2, 4, 2, 4, 2, 4, 3, 9, 9, 7)
    scores = ears.C2().run(counts)
    assert np.isnan(scores.score[:9]).all()
    assert scores.score[9] == pytest.approx(4.0) and scores.alarm[9]
    assert ears.C1().run(counts).score[9] == pytest.approx(0.752, abs=1e-3)


def test_c2_floors_a_zero_sd() -> None:
    # Nine 3s then 5: the baseline's SD is 0, floored to min_sd = 1; C2 = (5 - 3) / 1 = 2.
    scores = ears.C2().run(series(*[3] * 9, 5))
    assert scores.score[9] == pytest.approx(2.0)
    assert ears.C2(min_sd=0.5).run(series(*[3] * 9, 5)).score[9] == pytest.approx(4.0)


def test_c3_adds_the_excess_of_three_c2_scores() -> None:
    # Nine 3s then 5, 6, 7: every C2 baseline is 3s (mean 3, SD 0 -> 1), so C2 is 2, 3, 4
    # at t = 9, 10, 11; C3 at 11 = (2 - 1) + (3 - 1) + (4 - 1) = 6 > 2.
    scores = ears.C3().run(series(*[3] * 9, 5, 6, 7))
    assert np.isnan(scores.score[:11]).all()
    assert scores.score[11] == pytest.approx(6.0) and scores.alarm[11]


def test_c3_counts_no_negative_excess() -> None:
    # C2 = 0, 1, 3 -> excesses max(0, -1) = 0, 0, 2: C3 = 2, not above 2.
    scores = ears.C3().run(series(*[3] * 9, 3, 4, 6))
    assert scores.score[11] == pytest.approx(2.0) and not scores.alarm[11]


# -- EWMA ---------------------------------------------------------------------------------


def test_ewma_by_hand() -> None:
    # λ = 0.5, baseline 3, guard 1: z = 2, 3, 4.5, 4.25, 7.125 (z_t = x_t/2 + z_{t-1}/2).
    # At t = 4 the baseline is 2, 4, 6 (mean 4, SD 2); sqrt(λ/(2-λ)) = sqrt(1/3) = 0.57735;
    # score = (7.125 - 4) / (2 * 0.57735) = 2.7063 > 2.47.
    method = ewma.Ewma(baseline=3, guard=1, smoothing=0.5)
    scores = method.run(series(2, 4, 6, 4, 10))
    assert np.isnan(scores.score[:4]).all()
    assert scores.score[4] == pytest.approx(2.7063, abs=1e-4) and scores.alarm[4]


def test_ewma_adds_up_a_rise_that_no_single_period_shows() -> None:
    # Three periods of 12 after 10s: EARS C2 (floored SD 1, so 2 each time) never passes 3;
    # the EWMA reaches 10 + 2 * (1 - 0.6^3) = 11.57: (11.57 - 10) / (1 * 0.5) = 3.14.
    counts = series(*[10] * 40, 12, 12, 12)
    assert not ears.C2().run(counts).alarm.any()
    scores = ewma.Ewma().run(counts)
    assert scores.score[-1] == pytest.approx(3.136, abs=1e-3) and scores.alarm[-1]


# -- negative-binomial CUSUM -----------------------------------------------------------------


def test_negbin_cusum_by_hand() -> None:
    # Baseline 3, no guard, a doubling. t = 3: baseline 2,2,2 (mean 2, variance 0: Poisson),
    # LLR(2) = 2 ln 2 - 2 = -0.614, S = 0. t = 4: LLR(6) = 6 ln 2 - 2 = 2.1589, S = 2.1589.
    # t = 5: baseline 2,2,6: mean 10/3, variance ((4/3)^2 * 2 + (8/3)^2) / 2 = 16/3 > mean,
    # size r = m^2 / (v - m) = (100/9) / 2 = 50/9; ln((r + m) / (r + 2m)) = ln(80/110) =
    # -0.31845; LLR(0) = r * -0.31845 = -1.7692; S = 2.1589 - 1.7692 = 0.3897.
    method = negbin.NegBinCusum(baseline=3, guard=0)
    scores = method.run(series(2, 2, 2, 2, 6, 0))
    assert np.isnan(scores.score[:3]).all()
    assert scores.score[3:].tolist() == pytest.approx([0.0, 2.1589, 0.3897], abs=1e-4)
    assert not scores.alarm.any()


def test_negbin_cusum_alarms_and_starts_again() -> None:
    # Zeros: the mean is floored to 0.5; LLR(7) = 7 ln 2 - 0.5 = 4.352 > 4: alarm. Next,
    # baseline 0,0,7 (mean 7/3, variance 49/3: size (49/9) / 14 = 0.3889) and LLR(0) =
    # 0.3889 * ln(2.7222 / 5.0556) = -0.2407: from 0 after the alarm, S = 0 (not 4.11).
    scores = negbin.NegBinCusum(baseline=3, guard=0).run(series(0, 0, 0, 7, 0))
    assert scores.score[3] == pytest.approx(4.352, abs=1e-3) and scores.alarm[3]
    assert scores.score[4] == 0.0 and not scores.alarm[4]


def test_negbin_cusum_needs_more_evidence_when_counts_are_overdispersed() -> None:
    # The same rise to 16 is weaker evidence against a bursty baseline (variance >> mean)
    # than against a steady one of the same mean 8.
    steady = series(*[7, 8, 9, 8] * 8, 16)
    bursty = series(*[0, 2, 30, 0] * 8, 16)
    assert bursty[2:30].mean() == steady[2:30].mean() == 8  # the last period's baseline
    method = negbin.NegBinCusum()
    assert method.run(bursty).score[-1] < method.run(steady).score[-1]


# -- trend rules ----------------------------------------------------------------------------


def test_trend_by_hand() -> None:
    # short 2, long 4: at t = 4 the recent mean is (3 + 3)/2 = 3, the long one
    # (1 + 1 + 3 + 3)/4 = 2; score = 7 / max(3, 2) = 2.333 > 2. 6 scores exactly 2: no alarm.
    method = trend.Trend(short=2, long=4)
    scores = method.run(series(1, 1, 3, 3, 7))
    assert np.isnan(scores.score[:4]).all()
    assert scores.score[4] == pytest.approx(7 / 3) and scores.alarm[4]
    assert not method.run(series(1, 1, 3, 3, 6)).alarm[4]


def test_trend_must_pass_the_year_too() -> None:
    # Recent mean 2, yearly (8+8+2+2)/4 = 5: 7 is 3.5 x recent but 1.4 x the year.
    scores = trend.Trend(short=2, long=4).run(series(8, 8, 2, 2, 7))
    assert scores.score[4] == pytest.approx(1.4) and not scores.alarm[4]


def test_trend_is_suppressed_under_the_minimum_mean() -> None:
    # Means 0.5 (recent) and 0.25 (year), both under 1: no judgment, however big the count.
    scores = trend.Trend(short=2, long=4).run(series(0, 0, 1, 0, 50))
    assert np.isnan(scores.score[4]) and not scores.alarm[4]


# -- Farrington -----------------------------------------------------------------------------


def test_farrington_by_hand() -> None:
    # A "year" of 4 periods, no window, 2 years: t = 8's references are periods 4 and 0
    # (6 and 4). Intercept-only quasi-Poisson: μ = 5; Pearson X2 = (1 + 1)/5 = 0.4 over 1
    # degree of freedom, φ = max(1, 0.4) = 1; Var μ̂ = φ μ / n = 2.5. Anscombe residual of
    # the 6: 1.5 (6^(2/3) - 5^(2/3)) / (sqrt(1 - 1/2) 5^(1/6)) = 0.613 < 1: no reweighting.
    # score = (15 - 5) / sqrt(5 + 2.5) = 3.6515; τ = 1 + 2.5/5 = 1.5, z = 2.3263,
    # bound = 5 (1 + (2/3) 2.3263 sqrt(1.5/5))^1.5 = 12.576 < 15: alarm.
    method = farrington.Farrington(period_of_year=4, half_window=0, min_reference=1, recent=1)
    scores = method.run(series(4, 1, 1, 1, 6, 1, 1, 1, 15))
    assert np.isnan(scores.score[:8]).all()
    assert scores.score[8] == pytest.approx(3.6515, abs=1e-4) and scores.alarm[8]
    prediction = farrington.predict(series(6, 4), series(-1, -2), False, 0.05, 2.3263)
    assert prediction.upper == pytest.approx(12.576, abs=1e-3)


def test_farrington_down_weights_a_past_outbreak() -> None:
    # Six references of 5 and one of 40: μ = 10, Pearson X2 = (6 * 25 + 900) / 10 = 105 over
    # 6 degrees of freedom, φ = 17.5; leverage 1/7 each. The 40's standardised Anscombe
    # residual is 1.5 (40^(2/3) - 10^(2/3)) / (sqrt(17.5 * 6/7) 10^(1/6)) = 1.8614, so it
    # weighs 1 / 1.8614^2 = 0.2886 against 1 for each 5 (their residuals are negative);
    # the refit's mean is (6 * 5 + 0.2886 * 40) / 6.2886 = 6.606 instead of 10.
    refs = series(5, 5, 5, 5, 5, 5, 40)
    flat = np.ones((refs.size, 1))
    plain = farrington.fitted(refs, flat, np.ones(refs.size))
    assert plain.phi == pytest.approx(17.5) and math.exp(plain.params[0]) == pytest.approx(10)
    weights = farrington.outbreak_weights(refs, flat, plain)
    assert weights.sum() == pytest.approx(7.0)
    assert weights[-1] / weights[0] == pytest.approx(0.2886, abs=1e-4)
    expected = farrington.predict(refs, -np.arange(1.0, 8.0), False, 0.05, 2.33).expected
    assert expected == pytest.approx(6.606, abs=1e-3)


def test_farrington_keeps_a_falling_trend() -> None:
    # Counts halving each year (80, 40, 20, 10 at the same time of year): with the trend,
    # this year's 5 is in line; without it (trend_years too high to try), the past years'
    # mean expects several times more.
    t = np.arange(4 * 8 + 1)
    counts = np.round(80 * 0.5 ** (t / 8)).astype(np.float64)
    params = {"period_of_year": 8, "half_window": 1, "years": 4, "recent": 1}
    kept = farrington.Farrington(**params).run(counts)  # type: ignore[arg-type]
    flat = farrington.Farrington(trend_years=9, **params).run(counts)  # type: ignore[arg-type]
    assert abs(kept.score[-1]) < 1 < -flat.score[-1]


def test_farrington_needs_two_years_and_enough_reports() -> None:
    # Reports only at periods 50..53: t = 104's references (49..55 and 0..3) hold 4 of them,
    # later periods' fewer; under min_reference (5) the method never judges.
    sparse = np.zeros(125)
    sparse[50:54] = 1
    sparse[-1] = 9
    assert np.isnan(farrington.Farrington().run(sparse).score).all()
    lenient = farrington.Farrington(min_reference=4).run(sparse)
    assert np.isnan(lenient.score[:104]).all() and np.isfinite(lenient.score[104])
    assert np.isnan(farrington.Farrington().run(noisy(103, seed=2)).score).all()


def test_farrington_wants_recent_reports_before_it_alarms() -> None:
    # References alternate 1, 0 (μ = 0.5, φ = 1, Var μ̂ = 0.5/14): the bound is
    # 0.5 (1 + (2/3) 2.3263 sqrt(1.0714 / 0.5))^1.5 = 2.96, so a 4 passes it; but the last
    # 4 periods hold 4 reports, under min_recent (5).
    quiet = series(*[1, 0] * 65, 0, 0, 0, 4)
    assert not farrington.Farrington().run(quiet).alarm[-1]
    assert farrington.Farrington(min_recent=4).run(quiet).alarm[-1]


# -- what every method keeps ------------------------------------------------------------------


@pytest.fixture(params=sorted(FIRST_JUDGED))
def method(request: pytest.FixtureRequest) -> Method:
    return methods.by_name(request.param)


def same(a: Scores, b: Scores) -> bool:
    return np.array_equal(a.score, b.score, equal_nan=True) and np.array_equal(a.alarm, b.alarm)


def test_a_flat_series_never_alarms(method: Method) -> None:
    for level in (0.0, 1.0, 5.0, 40.0):
        assert not method.run(np.full(130, level)).alarm.any(), level


def test_a_spike_after_a_flat_noisy_baseline_alarms(method: Method) -> None:
    counts = noisy(130, seed=7)
    assert not method.run(counts).alarm.any()
    counts[-1] = 60
    scores = method.run(counts)
    assert scores.alarm[-1] and scores.score[-1] > 0
    assert not scores.alarm[:-1].any()


def test_nothing_is_judged_before_the_baseline_is_full(method: Method) -> None:
    first = FIRST_JUDGED[method.name]
    scores = method.run(noisy(first + 5, seed=1))
    assert np.isnan(scores.score[:first]).all() and not scores.alarm[:first].any()
    assert np.isfinite(scores.score[first:]).all()


def test_no_look_ahead(method: Method) -> None:
    """The score of period t is the same whether or not the periods after t are given."""
    counts = lively(150, seed=11)
    whole = method.run(counts)
    assert whole.alarm.any(), "the series should make every method alarm somewhere"
    for cut in (0, 1, 6, 12, 31, 53, 60, 105, 124, 149):
        part = method.run(counts[:cut])
        assert same(part, Scores(whole.score[:cut], whole.alarm[:cut])), cut


def test_alarms_are_never_where_the_method_does_not_judge(method: Method) -> None:
    scores = method.run(lively(150, seed=5))
    assert scores.score.shape == scores.alarm.shape == (150,)
    assert not scores.alarm[np.isnan(scores.score)].any()


# -- the registry and configured methods ------------------------------------------------------


def test_every_method_is_registered_with_a_summary() -> None:
    assert set(FIRST_JUDGED) <= set(methods.names())
    assert methods.DEFAULT in methods.names()
    for name in FIRST_JUDGED:
        method = methods.by_name(name)
        assert method.name == name and method.summary and "\n" not in method.summary


def test_an_unknown_method_names_those_there_are() -> None:
    with pytest.raises(KeyError, match=r"there are: .*ears-c1.*ewma"):
        methods.by_name("shewhart")


def test_a_method_built_with_other_numbers() -> None:
    method = methods.configured("ewma", {"baseline": 14.0, "threshold": 3})
    assert method == ewma.Ewma(baseline=14, threshold=3.0)
    assert isinstance(method, ewma.Ewma) and isinstance(method.baseline, int)
    assert methods.by_name("ewma") == ewma.Ewma()  # the registered one is unchanged


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window": 3}, "ewma.window: not a parameter; there are: baseline, guard"),
        ({"baseline": 2.5}, "ewma.baseline: 2.5 is not a whole number"),
        ({"baseline": True}, "ewma.baseline: True is not a number"),
        ({"threshold": "3"}, "ewma.threshold: '3' is not a number"),
        ({"smoothing": 1.5}, r"ewma.smoothing: 1.5 is not in \(0, 1\]"),
        ({"baseline": 1}, "ewma.baseline: 1 must be 2 or more"),
    ],
)
def test_bad_numbers_are_refused_by_name(params: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        methods.configured("ewma", params)


def test_baselines_in_chunks_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = lively(300, seed=2)
    whole = baseline.trailing(counts, length=28, guard=2)
    monkeypatch.setattr(baseline, "CHUNK", 7)  # 270 baselines in 39 chunks, the last short
    chunked = baseline.trailing(counts, length=28, guard=2)
    for a, b in zip(whole, chunked, strict=True):
        assert np.array_equal(a, b, equal_nan=True)
