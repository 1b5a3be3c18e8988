"""The shipped taxonomy is complete and well formed; extensions add but never redefine."""

from __future__ import annotations

import re

import pydantic
import pytest

from rsn.registry import taxonomy
from rsn.registry.taxonomy import Category, DataFileError, Taxonomy

REQUIRED_IDS = {
    "terrorism.violent-extremism",
    "terrorism.attack",
    "maritime.piracy",
    "maritime.armed-robbery-against-ships",
    "maritime.illegal-fishing",
    "maritime.trafficking",
    "organized-crime.human-trafficking",
    "organized-crime.drug-trafficking",
    "organized-crime.arms-trafficking",
    "organized-crime.wildlife-trafficking",
    "organized-crime.money-laundering",
    "cyber.attack",
    "cyber.breach",
    "cyber.online-radicalisation",
    "disaster.cyclone",
    "disaster.flood",
    "disaster.tsunami",
    "disaster.earthquake",
    "disaster.drought",
    "health.epidemic",
    "health.pandemic",
    "migration.displacement",
    "border.incident",
    "border.dispute",
    "armed-conflict.military-incident",
    "armed-conflict.armed-clash",
    "energy.supply-disruption",
    "food-security.shortage",
    "economic.instability",
    "political.civil-unrest",
    "political.instability",
    "environmental-crime.illegal-mining",
    "environmental-crime.pollution",
    "environmental-crime.resource-exploitation",
    "atrocity-risk.genocide",
    "atrocity-risk.war-crimes",
    "atrocity-risk.ethnic-cleansing",
    "atrocity-risk.crimes-against-humanity",
}
TRADITIONAL_ROOTS = {"armed-conflict", "terrorism", "border"}


def category(cid: str, group: str = "non-traditional") -> Category:
    return Category(id=cid, name=cid.title(), description="A test category.", group=group)


@pytest.fixture(scope="module")
def base() -> Taxonomy:
    return taxonomy.load_base()


def test_base_loads_with_a_semver_and_is_cached(base: Taxonomy) -> None:
    assert base.version == "1.0.0"
    assert taxonomy.load_base() is base
    assert base.extensions == ()


def test_required_ids_are_present(base: Taxonomy) -> None:
    missing = REQUIRED_IDS - base.ids()
    assert not missing


def test_every_parent_is_an_entry_of_its_own(base: Taxonomy) -> None:
    parents = {c.parent for c in base.categories if c.parent is not None}
    assert parents <= base.ids()
    maritime = base.get("maritime")
    assert maritime is not None
    assert maritime.name == "Maritime security"
    assert maritime.parent is None


def test_groups_follow_the_source_texts(base: Taxonomy) -> None:
    traditional = {c.id.split(".")[0] for c in base if c.group == "traditional"}
    assert traditional == TRADITIONAL_ROOTS


def test_descriptions_are_one_sentence(base: Taxonomy) -> None:
    for c in base:
        assert c.description.endswith("."), c.id
        assert not re.search(r"\.\s+[A-Z]", c.description), c.id


def test_lookup(base: Taxonomy) -> None:
    piracy = base.get("maritime.piracy")
    assert piracy is not None
    assert piracy.parent == "maritime"
    assert base.get("maritime.nonexistent") is None
    assert "cyber.breach" in base
    assert isinstance(base.ids(), frozenset)
    assert len(base) == len(base.categories) == len(base.ids())


DISASTERS = ("cyclone", "flood", "tsunami", "earthquake", "drought")
TRAFFICKING = [
    "maritime.trafficking",
    "organized-crime.human-trafficking",
    "organized-crime.drug-trafficking",
    "organized-crime.arms-trafficking",
    "organized-crime.wildlife-trafficking",
]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("cyber.breach", ["cyber.breach"]),
        ("Data breach", ["cyber.breach"]),
        ("  data   BREACH ", ["cyber.breach"]),
        ("Cyber security \u203a Data breach", ["cyber.breach"]),
        ("Trafficking in persons", ["organized-crime.human-trafficking"]),
        ("trafficking", TRAFFICKING),
        ("organized-crime.human", ["organized-crime.human-trafficking"]),
        ("disaster", ["disaster", *(f"disaster.{k}" for k in DISASTERS)]),
        ("human trafficking", ["organized-crime.human-trafficking"]),
        ("Political instability", ["political.instability"]),
        ("no such thing", []),
        ("", []),
    ],
)
def test_a_filter_names_categories_by_id_name_or_words(
    base: Taxonomy, typed: str, found: list[str]
) -> None:
    assert base.matching(typed) == found


def test_a_parent_named_brings_its_children(base: Taxonomy) -> None:
    crime = base.matching("Transnational organized crime")
    assert crime[0] == "organized-crime"
    assert set(crime) == {c for c in base.ids() if c.startswith("organized-crime")}


def test_near_suggests_categories_for_a_misspelt_word(base: Taxonomy) -> None:
    assert base.near("trafiking") == TRAFFICKING
    assert base.near("cyclon") == ["disaster.cyclone"]
    assert base.near("terorism")[0] == "terrorism"
    assert base.near("xyzzy") == []
    assert len(base.near("crimes")) <= 5


def test_path_label_names_the_parents(base: Taxonomy) -> None:
    assert base.path_label("cyber.breach") == "Cyber security \u203a Data breach"
    assert base.path_label("cyber") == "Cyber security"
    assert base.path_label("no.such") == ""


def test_categories_are_immutable(base: Taxonomy) -> None:
    with pytest.raises(pydantic.ValidationError):
        base.categories[0].name = "Changed"  # type: ignore[misc]


def test_extended_adds_without_touching_the_base(base: Taxonomy) -> None:
    merged = base.extended([category("disaster.landslide")], "test-pack.yaml")
    assert "disaster.landslide" in merged
    assert "disaster.landslide" not in base
    assert merged.ids() == base.ids() | {"disaster.landslide"}
    assert merged.version == base.version
    assert merged.extensions == ("test-pack.yaml",)


def test_extension_may_bring_its_own_parent(base: Taxonomy) -> None:
    merged = base.extended([category("space.debris"), category("space")], "x.yaml")
    assert {"space", "space.debris"} <= merged.ids()


def test_extensions_stack(base: Taxonomy) -> None:
    once = base.extended([category("space")], "a.yaml")
    twice = once.extended([category("space.debris")], "b.yaml")
    assert "space.debris" in twice
    assert twice.extensions == ("a.yaml", "b.yaml")


def test_clash_with_a_base_id_fails(base: Taxonomy) -> None:
    with pytest.raises(DataFileError) as err:
        base.extended([category("disaster.haze"), category("maritime.piracy")], "clash.yaml")
    assert err.value.fields == ("categories[1].id",)
    assert "clash.yaml" in str(err.value)
    assert "already defined" in str(err.value)


def test_duplicate_within_an_extension_fails(base: Taxonomy) -> None:
    with pytest.raises(DataFileError, match=r"categories\[1\]\.id: duplicate"):
        base.extended([category("disaster.haze"), category("disaster.haze")], "dup.yaml")


def test_orphan_extension_fails(base: Taxonomy) -> None:
    with pytest.raises(DataFileError, match=r"orphan\.yaml: categories\[0\]\.id: parent 'smug"):
        base.extended([category("smuggling.fuel")], "orphan.yaml")


def test_child_must_share_its_parents_group(base: Taxonomy) -> None:
    with pytest.raises(DataFileError) as err:
        base.extended([category("terrorism.financing", "non-traditional")], "g.yaml")
    assert err.value.fields == ("categories[0].group",)


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(DataFileError, match="duplicate id 'a'"):
        Taxonomy(version="1.0.0", categories=(category("a"), category("a")))
    with pytest.raises(DataFileError, match="version"):
        Taxonomy(version="v1", categories=(category("a"),))


@pytest.mark.parametrize("bad", ["Maritime", "maritime..piracy", "maritime_piracy", "-x", "x."])
def test_category_ids_are_dotted_kebab(bad: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="dotted lower-case kebab"):
        category(bad)


def test_parse_yaml_rejects_duplicate_keys_with_the_line() -> None:
    text = 'version: "1.0.0"\ncategories: []\nversion: "2.0.0"\n'
    with pytest.raises(DataFileError) as err:
        taxonomy.parse_yaml(text, "dup-keys.yaml")
    assert err.value.fields == ("line 3",)
    assert "duplicate key 'version'" in str(err.value)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_parse_yaml_wants_a_mapping(text: str) -> None:
    with pytest.raises(DataFileError, match=r"not-a-map\.yaml: <root>: expected a mapping"):
        taxonomy.parse_yaml(text, "not-a-map.yaml")


def test_data_file_error_is_a_value_error() -> None:
    assert issubclass(DataFileError, ValueError)
