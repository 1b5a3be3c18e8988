"""Shipped region packs carry the right facts; a broken pack names its file and field."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from rsn.registry import regionpacks, taxonomy
from rsn.registry.regionpacks import DataFileError, RegionPack

MEMBERS = {
    "bimstec": {"BD", "BT", "IN", "MM", "NP", "LK", "TH"},
    "saarc": {"AF", "BD", "BT", "IN", "MV", "NP", "PK", "LK"},
    "asean": {"BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "TL"},
    "sco": {"CN", "IN", "KZ", "KG", "PK", "RU", "TJ", "UZ", "IR", "BY"},
}
SECRETARIATS = {"bimstec": "Dhaka", "saarc": "Kathmandu", "asean": "Jakarta", "sco": "Beijing"}
BIMSTEC_LEADS = {
    "Trade, Investment and Development": "BD",
    "Environment and Climate Change": "BT",
    "Security": "IN",
    "Agriculture and Food Security": "MM",
    "People-to-People Contact": "NP",
    "Science, Technology and Innovation": "LK",
    "Connectivity": "TH",
}


def shipped_data(slug: str) -> dict[str, Any]:
    resource = resources.files("rsn.registry") / "data" / "regions" / f"{slug}.yaml"
    data: dict[str, Any] = yaml.safe_load(resource.read_text(encoding="utf-8"))
    return data


def write(tmp_path: Path, data: dict[str, Any], name: str = "region.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def broken(tmp_path: Path, data: dict[str, Any]) -> DataFileError:
    path = write(tmp_path, data)
    with pytest.raises(DataFileError) as err:
        regionpacks.load_file(path)
    assert str(path) in str(err.value)
    return err.value


@pytest.fixture
def bimstec() -> dict[str, Any]:
    return copy.deepcopy(shipped_data("bimstec"))


def haze() -> dict[str, str]:
    return {
        "id": "disaster.haze",
        "name": "Haze",
        "group": "non-traditional",
        "description": "Smoke haze.",
    }


def test_the_four_packs_are_shipped() -> None:
    assert regionpacks.available() == ["asean", "bimstec", "saarc", "sco"]


@pytest.mark.parametrize("slug", sorted(MEMBERS))
def test_every_shipped_pack_loads_with_its_members(slug: str) -> None:
    pack = regionpacks.load(slug)
    assert pack.slug == slug
    assert set(pack.members) == MEMBERS[slug]
    assert len(pack.members) == len(MEMBERS[slug])
    assert pack.secretariat.city == SECRETARIATS[slug]
    assert pack.secretariat.country in pack.members
    assert pack.organizations[0].type == "regional-body"
    assert pack.sea_areas
    assert regionpacks.load(slug) is pack


def test_member_counts() -> None:
    counts = {slug: len(regionpacks.load(slug).members) for slug in MEMBERS}
    assert counts == {"asean": 11, "bimstec": 7, "saarc": 8, "sco": 10}
    assert "TL" in regionpacks.load("asean").members


def test_bimstec_has_seven_sectors_with_their_leads() -> None:
    sectors = regionpacks.load("bimstec").sectors
    assert {s.name: s.lead for s in sectors} == BIMSTEC_LEADS
    assert len(sectors) == 7


def test_sco_notes_the_rats_executive_committee() -> None:
    orgs = {o.slug: o.country for o in regionpacks.load("sco").organizations}
    assert orgs["sco-rats"] == "UZ"


def test_asean_extends_the_taxonomy_with_haze() -> None:
    pack = regionpacks.load("asean")
    assert [c.id for c in pack.categories] == ["disaster.haze"]
    assert all(isinstance(c, taxonomy.Category) for c in pack.categories)
    merged = regionpacks.taxonomy_for(pack)
    assert "disaster.haze" in merged
    assert "disaster.haze" not in taxonomy.load_base()


@pytest.mark.parametrize("slug", sorted(MEMBERS))
def test_every_pack_fits_the_base_taxonomy(slug: str) -> None:
    merged = regionpacks.taxonomy_for(regionpacks.load(slug))
    assert taxonomy.load_base().ids() <= merged.ids()


def test_packs_are_frozen() -> None:
    pack = regionpacks.load("bimstec")
    with pytest.raises(pydantic.ValidationError):
        pack.slug = "other"  # type: ignore[misc]
    assert isinstance(pack.members, tuple)


def test_unknown_slug() -> None:
    with pytest.raises(LookupError, match="bimstec"):
        regionpacks.load("nato")
    with pytest.raises(LookupError):
        regionpacks.load("../taxonomy")


def test_a_region_can_bring_its_own_pack(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec.update(slug="bay-of-bengal-test", version="2.1.0-rc.1", categories=[haze()])
    pack = regionpacks.load_file(write(tmp_path, bimstec))
    assert pack.slug == "bay-of-bengal-test"
    assert "disaster.haze" in regionpacks.taxonomy_for(pack)


def test_a_pack_round_trips_through_json(bimstec: dict[str, Any]) -> None:
    pack = regionpacks.load("asean")
    assert RegionPack.model_validate(pack.model_dump(mode="json")) == pack


def test_bad_country_code(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["members"][1] = "XX"
    err = broken(tmp_path, bimstec)
    assert err.fields == ("members[1]",)
    assert "'XX' is not an ISO 3166-1 alpha-2" in str(err)


def test_lower_case_country_code(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["secretariat"]["country"] = "bd"
    assert broken(tmp_path, bimstec).fields == ("secretariat.country",)


def test_unknown_key(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["colour"] = "blue"
    bimstec["sectors"][2]["budget"] = 1
    err = broken(tmp_path, bimstec)
    assert set(err.fields) == {"colour", "sectors[2].budget"}
    assert "unknown key" in str(err)


def test_missing_key(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    del bimstec["secretariat"]
    err = broken(tmp_path, bimstec)
    assert err.fields == ("secretariat",)
    assert "required key is missing" in str(err)


def test_orphan_category(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["categories"] = [haze() | {"id": "smuggling.fuel"}]
    err = broken(tmp_path, bimstec)
    assert err.fields == ("categories[0].id",)
    assert "parent 'smuggling'" in str(err)


def test_duplicate_category_id(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["categories"] = [haze(), haze()]
    err = broken(tmp_path, bimstec)
    assert err.fields == ("categories[1].id",)
    assert "duplicate 'disaster.haze'" in str(err)


def test_category_clashing_with_the_base(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["categories"] = [haze() | {"id": "maritime.piracy"}]
    err = broken(tmp_path, bimstec)
    assert err.fields == ("categories[0].id",)
    assert "already defined" in str(err)


def test_duplicate_sector_id(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["sectors"][3]["id"] = bimstec["sectors"][0]["id"]
    assert broken(tmp_path, bimstec).fields == ("sectors[3].id",)


def test_duplicate_member(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["members"].append("BD")
    assert broken(tmp_path, bimstec).fields == ("members[7]",)


def test_lead_not_a_member(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["sectors"][2]["lead"] = "PK"
    err = broken(tmp_path, bimstec)
    assert err.fields == ("sectors[2].lead",)
    assert "'PK' is not a member" in str(err)


def test_secretariat_outside_the_region(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["secretariat"]["country"] = "FR"
    assert broken(tmp_path, bimstec).fields == ("secretariat.country",)


def test_observer_that_is_a_member(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["observers"] = ["JP", "IN"]
    assert broken(tmp_path, bimstec).fields == ("observers[1]",)


@pytest.mark.parametrize("version", [1.0, "1.0", "v1.0.0"])
def test_version_is_semver(tmp_path: Path, bimstec: dict[str, Any], version: object) -> None:
    bimstec["version"] = version
    assert broken(tmp_path, bimstec).fields == ("version",)


def test_bad_organization_type(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["organizations"][0]["type"] = "club"
    assert broken(tmp_path, bimstec).fields == ("organizations[0].type",)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("slug: x\nmembers: [BD, \n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad\.yaml: line \d+: not valid YAML"):
        regionpacks.load_file(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Café\n".encode("latin-1"))
    with pytest.raises(DataFileError, match="not UTF-8"):
        regionpacks.load_file(path)


def test_yaml_typing_slips_are_explained(tmp_path: Path, bimstec: dict[str, Any]) -> None:
    bimstec["observers"] = [False]  # what YAML makes of an unquoted NO (Norway)
    bimstec["version"] = 1.0
    err = broken(tmp_path, bimstec)
    assert set(err.fields) == {"observers[0]", "version"}
    assert "quote it in YAML" in str(err)
