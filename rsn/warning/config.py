"""How early warning judges each category: its method, and which reports warn alone.

A piracy series and an atrocity-risk series should not be judged alike: the first has
a season and a steady baseline, the second is rare and grave, and an analyst would
rather look at a small rise than miss it. So the method, its numbers and the minimum
baseline are data, per category, in `rsn/registry/data/detection.yaml` beside the
taxonomy and versioned like it; so are the single-event rules (one tsunami report is
warning enough).

A region pack overrides any part in its `detection:` section, of the same shape: its
`default` and each category it lists replace the shipped ones, and its `events`, when
given, replace the shipped list. Packs apply in the order they were loaded, as their
categories do. Every problem is a `DataFileError` naming the file and the field, found
when the configuration is read, never half-way through a detection run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn.errors import ValidationError
from rsn.observables.normalize import OBSERVABLE_TYPES
from rsn.registry import catalog
from rsn.registry.models import RegionPackRecord
from rsn.registry.taxonomy import DataFileError, parse_yaml, validate_file
from rsn.warning import rules

if TYPE_CHECKING:
    from rsn.warning.methods import Method

MAX_CATEGORIES = 500  # categories configured in one file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Judge(_Strict):
    method: str = Field(min_length=1, max_length=40)
    params: dict[str, float | int] = Field(default_factory=dict, max_length=20)
    min_events: int = Field(default=10, ge=0, le=10_000)


class ObservableRule(_Strict):
    """The same observable in live reports from organizations of `min_states` member
    states or more, occurred within `window_days`. A value more than `common` reports
    carry (a public resolver's address) is noise, as it is to correlation."""

    window_days: int = Field(default=30, ge=1, le=366)
    min_states: int = Field(default=2, ge=2, le=50)
    common: int = Field(default=20, ge=2, le=10_000)


class MovementRule(_Strict):
    """An observable of these types (what moves: a vessel, a phone, a wallet) reported
    happening in one member state, then another, within `window_days`."""

    window_days: int = Field(default=60, ge=1, le=366)
    types: tuple[str, ...] = Field(
        default=("vessel-imo", "vessel-mmsi", "phone-number", "crypto-wallet"), max_length=20
    )
    common: int = Field(default=20, ge=2, le=10_000)

    @field_validator("types")
    @classmethod
    def _known(cls, types: tuple[str, ...]) -> tuple[str, ...]:
        for t in types:
            if t not in OBSERVABLE_TYPES:
                raise ValueError(f"'{t}' is not an observable type ({', '.join(OBSERVABLE_TYPES)})")
        return types


class SeaRule(_Strict):
    """Located reports in one sea area: `min_reports` or more in the last `window_days`,
    and `ratio` times the mean of the `baseline_windows` windows before (Trendfinder's
    rule: a cluster is more than the place usually has)."""

    window_days: int = Field(default=7, ge=1, le=92)
    min_reports: int = Field(default=5, ge=2, le=10_000)
    baseline_windows: int = Field(default=12, ge=1, le=52)
    ratio: float = Field(default=2.0, ge=1.0, le=100.0)


class BorderRule(SeaRule):
    """As `SeaRule`, for located reports within `distance_km` of a land border."""

    distance_km: float = Field(default=25.0, gt=0, le=200)


class SilenceRule(_Strict):
    """An organization that reports regularly (`min_reports` in `history_days`) falls
    silent for longer than its own rate makes likely: the chance of so long a gap, had it
    kept its rate, is under `p`, the gap is longer than any in its history, and at least
    `min_hours`. Judged on the last `last` reports a profile reads of it."""

    history_days: int = Field(default=180, ge=7, le=1096)
    min_reports: int = Field(default=20, ge=3, le=10_000)
    last: int = Field(default=50, ge=3, le=1000)
    p: float = Field(default=0.001, gt=0, lt=0.5)
    min_hours: float = Field(default=48.0, ge=1, le=24 * 365)


class _CrossBorder(_Strict):
    observable: ObservableRule | None = None
    movement: MovementRule | None = None
    border: BorderRule | None = None
    sea: SeaRule | None = None


class _Section(_Strict):
    """A file's or a pack's settings; in a pack every part is optional."""

    default: _Judge | None = None
    categories: dict[str, _Judge] = Field(default_factory=dict, max_length=MAX_CATEGORIES)
    events: list[dict[str, Any]] | None = Field(default=None, max_length=rules.MAX_RULES)
    cross_border: _CrossBorder | None = None
    silence: SilenceRule | None = None


class _File(_Section):
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    default: _Judge  # the shipped file says what every series gets


class _Pack(_Strict):
    detection: _Section


@dataclass(frozen=True)
class Judge:
    """How a series is judged: the method, with its numbers, and the baseline it needs."""

    method: Method
    min_events: int


@dataclass(frozen=True)
class Detection:
    """The node's settings: a judge per configured category, and the single-event rules."""

    version: str
    default: Judge
    categories: Mapping[str, Judge]
    events: tuple[rules.EventRule, ...]
    observable: ObservableRule
    movement: MovementRule
    border: BorderRule
    sea: SeaRule
    silence: SilenceRule
    sources: tuple[str, ...]  # the shipped file, then each pack that overrides it

    def judge(self, category: str) -> Judge:
        """The most specific configured category at or above this one decides."""
        parts = category.split(".")
        for depth in range(len(parts), 0, -1):
            found = self.categories.get(".".join(parts[:depth]))
            if found is not None:
                return found
        return self.default


def _read_shipped() -> tuple[dict[str, Any], str]:
    resource = resources.files("rsn.registry") / "data" / "detection.yaml"
    source = str(resource)
    return parse_yaml(resource.read_text(encoding="utf-8"), source), source


def _judge(raw: _Judge, source: str, field: str) -> Judge:
    from rsn.warning import methods  # scipy loads with the first detection, not at start

    try:
        method = methods.configured(raw.method, raw.params)
    except KeyError as exc:
        raise DataFileError.at(source, f"{field}.method", str(exc.args[0])) from None
    except ValueError as exc:
        raise DataFileError.at(source, f"{field}.params", str(exc)) from None
    return Judge(method, raw.min_events)


def _merge(
    found: dict[str, Any],
    section: _Section,
    source: str,
    known: frozenset[str],
    *,
    prefix: str = "",
) -> None:
    """Lay one file's or pack's section over what is found so far, checking each part."""
    if section.default is not None:
        found["default"] = _judge(section.default, source, f"{prefix}default")
    for category, raw in section.categories.items():
        field = f"{prefix}categories.{category}"
        if category not in known:
            raise DataFileError.at(source, field, f"'{category}' is not a known category")
        found["categories"][category] = _judge(raw, source, field)
    if section.cross_border is not None:
        for part in ("observable", "movement", "border", "sea"):
            rule = getattr(section.cross_border, part)
            if rule is not None:
                found[part] = rule
    if section.silence is not None:
        found["silence"] = section.silence
    if section.events is not None:
        try:
            found["events"] = rules.parse(section.events, known=known, field=f"{prefix}events")
        except ValidationError as exc:
            raise DataFileError(source, exc.problems) from None


def build(
    shipped: Mapping[str, Any],
    packs: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    known: frozenset[str],
    source: str = "detection.yaml",
) -> Detection:
    """The settings from the shipped file's data and each pack's `detection:` data, in
    order, checked against the node's categories."""
    base = validate_file(_File, shipped, source)
    found: dict[str, Any] = {
        "categories": {},
        "events": [],
        "observable": ObservableRule(),
        "movement": MovementRule(),
        "border": BorderRule(),
        "sea": SeaRule(),
        "silence": SilenceRule(),
    }
    _merge(found, base, source, known)
    sources = [source]
    for name, data in packs:
        pack_source = f"region pack '{name}'"
        section = validate_file(_Pack, {"detection": data}, pack_source).detection
        _merge(found, section, pack_source, known, prefix="detection.")
        sources.append(pack_source)
    return Detection(
        version=base.version,
        default=found["default"],
        categories=dict(found["categories"]),
        events=tuple(found["events"]),
        observable=found["observable"],
        movement=found["movement"],
        border=found["border"],
        sea=found["sea"],
        silence=found["silence"],
        sources=tuple(sources),
    )


_BUILT: dict[str, Detection] = {}


def for_node(session: Session) -> Detection:
    """The settings in force: the shipped file under the loaded packs' overrides.

    Built once per content of the loaded packs' sections: every detection run asks,
    packs change rarely.
    """
    order = (RegionPackRecord.loaded_at, RegionPackRecord.slug)
    contents = session.execute(
        select(RegionPackRecord.slug, RegionPackRecord.content).order_by(*order)
    )
    packs = [(slug, c["detection"]) for slug, c in contents if c.get("detection")]
    known = catalog.node_taxonomy(session).ids()
    stamp = json.dumps([packs, sorted(known)], sort_keys=True)
    built = _BUILT.get(stamp)
    if built is None:
        shipped, source = _read_shipped()
        built = build(shipped, packs, known=known, source=source)
        _BUILT.clear()  # one node per process: only the newest set is worth keeping
        _BUILT[stamp] = built
    return built


def check_pack(detection: Mapping[str, Any] | None, name: str, known: frozenset[str]) -> None:
    """Refuse a pack whose `detection:` section would not build (before it is loaded)."""
    if not detection:
        return
    shipped, source = _read_shipped()
    build(shipped, [(name, detection)], known=known, source=source)


__all__ = [
    "BorderRule",
    "Detection",
    "Judge",
    "MovementRule",
    "ObservableRule",
    "SeaRule",
    "SilenceRule",
    "build",
    "check_pack",
    "for_node",
]
