"""TAXII collections and pages of objects, read through `rsn.sharing` like every export.

A collection is a scope over the reports the caller may read: all of them (the
main collection), or those shared with one of the caller's sharing groups. Its
objects are the STIX objects of those reports, in commit order (`seq`), so a
page is one indexed walk from a cursor (a report's `seq` and a position among
its objects): pages stay put while new reports arrive, and a page costs the
same at the millionth object as at the first. An object is served only as part
of a report the caller may read; an id held by hidden reports alone is simply
not there, exactly like an id nobody holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.errors import NotFound
from rsn.interop import ingest, staged, stix
from rsn.interop.model import ExportContext, ExportItem, ImportContext
from rsn.registry import catalog
from rsn.registry.models import SharingGroup
from rsn.sharing import Principal
from rsn.store import Database
from rsn.taxii import walk
from rsn.taxii.filters import Cursor, Entry, Match
from rsn.taxii.schemas import MAIN_COLLECTION


@dataclass(frozen=True)
class Scope:
    """A collection as one caller sees it."""

    id: str
    title: str
    description: str
    can_write: bool
    group_id: str | None = None


def collections(session: Session, *, principal: Principal) -> list[Scope]:
    """The main collection, then one per sharing group the caller's organization is in."""
    main = Scope(
        MAIN_COLLECTION,
        "Reports",
        "Every report you may read on this node, with its observables and indicators.",
        can_write=sharing.may_file(principal),
    )
    group_ids = sharing.group_ids(principal)
    if not group_ids:
        return [main]
    groups = session.scalars(
        select(SharingGroup).where(SharingGroup.id.in_(group_ids)).order_by(SharingGroup.slug)
    )
    return [
        main,
        *(
            Scope(
                g.id,
                f"Sharing group {g.name}",
                f"Reports shared with the sharing group {g.name} ({g.slug}).",
                can_write=False,
                group_id=g.id,
            )
            for g in groups
        ),
    ]


def collection(session: Session, *, principal: Principal, collection_id: str) -> Scope:
    """One collection the caller may read; any other id is not found, whether it exists or not."""
    for scope in collections(session, principal=principal):
        if scope.id == collection_id:
            return scope
    raise NotFound("collection", collection_id[:64])


# --- pages of objects (the walk itself is in `walk`) -----------------------------------


@dataclass
class Page:
    """The entries of one page, whether more follow and from where, and the reports used."""

    entries: list[Entry]
    more: bool = False
    next: Cursor | None = None
    carried: list[ExportItem] = field(default_factory=list)


def page(
    session: Session,
    *,
    principal: Principal,
    scope: Scope,
    match: Match,
    limit: int,
    after: Cursor,
    context: ExportContext,
) -> Page:
    """Up to `limit` entries from `after` on, deduplicated by (id, version) within the page."""
    known = walk.holders(session, match.ids) if match.ids else None
    steps = walk.Walk(principal, scope.group_id, match, context, known)
    return _assemble(walk.blocks(session, steps, after, limit), after, limit)


def _assemble(blocks: Iterator[walk.Block], after: Cursor, limit: int) -> Page:
    result = Page(entries=[])
    seen: set[tuple[str, str]] = set()
    for block in blocks:
        if block.stop:
            return replace(result, more=True, next=Cursor(block.seq, 0))
        start = after.position if block.seq == after.seq else 0
        used = False
        for position in range(start, len(block.entries)):
            if len(result.entries) == limit:
                if used and block.item is not None:
                    result.carried.append(block.item)
                return replace(result, more=True, next=Cursor(block.seq, position))
            e = block.entries[position]
            if e.key not in seen:
                seen.add(e.key)
                result.entries.append(e)
                used = True
        if used and block.item is not None:
            result.carried.append(block.item)
    return result


# --- adding objects --------------------------------------------------------------------


def store_objects(
    db: Database,
    *,
    principal: Principal,
    objects: Sequence[Any],
    node_name: str,
    then: Callable[[Session, ingest.Summary], None],
) -> ingest.Summary:
    """Parse and store an envelope's objects as the caller, all or nothing, staged.

    The objects are as the client sent them (any JSON value); the parser names
    each one that is not a STIX object by its place, e.g. "objects[3]". An envelope
    may hold 20 MB of objects: it is written in chunks other writers interleave
    with, and `then` (the status) is saved in the transaction that publishes it.
    """
    with db.session() as session:
        context = ImportContext(
            importer_org=principal.organization_slug,
            default_country=principal.member_state,
            categories=catalog.category_ids(session),
            node_name=node_name,
        )
    return staged.run(
        db,
        principal=principal,
        items=lambda: stix.parse_objects(objects, context, where="objects"),
        format_name="taxii",
        then=then,
    )
