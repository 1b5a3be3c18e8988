"""The node's vocabulary: the base taxonomy plus the categories of its loaded packs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn.registry import regionpacks, taxonomy
from rsn.registry.models import Organization, RegionPackRecord
from rsn.registry.regionpacks import RegionPack
from rsn.registry.service import create_organization, ensure_member_state
from rsn.registry.taxonomy import Category, Taxonomy
from rsn.store import utcnow


def node_taxonomy(session: Session) -> Taxonomy:
    """The base taxonomy extended by every region pack loaded on this node.

    Built once per set of loaded packs: pages ask for it often, packs change rarely.
    """
    stamp = tuple(
        (slug, version, loaded_at.isoformat())
        for slug, version, loaded_at in session.execute(
            select(
                RegionPackRecord.slug, RegionPackRecord.version, RegionPackRecord.loaded_at
            ).order_by(RegionPackRecord.loaded_at, RegionPackRecord.slug)
        )
    )
    cached = _TAXONOMIES.get(stamp)
    if cached is None:
        cached = _build(session)
        _TAXONOMIES.clear()  # one node per process: only the newest set is worth keeping
        _TAXONOMIES[stamp] = cached
    return cached


_TAXONOMIES: dict[tuple[tuple[str, str, str], ...], Taxonomy] = {}


def _build(session: Session) -> Taxonomy:
    result = taxonomy.load_base()
    records = select(RegionPackRecord).order_by(RegionPackRecord.loaded_at, RegionPackRecord.slug)
    for record in session.scalars(records):
        extra = [Category.model_validate(c) for c in record.content.get("categories", [])]
        known = result.ids()
        extra = [c for c in extra if c.id not in known]
        if extra:
            result = result.extended(extra, source=f"region pack '{record.slug}'")
    return result


def category_ids(session: Session) -> frozenset[str]:
    """The node's category ids, read once per transaction (a bulk load files many reports)."""
    cached = session.info.get("rsn_category_ids")
    if cached is None:
        cached = session.info["rsn_category_ids"] = node_taxonomy(session).ids()
    return frozenset(cached)


def packs(session: Session) -> list[RegionPackRecord]:
    return list(session.scalars(select(RegionPackRecord).order_by(RegionPackRecord.slug)))


def load_pack(session: Session, pack: RegionPack) -> RegionPackRecord:
    """Store a pack and create its member states and organizations (idempotent)."""
    regionpacks.taxonomy_for(pack)  # raises DataFileError when its categories clash
    for code in pack.members:
        ensure_member_state(session, code=code)
    for org in pack.organizations:
        exists = session.scalar(select(Organization.id).where(Organization.slug == org.slug))
        if exists is None:
            create_organization(
                session, slug=org.slug, name=org.name, type=org.type, member_state=org.country
            )
    content: dict[str, Any] = pack.model_dump(mode="json")
    record = session.get(RegionPackRecord, pack.slug)
    if record is None:
        record = RegionPackRecord(
            slug=pack.slug, name=pack.name, version=pack.version, content=content
        )
        session.add(record)
    else:
        record.name, record.version, record.content = pack.name, pack.version, content
        record.loaded_at = utcnow()
    session.flush()
    session.info.pop("rsn_category_ids", None)
    return record
