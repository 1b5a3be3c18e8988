"""Detection quality of the early-warning methods on weekly count series (issue 14).

    .venv/bin/python bench/warning_quality.py [--seeds-dev 1-10] [--seeds-test 101-110]
                                              [--json FILE] [--river PATH]

Series. Per seed, 96 weekly series (12 states x 8 categories) of 260 weeks: a base mean
log-uniform in [0.5, 50], a yearly sine seasonality (amplitude uniform in [0, 0.3],
random phase), negative-binomial counts (size uniform in [2, 20]; variance mu + mu^2/size).
In the last 104 weeks, a Poisson(1) number of outbreaks per series, each starting at a
uniform week, lasting 1-6 weeks and adding Poisson(m * SD * sqrt(d)) + 1 events (m one of
2, 4, 8; SD the standard deviation of the series at its base mean; d the duration) spread
over its weeks as a bell (a normal curve centred on the outbreak, SD d/4). Its weeks
are labelled as outbreak weeks (up to the series' end).

Judging, on the last 104 weeks only (the weeks before are every method's history):
- threshold: tuned per method on the development seeds so that 1% of the outbreak-free
  weeks alarm (score > threshold; NaN never alarms), then used unchanged on the test seeds;
- precision: alarm-weeks inside an outbreak over all alarm-weeks;
- event recall: outbreaks with an alarm from their first week to one week after their last;
- delay: weeks from an outbreak's start to its first alarm in that span (d + 1 if missed);
- F1 from precision and event recall.

Methods, side by side in one run: the ORACLE (told each series' true mean, seasonality
included, and size: -log10 of the negative-binomial mid-p upper tail of the week's count
or of the last two weeks' sum, whichever is smaller; a third week, tried, did worse);
three baselines written here without the node's code, each against its own past with a
2-week guard and an SD floored at 0.5 (a plain EWMA chart, lambda 0.4, on the last 52
weeks; EARS-C2 on 7 weeks; a standardized CUSUM, k 0.5, never reset); and every method
registered in `rsn.warning.methods` at run time (its modules are imported; a score is
read as growing with the evidence of an outbreak): its own scores at the bench's
threshold, and, as `name @own`, its own alarms, i.e. its frozen default threshold.
Target for a node method: F1 within 0.05 of the oracle's, delay within 0.3 weeks of it.
ms/series is CPU time per 260-week series on the test seeds.

Real series: the labelled change-point series of the Turing Change Point Dataset (TCPD)
that the `river` package ships (`river/drift/datasets`), read from an installed river or
from its wheel (`--river`, or `bench/results/river-*.whl`; fetch one with
`pip download river==0.26.1 --no-deps -d bench/results`). Apple and Brent are left out:
their annotations index a subsample of the file river ships. Each column of a
multivariate series is a series of its own, each annotated change point (union of the
annotators, those within 5 points of each other merged) an event from its first point
to 5 points (TCPD's margin) after its last, judged as above with the thresholds
tuned on the synthetic development seeds. The methods look for increases only, so a
change point downwards is missed by all of them alike.
"""

from __future__ import annotations

import argparse
import ast
import csv
import importlib
import importlib.util
import io
import json
import math
import pkgutil
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rsn.warning.methods as methods_package
from rsn.warning import methods

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

console = Console(width=None if sys.stdout.isatty() else 160)

WEEKS = 260
JUDGED = 104  # the last weeks: where outbreaks happen and quality is measured
SERIES_PER_SEED = 12 * 8  # states x categories
YEAR = 365.25 / 7  # weeks
FALSE_ALARMS = 0.01
TARGET_F1, TARGET_DELAY = 0.05, 0.3  # a node method's most distance from the oracle
TCPD_MARGIN = 5  # points after a change point that still catch it (TCPD's margin)
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Event:
    """An outbreak (or an annotated change point): the weeks it covers, as drawn."""

    start: int
    duration: int


@dataclass
class Series:
    """One count series with the truth the oracle is told and the judge reads."""

    counts: Floats
    events: list[Event]
    judged_from: int  # the first period judged
    mean: Floats | None = None  # the true mean per period, outbreaks excluded
    size: float = math.inf

    @property
    def labelled(self) -> Bools:
        """Periods inside an event."""
        inside = np.zeros(len(self.counts), dtype=bool)
        for e in self.events:
            inside[e.start : e.start + e.duration] = True
        return inside


# -- the synthetic series ------------------------------------------------------------------


def generate(seed: int) -> list[Series]:
    """The 96 series of one seed."""
    rng = np.random.default_rng(seed)
    return [synthetic(rng) for _ in range(SERIES_PER_SEED)]


def synthetic(rng: np.random.Generator) -> Series:
    base = math.exp(rng.uniform(math.log(0.5), math.log(50.0)))
    amplitude, phase = rng.uniform(0.0, 0.3), rng.uniform(0.0, 2 * math.pi)
    size = rng.uniform(2.0, 20.0)
    mean = base * (1 + amplitude * np.sin(2 * np.pi * np.arange(WEEKS) / YEAR + phase))
    counts = rng.negative_binomial(size, size / (size + mean)).astype(np.float64)
    sd = math.sqrt(base + base**2 / size)
    events = []
    for _ in range(rng.poisson(1.0)):
        start, duration = int(rng.integers(WEEKS - JUDGED, WEEKS)), int(rng.integers(1, 7))
        m = rng.choice([2, 4, 8])
        extra = rng.poisson(m * sd * math.sqrt(duration)) + 1
        spread = rng.multinomial(extra, bell(duration))[: WEEKS - start]
        counts[start : start + len(spread)] += spread
        events.append(Event(start, duration))
    return Series(counts, events, WEEKS - JUDGED, mean, size)


def bell(duration: int) -> Floats:
    """Shares of an outbreak's events per week: a normal curve over its weeks."""
    middle = np.arange(duration) + 0.5
    weights = np.exp(-0.5 * ((middle - duration / 2) / (duration / 4)) ** 2)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


# -- the baselines and the oracle (independent of the node's code) --------------------------


def trailing(x: Floats, length: int, guard: int, least: int) -> tuple[Floats, Floats]:
    """Mean and SD of x over [t - guard - length, t - guard) per t; NaN under `least` values."""
    n = len(x)
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    t = np.arange(n)
    hi = np.clip(t - guard, 0, n)
    lo = np.clip(t - guard - length, 0, n)
    k = (hi - lo).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (c1[hi] - c1[lo]) / k
        var = (c2[hi] - c2[lo] - k * mean**2) / (k - 1)
    ok = k >= least
    return np.where(ok, mean, np.nan), np.where(ok, np.sqrt(np.maximum(var, 0.0)), np.nan)


def ears_c2(x: Floats) -> Floats:
    """EARS-C2: today against the 7 weeks before the last 2 (SD floored at 0.5)."""
    mean, sd = trailing(x, 7, 2, 7)
    return (x - mean) / np.maximum(sd, 0.5)


def ewma(x: Floats, lam: float = 0.4) -> Floats:
    """A plain EWMA chart: the smoothed count against the past year (2 weeks' guard)."""
    mean, sd = trailing(x, 52, 2, 8)
    smooth = np.empty_like(x)
    level = x[0]
    for t, value in enumerate(x):
        level = lam * value + (1 - lam) * level
        smooth[t] = level
    return (smooth - mean) / (np.maximum(sd, 0.5) * math.sqrt(lam / (2 - lam)))


def cusum(x: Floats, k: float = 0.5) -> Floats:
    """A standardized CUSUM against the past year (2 weeks' guard), never reset."""
    mean, sd = trailing(x, 52, 2, 8)
    z = (x - mean) / np.maximum(sd, 0.5)
    out = np.full_like(x, np.nan)
    total = 0.0
    for t, value in enumerate(z):
        if not math.isnan(value):
            total = max(0.0, total + value - k)
            out[t] = total
    return out


def nb_surprise(observed: Floats, mean: Floats, var: Floats) -> Floats:
    """-log10 of the mid-p upper tail of observed under a NB (or Poisson) of that mean, var."""
    over = np.maximum(var - mean, 1e-9 * mean)
    size = mean**2 / over
    p = size / (size + mean)
    x = np.floor(observed)
    log_tail = np.logaddexp(
        stats.nbinom.logsf(x, size, p), stats.nbinom.logpmf(x, size, p) - math.log(2)
    )
    return np.asarray(-log_tail / math.log(10), dtype=np.float64)


def window_sum(x: Floats, width: int) -> Floats:
    """Sum of x over the `width` periods ending at t (NaN before)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    out = np.full(len(x), np.nan)
    out[width - 1 :] = c[width:] - c[:-width]
    return out


def oracle(series: Series, widths: Sequence[int] = (1, 2)) -> Floats:
    """The ceiling: NB tail of the week's count and of the last 2 weeks' sum, true model."""
    assert series.mean is not None
    mu, size = series.mean, series.size
    best = np.full(len(mu), -np.inf)
    for w in widths:
        m, v = window_sum(mu, w), window_sum(mu + mu**2 / size, w)
        s = window_sum(series.counts, w)
        ok = ~np.isnan(s)
        score = np.full(len(mu), -np.inf)
        score[ok] = nb_surprise(s[ok], m[ok], v[ok])
        best = np.maximum(best, score)
    return best


# -- the contenders -------------------------------------------------------------------------


@dataclass
class Contender:
    """A detector under test: its verdict on a series (None where it cannot judge it).

    The bench's own detectors only score (their alarms are the bench's threshold); a
    node method's verdict also carries the alarms of its own default threshold.
    """

    name: str
    run: Callable[[Series], methods.Scores | None]
    kind: str  # "oracle", "baseline" or "node"


def registered() -> list[methods.Method]:
    """Every method of `rsn.warning.methods`: its modules are imported so that they register."""
    for info in pkgutil.iter_modules(methods_package.__path__):
        importlib.import_module(f"{methods_package.__name__}.{info.name}")
    return [methods.by_name(name) for name in methods.names()]


def contenders() -> list[Contender]:
    found = [
        Contender("ORACLE", lambda s: scored(oracle(s)) if s.mean is not None else None, "oracle"),
        Contender("EWMA (bench)", lambda s: scored(ewma(s.counts)), "baseline"),
        Contender("EARS-C2 (bench)", lambda s: scored(ears_c2(s.counts)), "baseline"),
        Contender("CUSUM (bench)", lambda s: scored(cusum(s.counts)), "baseline"),
    ]
    for method in registered():
        found.append(Contender(method.name, runner(method), "node"))
    return found


def scored(score: Floats) -> methods.Scores:
    """A bench detector's scores (it raises no alarm of its own)."""
    return methods.Scores(score, np.zeros(len(score), dtype=bool))


def runner(method: methods.Method) -> Callable[[Series], methods.Scores]:
    return lambda s: method.run(s.counts)


# -- judging --------------------------------------------------------------------------------


@dataclass
class Quality:
    false_alarms: float
    precision: float
    recall: float
    f1: float
    delay: float
    alarms: int
    events: int


@dataclass
class Scored:
    """A contender's scores and own alarms on a set of series, and how long they took."""

    scores: list[Floats | None]
    alarms: list[Bools | None]
    ms_per_series: float


def score_all(contender: Contender, series: list[Series]) -> Scored:
    started = time.process_time()
    verdicts = [contender.run(s) for s in series]
    took = (time.process_time() - started) * 1000 / max(len(series), 1)
    return Scored(
        [None if v is None else v.score for v in verdicts],
        [None if v is None else v.alarm for v in verdicts],
        took,
    )


def quiet_scores(series: list[Series], scores: list[Floats | None]) -> Floats:
    """Scores of the judged outbreak-free periods (NaN as -inf: never an alarm)."""
    parts = [
        np.nan_to_num(sc[s.judged_from :][~s.labelled[s.judged_from :]], nan=-np.inf)
        for s, sc in zip(series, scores, strict=True)
        if sc is not None
    ]
    return np.concatenate(parts) if parts else np.empty(0)


def tune(series: list[Series], scores: list[Floats | None]) -> float:
    """The least threshold at which at most 1% of the outbreak-free weeks alarm."""
    quiet = np.sort(quiet_scores(series, scores))
    if len(quiet) == 0:
        return math.nan
    allowed = int(FALSE_ALARMS * len(quiet))
    return float(quiet[len(quiet) - allowed - 1])


def judge(series: list[Series], alarms: list[Bools | None]) -> Quality:
    false, quiet, hits, alarmed, caught, delays = 0, 0, 0, 0, 0, []
    for s, alarm in zip(series, alarms, strict=True):
        if alarm is None:
            continue
        a, inside = alarm[s.judged_from :], s.labelled[s.judged_from :]
        false += int((a & ~inside).sum())
        quiet += int((~inside).sum())
        hits += int((a & inside).sum())
        alarmed += int(a.sum())
        for e in s.events:
            span = alarm[e.start : e.start + e.duration + 1]
            caught += int(span.any())
            delays.append(int(np.argmax(span)) if span.any() else e.duration + 1)
    precision = hits / alarmed if alarmed else 0.0
    recall = caught / len(delays) if delays else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(
        false / quiet if quiet else math.nan,
        precision,
        recall,
        f1,
        float(np.mean(delays)) if delays else math.nan,
        alarmed,
        len(delays),
    )


def alarms_at(scores: list[Floats | None], threshold: float) -> list[Bools | None]:
    return [None if sc is None else np.nan_to_num(sc, nan=-np.inf) > threshold for sc in scores]


# -- TCPD, as river ships it ----------------------------------------------------------------

TCPD = {  # file in river/drift/datasets -> its columns; annotations read from its module
    "airline_passengers": ["Total Passengers"],
    "bitcoin": ["price"],
    "occupancy": ["V1", "V2", "V3", "V4"],
    "run_log": ["Pace", "Distance"],
    "uk_coal_employment": ["Employment"],
}


def river_files(where: Path | None) -> Callable[[str], str] | None:
    """A reader of river's dataset files: an installed river, a wheel, or None."""
    wheels = [where] if where and where.suffix == ".whl" else sorted(RESULTS.glob("river-*.whl"))
    if where and where.is_dir():
        return lambda name: (where / name).read_text(encoding="utf-8")
    if wheels and wheels[-1].exists():
        wheel = zipfile.ZipFile(wheels[-1])
        return lambda name: wheel.read(f"river/drift/datasets/{name}").decode("utf-8")
    spec = importlib.util.find_spec("river")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "drift" / "datasets"
    return lambda name: (folder / name).read_text(encoding="utf-8")


def annotations(source: str) -> list[int]:
    """The union of the annotators' change points in a river dataset module."""
    call = ast.parse(source)
    for node in ast.walk(call):
        if isinstance(node, ast.keyword) and node.arg == "annotations":
            given = ast.literal_eval(node.value)
            return sorted({int(p) for points in given.values() for p in points})
    raise ValueError("no annotations= in a river dataset module")


def tcpd(read: Callable[[str], str]) -> list[Series]:
    """One series per column of each kept TCPD file, its change points as 5-point events."""
    found = []
    for name, columns in TCPD.items():
        points = annotations(read(f"{name}.py"))
        rows = list(csv.DictReader(io.StringIO(read(f"{name}.csv"))))
        for column in columns:
            values = np.array([float(r[column]) for r in rows])
            found.append(Series(values, merged([p for p in points if p < len(values)]), 0))
    return found


def merged(points: list[int]) -> list[Event]:
    """Change points closer than the margin (annotators disagreeing by a few) as one event."""
    events: list[Event] = []
    for p in points:
        if events and p <= events[-1].start + events[-1].duration:
            first = events[-1].start
            events[-1] = Event(first, p - first + TCPD_MARGIN)
        else:
            events.append(Event(p, TCPD_MARGIN))
    return events


# -- the run --------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    kind: str
    threshold: float
    dev: Quality
    test: Quality
    ms_per_series: float
    tcpd: Quality | None = None
    note: str = ""


def seeds(text: str) -> list[int]:
    """'1-5' or '1,3,8-9' as a list of seeds."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def evaluate(
    contender: Contender, dev: list[Series], test: list[Series], real: list[Series]
) -> list[Row]:
    on_dev, on_test = score_all(contender, dev), score_all(contender, test)
    threshold = tune(dev, on_dev.scores)
    row = Row(
        contender.name,
        contender.kind,
        threshold,
        judge(dev, alarms_at(on_dev.scores, threshold)),
        judge(test, alarms_at(on_test.scores, threshold)),
        on_test.ms_per_series,
    )
    on_real = score_all(contender, real)
    if real and any(sc is not None for sc in on_real.scores):
        row.tcpd = judge(real, alarms_at(on_real.scores, threshold))
    if contender.kind != "node":
        return [row]
    own = Row(
        f"{contender.name} @own",
        "node",
        math.nan,
        judge(dev, on_dev.alarms),
        judge(test, on_test.alarms),
        on_test.ms_per_series,
        judge(real, on_real.alarms) if real else None,
        "its own alarms (frozen default threshold)",
    )
    return [row, own]


def show(rows: list[Row], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name in (
        "method",
        "threshold",
        "FA dev",
        "FA test",
        "precision",
        "recall",
        "F1",
        "delay (wk)",
        "ΔF1 / Δdelay vs oracle",
        "TCPD P / R / F1",
        "ms/series",
    ):
        table.add_column(name, justify="left" if name == "method" else "right")
    ceiling = next((r.test for r in rows if r.kind == "oracle"), None)
    for r in rows:
        gap = ""
        if ceiling is not None and r.kind != "oracle":
            df1, ddelay = r.test.f1 - ceiling.f1, r.test.delay - ceiling.delay
            gap = f"{df1:+.3f} / {ddelay:+.2f}"
            if r.kind == "node" and not math.isnan(r.threshold):
                met = df1 >= -TARGET_F1 and ddelay <= TARGET_DELAY
                gap += " [green]target met[/green]" if met else " [red]target missed[/red]"
        real = (
            "—"
            if r.tcpd is None
            else (f"{r.tcpd.precision:.2f} / {r.tcpd.recall:.2f} / {r.tcpd.f1:.2f}")
        )
        table.add_row(
            r.name,
            "own" if math.isnan(r.threshold) else f"{r.threshold:.3g}",
            f"{r.dev.false_alarms:.2%}",
            f"{r.test.false_alarms:.2%}",
            f"{r.test.precision:.3f}",
            f"{r.test.recall:.3f}",
            f"{r.test.f1:.3f}",
            f"{r.test.delay:.2f}",
            gap,
            real,
            f"{r.ms_per_series:.1f}",
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds-dev", default="1-10", help="seeds that tune thresholds (1-10)")
    parser.add_argument("--seeds-test", default="101-110", help="seeds judged (101-110)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--river",
        type=Path,
        help="a river wheel, or river/drift/datasets; default: bench/results/river-*.whl, "
        "else an installed river",
    )
    parser.add_argument("--no-tcpd", action="store_true", help="skip the TCPD series")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    dev_seeds, test_seeds = seeds(args.seeds_dev), seeds(args.seeds_test)
    if set(dev_seeds) & set(test_seeds):
        parser.error("--seeds-dev and --seeds-test must not share a seed")
    dev = [s for seed in dev_seeds for s in generate(seed)]
    test = [s for seed in test_seeds for s in generate(seed)]
    real: list[Series] = []
    if not args.no_tcpd:
        read = river_files(args.river)
        if read is None:
            console.print(
                "[yellow]TCPD skipped: no river found; "
                "pip download river==0.26.1 --no-deps -d bench/results[/yellow]"
            )
        else:
            real = tcpd(read)
    rows = [row for c in contenders() for row in evaluate(c, dev, test, real)]
    took = time.perf_counter() - started
    events = sum(len(s.events) for s in test)
    show(
        rows,
        f"Early-warning quality at {FALSE_ALARMS:.0%} false alarms — dev seeds {args.seeds_dev} "
        f"({len(dev)} series), test seeds {args.seeds_test} ({len(test)} series, "
        f"{events} outbreaks); TCPD: {len(real)} series, "
        f"{sum(len(s.events) for s in real)} change-point events ({took:.0f} s)",
    )
    if args.json:
        out = {
            "seeds_dev": dev_seeds,
            "seeds_test": test_seeds,
            "false_alarm_target": FALSE_ALARMS,
            "seconds": took,
            "tcpd_series": len(real),
            "rows": [asdict(r) for r in rows],
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
