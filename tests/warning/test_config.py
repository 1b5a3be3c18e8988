"""Early warning's settings: the shipped file, a region pack's overrides, and every
mistake in either named by file and field before a detection run uses it."""

from __future__ import annotations

from typing import Any

import pytest

from rsn.registry import catalog, regionpacks, taxonomy
from rsn.registry.taxonomy import DataFileError
from rsn.store import Database
from rsn.warning import config, rules
from rsn.warning.methods import weekly

KNOWN = taxonomy.load_base().ids()


def shipped() -> dict[str, Any]:
    data, _ = config._read_shipped()
    return data


def built(*packs: tuple[str, dict[str, Any]]) -> config.Detection:
    return config.build(shipped(), list(packs), known=KNOWN)


def test_the_shipped_settings_judge_every_category() -> None:
    settings = built()
    assert settings.version.count(".") == 2
    default = settings.default
    assert default.method.name == "weekly" and default.min_events == 10
    assert settings.judge("cyber.attack") == default  # nothing configured: the default
    grave = settings.judge("terrorism.attack")  # configured one level up
    assert grave == settings.judge("terrorism")
    assert isinstance(grave.method, weekly.Weekly)
    assert grave.method.threshold < default.method.threshold  # type: ignore[attr-defined]
    assert grave.min_events < default.min_events
    tsunami = rules.first_match(settings.events, category="disaster.tsunami", severity="low")
    assert tsunami is not None
    assert rules.first_match(settings.events, category="cyber.attack", severity="critical") is None


def test_a_pack_overrides_what_it_names_and_keeps_the_rest() -> None:
    pack = {
        "default": {"method": "ewma", "min_events": 20},
        "categories": {
            "maritime.piracy": {"method": "negbin-cusum", "params": {"threshold": 5.5}},
        },
        "events": [{"category": "maritime.piracy", "min_severity": "critical"}],
    }
    settings = built(("bimstec", pack))
    assert settings.default.method.name == "ewma" and settings.default.min_events == 20
    piracy = settings.judge("maritime.piracy")
    assert piracy.method.name == "negbin-cusum"
    assert piracy.method.threshold == 5.5  # type: ignore[attr-defined]
    assert piracy.min_events == 10  # the field's own default, not the pack's default
    assert settings.judge("terrorism").method.name == "weekly"  # the shipped category stays
    assert [r.category for r in settings.events] == ["maritime.piracy"]  # events replaced
    assert settings.sources[-1] == "region pack 'bimstec'"
    assert settings.observable.window_days == 30 and settings.border.distance_km == 25
    tighter = built(("bimstec", {"cross_border": {"sea": {"min_reports": 9}}}))
    assert tighter.sea.min_reports == 9 and tighter.sea.window_days == 7
    assert tighter.border == settings.border  # an untouched rule keeps the shipped one


def test_packs_apply_in_order_the_last_one_wins() -> None:
    first = {"categories": {"cyber": {"method": "ears-c2"}}}
    second = {"categories": {"cyber": {"method": "trend"}}, "default": {"method": "ewma"}}
    settings = built(("one", first), ("two", second))
    assert settings.judge("cyber.breach").method.name == "trend"
    assert built(("two", second), ("one", first)).judge("cyber").method.name == "ears-c2"


@pytest.mark.parametrize(
    ("pack", "field", "words"),
    [
        (
            {"categories": {"cyber": {"method": "shewhart"}}},
            "detection.categories.cyber.method",
            "not a method",
        ),
        (
            {"categories": {"cyber": {"method": "ewma", "params": {"lambda_": 0.4}}}},
            "detection.categories.cyber.params",
            "not a parameter",
        ),
        (
            {"categories": {"cyber": {"method": "weekly", "params": {"least": 2.5}}}},
            "detection.categories.cyber.params",
            "not a whole number",
        ),
        (
            {"categories": {"cyber.ransom": {"method": "ewma"}}},
            "detection.categories.cyber.ransom",
            "not a known category",
        ),
        (
            {"default": {"method": "ewma", "min_events": -1}},
            "detection.default.min_events",
            "greater than or equal",
        ),
        ({"default": {"method": "ewma", "window": 3}}, "detection.default.window", "unknown key"),
        (
            {"events": [{"category": "disaster", "min_severity": "severe"}]},
            "detection.events[0].min_severity",
            "not one of",
        ),
        (
            {"events": [{"category": "disaster.meteor", "min_severity": "low"}]},
            "detection.events[0].category",
            "not a known category",
        ),
        ({"event": []}, "detection.event", "unknown key"),
        (
            {"cross_border": {"border": {"distance_km": 0}}},
            "detection.cross_border.border.distance_km",
            "greater than 0",
        ),
        (
            {"cross_border": {"movement": {"types": ["vessel-name"]}}},
            "detection.cross_border.movement.types",
            "not an observable type",
        ),
        (
            {"cross_border": {"observable": {"min_states": 1}}},
            "detection.cross_border.observable.min_states",
            "greater than or equal to 2",
        ),
    ],
)
def test_a_bad_pack_section_names_its_field(pack: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(DataFileError) as caught:
        built(("mine", pack))
    assert caught.value.source == "region pack 'mine'"
    assert field in caught.value.fields, caught.value
    assert words in str(caught.value)


def test_the_shipped_file_must_say_its_version_and_default() -> None:
    data = shipped()
    data.pop("version")
    with pytest.raises(DataFileError) as caught:
        config.build(data, [], known=KNOWN)
    assert "version" in caught.value.fields
    data = shipped()
    data.pop("default")
    with pytest.raises(DataFileError) as caught:
        config.build(data, [], known=KNOWN)
    assert "default" in caught.value.fields


def test_every_shipped_pack_section_builds() -> None:
    for slug in regionpacks.available():
        pack = regionpacks.load(slug)
        config.check_pack(pack.detection, slug, regionpacks.taxonomy_for(pack).ids())


def test_the_node_uses_its_loaded_packs_settings(db: Database) -> None:
    with db.session(write=True) as s:
        pack = regionpacks.load("bimstec")
        catalog.load_pack(s, pack)
        assert config.for_node(s).judge("cyber").method.name == "weekly"
        tuned = pack.model_copy(
            update={"detection": {"categories": {"cyber": {"method": "ears-c3"}}}}
        )
        catalog.load_pack(s, tuned)
        assert config.for_node(s).judge("cyber.attack").method.name == "ears-c3"
        assert config.for_node(s).judge("terrorism").method.name == "weekly"
