"""The TAXII 2.1 server at /taxii2/: one API root (`rsn`), thin routes over `service`.

Every route speaks `application/taxii+json;version=2.1` only (406 otherwise,
415 for a POST in anything else), takes a bearer token or HTTP Basic, and
answers errors as TAXII error messages (see `rsn.api.errors`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rsn import audit
from rsn.api.deps import NodeDep, TaxiiPrincipalDep
from rsn.errors import Forbidden, NotFound, ValidationError
from rsn.interop import outbound, surrogates
from rsn.interop.ingest import Summary
from rsn.interop.model import ExportContext, ExportItem
from rsn.node import Node
from rsn.sharing import Principal
from rsn.store import utcnow
from rsn.taxii import cursors, filters, media, service, status
from rsn.taxii.filters import Entry, Match
from rsn.taxii.media import TaxiiResponse
from rsn.taxii.schemas import (
    API_ROOT,
    DEFAULT_LIMIT,
    MAX_CONTENT_LENGTH,
    MAX_LIMIT,
    STIX_21,
    TAXII_21,
    ApiRoot,
    Collection,
    Collections,
    Discovery,
    Resource,
    Status,
    taxii_time,
)

router = APIRouter(prefix="/taxii2", tags=["taxii"], dependencies=[Depends(media.accepts_taxii)])
ROOT = f"/{API_ROOT}"


def _match(
    added_after: Annotated[str | None, Query(max_length=64)] = None,
    match_id: Annotated[str | None, Query(alias="match[id]", max_length=8000)] = None,
    match_type: Annotated[str | None, Query(alias="match[type]", max_length=2000)] = None,
    match_version: Annotated[str | None, Query(alias="match[version]", max_length=2000)] = None,
    match_spec_version: Annotated[
        str | None, Query(alias="match[spec_version]", max_length=200)
    ] = None,
) -> Match:
    return filters.match_from(
        added_after=added_after,
        ids=match_id,
        types=match_type,
        versions=match_version,
        spec_versions=match_spec_version,
    )


MatchDep = Annotated[Match, Depends(_match)]
Limit = Annotated[
    int | None,
    Query(
        ge=1, description=f"Objects per page: {DEFAULT_LIMIT} unless given, at most {MAX_LIMIT}."
    ),
]
Next = Annotated[str | None, Query(max_length=100, description="The `next` of the last page.")]


@router.get("/", response_class=TaxiiResponse)
def discovery(request: Request, node: NodeDep, caller: TaxiiPrincipalDep) -> TaxiiResponse:
    """TAXII discovery: this node's one API root."""
    root = str(request.url_for("api_root"))
    return TaxiiResponse(
        Discovery(
            title=f"RSN node {node.settings.node_name}",
            description="Security reports shared under originator control, as STIX 2.1.",
            default=root,
            api_roots=[root],
        )
    )


@router.get(ROOT + "/", response_class=TaxiiResponse)
def api_root(node: NodeDep, caller: TaxiiPrincipalDep) -> TaxiiResponse:
    """The API root: TAXII 2.1 and the largest envelope a POST may carry."""
    return TaxiiResponse(
        ApiRoot(
            title=f"RSN node {node.settings.node_name}",
            description="Reports you may read, and one collection per sharing group of yours.",
            versions=[TAXII_21],
            max_content_length=MAX_CONTENT_LENGTH,
        )
    )


def _collection(scope: service.Scope) -> Collection:
    return Collection(
        id=scope.id,
        title=scope.title,
        description=scope.description,
        can_read=True,
        can_write=scope.can_write,
        media_types=[STIX_21],
    )


@router.get(ROOT + "/collections/", response_class=TaxiiResponse)
def get_collections(node: NodeDep, caller: TaxiiPrincipalDep) -> TaxiiResponse:
    """The collections the caller may read."""
    with node.db.session() as session:
        scopes = service.collections(session, principal=caller)
    return TaxiiResponse(Collections(collections=[_collection(s) for s in scopes]))


@router.get(ROOT + "/collections/{collection_id}/", response_class=TaxiiResponse)
def get_collection(collection_id: str, node: NodeDep, caller: TaxiiPrincipalDep) -> TaxiiResponse:
    """One collection; one the caller may not read is not found."""
    with node.db.session() as session:
        scope = service.collection(session, principal=caller, collection_id=collection_id)
    return TaxiiResponse(_collection(scope))


def _page(
    request: Request,
    node: Node,
    caller: Principal,
    collection_id: str,
    match: Match,
    limit: int | None,
    next_: str | None,
) -> tuple[service.Page, str | None]:
    """A page from the caller's cursor, and the sealed cursor of the page after it."""
    sealer = cursors.for_caller(audit.keys_of(node.db), user_id=caller.user_id)
    after = sealer.open(next_) if next_ else filters.START
    context = ExportContext(node.settings.node_name, str(request.base_url))
    with node.db.session() as session:
        scope = service.collection(session, principal=caller, collection_id=collection_id)
        found = service.page(
            session,
            principal=caller,
            scope=scope,
            match=match,
            limit=min(limit or DEFAULT_LIMIT, MAX_LIMIT),
            after=after,
            context=context,
        )
    _disclose(node, caller, found.carried)
    return found, sealer.seal(found.next) if found.next is not None else None


def _disclose(node: Node, caller: Principal, carried: Sequence[ExportItem]) -> None:
    """Audit what left the node, opening a write only when a page disclosed something."""
    node.disclose(caller, outbound.disclosed(caller, carried), "report.taxii")


def _headers(entries: Sequence[Entry]) -> dict[str, str]:
    if not entries:
        return {}
    added = [e.added for e in entries]
    return {
        "X-TAXII-Date-Added-First": taxii_time(min(added)),
        "X-TAXII-Date-Added-Last": taxii_time(max(added)),
    }


def _paged(found: service.Page, next_: str | None, key: str, values: list[Any]) -> TaxiiResponse:
    body: dict[str, Any] = {"more": found.more}
    if next_ is not None:
        body["next"] = next_
    if values:
        body[key] = values
    return TaxiiResponse(body, headers=_headers(found.entries))


OBJECTS = ROOT + "/collections/{collection_id}/objects/"


@router.get(OBJECTS, response_class=TaxiiResponse)
def get_objects(
    request: Request,
    collection_id: str,
    node: NodeDep,
    caller: TaxiiPrincipalDep,
    match: MatchDep,
    limit: Limit = None,
    next: Next = None,
) -> TaxiiResponse:
    """An envelope of objects, oldest addition first, `limit` at a time."""
    found, after = _page(request, node, caller, collection_id, match, limit, next)
    return _paged(found, after, "objects", [e.obj for e in found.entries])


@router.get(ROOT + "/collections/{collection_id}/manifest/", response_class=TaxiiResponse)
def get_manifest(
    request: Request,
    collection_id: str,
    node: NodeDep,
    caller: TaxiiPrincipalDep,
    match: MatchDep,
    limit: Limit = None,
    next: Next = None,
) -> TaxiiResponse:
    """What the objects endpoint would send, as (id, date added, version) records."""
    found, after = _page(request, node, caller, collection_id, match, limit, next)
    records = [
        {
            "id": e.obj.get("id"),
            "date_added": taxii_time(e.added),
            "version": e.version,
            "media_type": STIX_21,
        }
        for e in found.entries
    ]
    return _paged(found, after, "objects", records)


@router.get(OBJECTS + "{object_id}/", response_class=TaxiiResponse)
def get_object(
    request: Request,
    collection_id: str,
    object_id: str,
    node: NodeDep,
    caller: TaxiiPrincipalDep,
    match: MatchDep,
    limit: Limit = None,
    next: Next = None,
) -> TaxiiResponse:
    """One object's versions as an envelope; not found alike when absent and when hidden."""
    wanted = replace(match, ids=frozenset({object_id}), types=frozenset())
    found, after = _page(request, node, caller, collection_id, wanted, limit, next)
    if not found.entries and not found.more:
        raise NotFound("object", object_id[:120])
    return _paged(found, after, "objects", [e.obj for e in found.entries])


@router.get(OBJECTS + "{object_id}/versions/", response_class=TaxiiResponse)
def get_object_versions(
    request: Request,
    collection_id: str,
    object_id: str,
    node: NodeDep,
    caller: TaxiiPrincipalDep,
    match: MatchDep,
    limit: Limit = None,
    next: Next = None,
) -> TaxiiResponse:
    """Every version of one object the caller may read."""
    wanted = replace(match, ids=frozenset({object_id}), types=frozenset(), words=frozenset({"all"}))
    found, after = _page(request, node, caller, collection_id, wanted, limit, next)
    if not found.entries and not found.more:
        raise NotFound("object", object_id[:120])
    return _paged(found, after, "versions", [e.version for e in found.entries])


@router.post(OBJECTS, status_code=202, response_class=TaxiiResponse)
async def add_objects(
    request: Request,
    collection_id: str,
    node: NodeDep,
    caller: TaxiiPrincipalDep,
    content_type: Annotated[str | None, Header()] = None,
) -> TaxiiResponse:
    """Store an envelope's objects as reports of the caller, all or nothing; 202 and a status."""
    media.check_content_type(content_type)
    body = await media.body(request)
    objects = media.envelope_objects(body)
    result = await run_in_threadpool(_add, node, caller, collection_id, objects, body)
    return TaxiiResponse(result, status_code=202)


def _add(
    node: Node, caller: Principal, collection_id: str, objects: list[Any], body: bytes
) -> Resource:
    requested = utcnow()
    with node.db.session() as session:
        scope = service.collection(session, principal=caller, collection_id=collection_id)
    if not scope.can_write:
        raise Forbidden(
            f"Collection '{scope.id}' takes no objects from a {caller.role}; "
            "analysts and duty officers add to the main collection."
        )
    try:
        # The bounded reader's parser turns a lone surrogate into '?': look at the raw body.
        surrogates.refuse_in_stream(io.BytesIO(body))
        saved: list[Status] = []

        def save(session: Session, summary: Summary) -> None:
            saved.append(status.succeeded(objects, summary, requested))
            status.save(session, principal=caller, collection_id=scope.id, status=saved[0])

        service.store_objects(
            node.db,
            principal=caller,
            objects=objects,
            node_name=node.settings.node_name,
            then=save,
        )
        result = saved[0]
    except ValidationError as exc:
        result = status.failed(objects, exc, requested)
        with node.db.session(write=True) as session:
            status.save(session, principal=caller, collection_id=scope.id, status=result)
    return result


@router.get(ROOT + "/status/{status_id}/", response_class=TaxiiResponse)
@router.get(ROOT + "/status/{status_id}", response_class=TaxiiResponse, include_in_schema=False)
def get_status(status_id: str, node: NodeDep, caller: TaxiiPrincipalDep) -> TaxiiResponse:
    """What became of a POST, for the one who made it."""
    with node.db.session() as session:
        found = status.get(session, principal=caller, status_id=status_id)
    return TaxiiResponse(found)
