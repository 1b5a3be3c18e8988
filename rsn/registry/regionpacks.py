"""Region packs: who belongs to a regional organization and how it divides the work.

A node serves one regional grouping (BIMSTEC, SAARC, ASEAN, SCO, ...). Membership,
sector leads, sea areas and regional taxonomy extensions are facts that change by
treaty, not by release, so they live in data files; a region that is not shipped can
bring its own file through `load_file`. Each file is checked in full when read, so a
wrong country code or a lead that is not a member stops the node at start-up with the
file and field named, rather than mis-routing reports later.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from rsn.registry.taxonomy import (
    Category,
    DataFileError,
    FieldIssue,
    SemVer,
    Slug,
    Taxonomy,
    load_base,
    parse_yaml,
    validate_file,
)

__all__ = [
    "Alpha2",
    "DataFileError",
    "Organization",
    "RegionPack",
    "Secretariat",
    "Sector",
    "available",
    "load",
    "load_file",
    "taxonomy_for",
]

_SUFFIX = ".yaml"


def _check_alpha2(code: str) -> str:
    # pycountry matches case-insensitively; stored codes must be the canonical upper case.
    known = len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code)
    if not known:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


Alpha2 = Annotated[str, AfterValidator(_check_alpha2)]
Text = Annotated[str, Field(min_length=1)]
# The same kinds as rsn.registry.models.ORG_TYPES, kept here so loading needs no database.
OrgType = Literal[
    "government-agency", "regional-body", "cso", "private-sector", "international-organization"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secretariat(_Strict):
    name: Text
    city: Text
    country: Alpha2


class Sector(_Strict):
    """A field of cooperation that one member state leads on behalf of the others."""

    id: Slug
    name: Text
    lead: Alpha2
    description: Text


class Organization(_Strict):
    """A regional body the pack seeds into the registry, such as the secretariat."""

    slug: Slug
    name: Text
    type: OrgType
    country: Alpha2


def _duplicate(values: Iterable[str]) -> tuple[int, str] | None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            return i, value
        seen.add(value)
    return None


class RegionPack(_Strict):
    """One regional grouping, immutable so one loaded copy can be shared by the node."""

    slug: Slug
    name: Text
    full_name: Text
    version: SemVer
    secretariat: Secretariat
    members: tuple[Alpha2, ...] = Field(min_length=1)
    observers: tuple[Alpha2, ...] = ()
    dialogue_partners: tuple[Alpha2, ...] = ()
    sectors: tuple[Sector, ...] = ()
    categories: tuple[Category, ...] = ()
    sea_areas: tuple[Text, ...] = ()
    organizations: tuple[Organization, ...] = ()
    # Early warning's settings for this region, over the shipped ones: checked by
    # `rsn.warning.config` (the registry does not know the detection methods).
    detection: dict[str, Any] | None = None

    def __hash__(self) -> int:
        # By content, as pydantic's frozen hash would, but `detection` holds mappings.
        return hash(self.model_dump_json())

    @model_validator(mode="after")
    def _consistent(self) -> RegionPack:
        for check in (_no_duplicates, _outsiders_are_not_members, _leads_are_members):
            check(self)
        if self.secretariat.country not in self.members:
            raise FieldIssue(("secretariat", "country"), "the host country must be a member")
        return self


def _no_duplicates(pack: RegionPack) -> None:
    lists: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "members": (pack.members, ()),
        "observers": (pack.observers, ()),
        "dialogue_partners": (pack.dialogue_partners, ()),
        "sea_areas": (pack.sea_areas, ()),
        "sectors": (tuple(s.id for s in pack.sectors), ("id",)),
        "categories": (tuple(c.id for c in pack.categories), ("id",)),
        "organizations": (tuple(o.slug for o in pack.organizations), ("slug",)),
    }
    for name, (values, tail) in lists.items():
        found = _duplicate(values)
        if found is not None:
            raise FieldIssue((name, found[0], *tail), f"duplicate {found[1]!r}")


def _outsiders_are_not_members(pack: RegionPack) -> None:
    for name in ("observers", "dialogue_partners"):
        for i, code in enumerate(getattr(pack, name)):
            if code in pack.members:
                raise FieldIssue((name, i), f"{code!r} is already a member")


def _leads_are_members(pack: RegionPack) -> None:
    for i, sector in enumerate(pack.sectors):
        if sector.lead not in pack.members:
            raise FieldIssue(("sectors", i, "lead"), f"{sector.lead!r} is not a member")


def _parse(text: str, source: str) -> RegionPack:
    pack = validate_file(RegionPack, parse_yaml(text, source), source)
    load_base().extended(pack.categories, source)  # extensions must fit the shared tree
    return pack


def _regions_dir() -> Traversable:
    return resources.files("rsn.registry") / "data" / "regions"


def available() -> list[str]:
    """Slugs of the packs shipped with RSN, sorted."""
    names = (entry.name for entry in _regions_dir().iterdir() if entry.is_file())
    return sorted(name.removesuffix(_SUFFIX) for name in names if name.endswith(_SUFFIX))


@functools.cache
def load(slug: str) -> RegionPack:
    """A shipped pack by slug; its file name must agree with the slug inside it."""
    if slug not in available():
        raise LookupError(f"no region pack {slug!r}; shipped: {', '.join(available())}")
    resource = _regions_dir() / f"{slug}{_SUFFIX}"
    source = str(resource)
    pack = _parse(resource.read_text(encoding="utf-8"), source)
    if pack.slug != slug:
        raise DataFileError.at(source, "slug", f"{pack.slug!r} does not match the file name")
    return pack


def load_file(path: str | os.PathLike[str]) -> RegionPack:
    """A pack from a region's own file, checked exactly like a shipped one."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError.at(source, "<root>", f"not UTF-8 text: {exc.reason}") from exc
    return _parse(text, source)


@functools.lru_cache(maxsize=32)
def taxonomy_for(pack: RegionPack) -> Taxonomy:
    """The base taxonomy plus the pack's own categories: what its reports may use."""
    return load_base().extended(pack.categories, f"region pack {pack.slug}")
