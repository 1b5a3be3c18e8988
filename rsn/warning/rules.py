"""Single-event rules: where one report is warning enough, without waiting for a series.

A count detector needs a baseline, but some events need none: one report of a
tsunami, or of a critical attack, should warn at once. A rule says "any report of
category X (or of a category below it, such as X.something) with severity S or above
is enough". Rules are data, from a configuration file, so a region chooses its own:

    - {category: disaster.tsunami, min_severity: medium}
    - {category: terrorism, min_severity: critical}

`parse` checks them (against the node's category ids) before anything uses them;
`first_match` is the predicate the detector asks of each report.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import get_args

from rsn.errors import ValidationError
from rsn.reports.schemas import Severity

SEVERITIES: tuple[str, ...] = get_args(Severity)  # lowest first
MAX_RULES = 1000  # rules in one configuration


@dataclass(frozen=True)
class EventRule:
    """Any report of `category`, or below it, at `min_severity` or above warns on its own."""

    category: str
    min_severity: Severity

    def matches(self, *, category: str, severity: str | None) -> bool:
        """Whether a report of this category and severity is enough by itself."""
        within = category == self.category or category.startswith(self.category + ".")
        serious = severity in SEVERITIES and rank(severity) >= rank(self.min_severity)
        return within and serious


def first_match(
    rules: Sequence[EventRule], *, category: str, severity: str | None
) -> EventRule | None:
    """The first rule a report satisfies, or None: the report warns only through counts."""
    return next((r for r in rules if r.matches(category=category, severity=severity)), None)


def parse(data: object, *, known: Collection[str], field: str = "rules") -> list[EventRule]:
    """Rules from configuration data (a list of mappings), each problem named by its place."""
    if not isinstance(data, list):
        raise ValidationError.field(field, "must be a list of rules")
    if len(data) > MAX_RULES:
        raise ValidationError.field(field, f"has {len(data)} rules; at most {MAX_RULES}")
    return [_rule(f"{field}[{i}]", item, known) for i, item in enumerate(data)]


def _rule(where: str, item: object, known: Collection[str]) -> EventRule:
    if not isinstance(item, dict):
        raise ValidationError.field(where, "must be a mapping of category and min_severity")
    extra = sorted(str(k) for k in item if k not in {"category", "min_severity"})
    if extra:
        raise ValidationError.field(f"{where}.{extra[0]}", "is not a field of a rule")
    category, severity = item.get("category"), item.get("min_severity")
    if not isinstance(category, str) or category not in known:
        raise ValidationError.field(f"{where}.category", f"{category!r} is not a known category")
    if severity not in SEVERITIES:
        choices = ", ".join(SEVERITIES)
        raise ValidationError.field(
            f"{where}.min_severity", f"{severity!r} is not one of {choices}"
        )
    return EventRule(category=category, min_severity=severity)


def rank(severity: str) -> int:
    """A severity's place, lowest first."""
    return SEVERITIES.index(severity)
