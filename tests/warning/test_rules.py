"""Single-event rules: one report of a category at a severity is warning enough."""

from __future__ import annotations

import pytest

from rsn.errors import ValidationError
from rsn.registry.taxonomy import load_base
from rsn.warning import rules
from rsn.warning.rules import EventRule

KNOWN = load_base().ids()


@pytest.fixture
def configured() -> list[EventRule]:
    return rules.parse(
        [
            {"category": "disaster.tsunami", "min_severity": "medium"},
            {"category": "terrorism", "min_severity": "critical"},
        ],
        known=KNOWN,
    )


@pytest.mark.parametrize(
    ("category", "severity", "warns"),
    [
        ("disaster.tsunami", "medium", True),  # at the severity
        ("disaster.tsunami", "critical", True),  # above it
        ("disaster.tsunami", "low", False),  # below it
        ("disaster.flood", "critical", False),  # a sibling category
        ("disaster", "critical", False),  # the parent is not covered
        ("terrorism.attack", "critical", True),  # a sub-category is
        ("terrorism.attack", "high", False),
        ("terrorism", "critical", True),
        ("terrorism-like", "critical", False),  # a prefix of the id is not a sub-category
        ("disaster.tsunami", None, False),  # no severity given: not serious enough
    ],
)
def test_a_report_warns_by_itself(
    configured: list[EventRule], category: str, severity: str | None, warns: bool
) -> None:
    match = rules.first_match(configured, category=category, severity=severity)
    assert (match is not None) == warns


def test_the_first_matching_rule_is_named() -> None:
    both = rules.parse(
        [
            {"category": "terrorism", "min_severity": "high"},
            {"category": "terrorism.attack", "min_severity": "low"},
        ],
        known=KNOWN,
    )
    assert rules.first_match(both, category="terrorism.attack", severity="low") == both[1]
    assert rules.first_match(both, category="terrorism.attack", severity="high") == both[0]
    assert rules.first_match([], category="terrorism", severity="critical") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"category": "terrorism"}, "rules: must be a list of rules"),
        (["terrorism"], r"rules\[0\]: must be a mapping"),
        ([{"category": "piracy", "min_severity": "high"}], r"rules\[0\].category: 'piracy' is not"),
        ([{"min_severity": "high"}], r"rules\[0\].category: None is not a known category"),
        (
            [{"category": "terrorism", "min_severity": "high"}, {"category": "cyber"}],
            r"rules\[1\].min_severity: None is not one of low, medium, high, critical",
        ),
        (
            [{"category": "cyber", "min_severity": "severe"}],
            r"rules\[0\].min_severity: 'severe' is not one of",
        ),
        (
            [{"category": "cyber", "min_severity": "high", "max_severity": "low"}],
            r"rules\[0\].max_severity: is not a field of a rule",
        ),
        ([{"category": "cyber", "min_severity": "high"}] * 1001, "has 1001 rules; at most 1000"),
    ],
)
def test_bad_rules_are_refused_by_place(data: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rules.parse(data, known=KNOWN)
