"""Who is who on a node: member states, organizations, users, sharing groups, region packs."""

from __future__ import annotations

from rsn.registry import catalog, regionpacks, service, taxonomy, tokens
from rsn.registry.models import ORG_TYPES, ROLES
from rsn.registry.regionpacks import RegionPack
from rsn.registry.taxonomy import Category, DataFileError, Taxonomy

__all__ = [
    "ORG_TYPES",
    "ROLES",
    "Category",
    "DataFileError",
    "RegionPack",
    "Taxonomy",
    "catalog",
    "regionpacks",
    "service",
    "taxonomy",
    "tokens",
]
