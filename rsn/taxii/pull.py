"""`rsn taxii pull`: import a remote TAXII 2.1 collection, resumably.

The pull pages through the collection with the OASIS `taxii2-client`, spools the
objects to a temporary file, then parses and stores them in one transaction
together with the new cursor (the last `X-TAXII-Date-Added-Last` the server
sent). A pull cut short stores nothing and leaves the cursor where it was; the
next run asks only for objects added after the cursor, and an object that
arrives twice changes nothing (imports are keyed upserts).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import requests
from sqlalchemy.orm import Session
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from rsn.errors import BadRequest, ValidationError
from rsn.interop import ingest, stix
from rsn.interop.model import ImportContext
from rsn.interop.taxii_state import PullCursor
from rsn.registry import catalog
from rsn.reports.schemas import rfc3339
from rsn.sharing import Principal
from rsn.store import Database, utcnow

DATE_ADDED_LAST = "X-TAXII-Date-Added-Last"
DATE_ADDED_FIRST = "X-TAXII-Date-Added-First"
MATCH_BATCH = 50  # ids per match[id] request, to keep URLs short
TLP_IDS = frozenset(str(m["id"]) for m in stix.MARKINGS.values())


def _later(a: str, b: str) -> bool:
    """Whether TAXII timestamp `a` is after `b` (compared as times, not as strings)."""
    return _parse(a) > _parse(b)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Credentials(requests.auth.AuthBase):
    """Basic or Bearer credentials for the remote server, noting each page's date header."""

    def __init__(self, *, username: str | None, password: str | None, token: str | None) -> None:
        self.basic = requests.auth.HTTPBasicAuth(username, password or "") if username else None
        self.token = token
        self.last_added: str | None = None

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.token:
            r.headers["Authorization"] = f"Bearer {self.token}"
        elif self.basic is not None:
            r = self.basic(r)
        r.register_hook("response", self._note)
        return r

    def _note(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        # A page of one object may carry only the First header (medallion does so).
        for name in (DATE_ADDED_LAST, DATE_ADDED_FIRST):
            value = response.headers.get(name)
            if value and (self.last_added is None or _later(value, self.last_added)):
                self.last_added = value


@dataclass(frozen=True)
class PullResult:
    fetched: int
    added_after: str | None
    cursor: str | None
    summary: ingest.Summary


def collection_url(url: str, collection_id: str) -> str:
    """The collection's URL from an API root URL or a discovery URL."""
    base = url if url.endswith("/") else url + "/"
    return f"{base}collections/{collection_id}/"


def pull(
    db: Database,
    *,
    principal_of: Callable[[Session], Principal],
    url: str,
    collection_id: str,
    credentials: Credentials,
    since: datetime | None = None,
    page_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> PullResult:
    """Fetch what is new since the stored cursor (or `since`), then store it all at once."""
    root = _api_root(url, credentials)
    with db.session() as session:
        stored = session.get(PullCursor, (root, collection_id))
        cursor = stored.added_after if stored else None
    added_after = _stamp(since) if since is not None else cursor
    with tempfile.TemporaryFile() as spool:
        fetched = _fetch(root, collection_id, credentials, added_after, page_size, spool, progress)
        _complete(root, collection_id, credentials, spool)
        spool.seek(0)
        with db.session(write=True) as session:
            principal = principal_of(session)
            context = ImportContext(
                importer_org=principal.organization_slug,
                default_country=principal.member_state,
                categories=catalog.category_ids(session),
            )
            objects = _spooled(spool)
            items = stix.parse_objects(objects, context, where="objects")
            summary = ingest.store(session, principal=principal, items=items)
            new_cursor = credentials.last_added or added_after
            _save_cursor(session, root, collection_id, new_cursor, fetched)
    return PullResult(fetched, added_after, new_cursor, summary)


def _api_root(url: str, credentials: Credentials) -> str:
    """An API root URL as given, or the default root of a discovery URL."""
    try:
        ApiRoot(url, auth=credentials).refresh_information()
        return url if url.endswith("/") else url + "/"
    except (TAXIIServiceException, requests.RequestException, ValueError):
        pass
    try:
        server = Server(url, auth=credentials)
        root = server.default or (server.api_roots[0] if server.api_roots else None)
    except (TAXIIServiceException, requests.RequestException, ValueError) as exc:
        raise BadRequest(f"'{url}' is not a TAXII 2.1 API root or discovery URL: {exc}") from exc
    if root is None:
        raise BadRequest(f"The TAXII server at '{url}' names no API root.")
    return str(root.url)


def _fetch(
    root: str,
    collection_id: str,
    credentials: Credentials,
    added_after: str | None,
    page_size: int,
    spool: IO[bytes],
    progress: Callable[[int], None] | None,
) -> int:
    collection = Collection(collection_url(root, collection_id), auth=credentials)
    filters: dict[str, Any] = {"added_after": added_after} if added_after else {}
    fetched = 0
    try:
        for envelope in as_pages(collection.get_objects, per_request=page_size, **filters):
            objects = envelope.get("objects", [])
            for obj in objects:
                spool.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
            fetched += len(objects)
            if progress is not None:
                progress(len(objects))
    except (TAXIIServiceException, requests.RequestException) as exc:
        raise BadRequest(f"Pulling collection '{collection_id}' failed: {exc}") from exc
    return fetched


def _complete(root: str, collection_id: str, credentials: Credentials, spool: IO[bytes]) -> None:
    """Fetch the objects the new ones refer to but the server sent in an earlier pull.

    A collection sends each object once, so a report added today may point at an
    observable first sent a month ago; `match[id]` asks for exactly those.
    """
    spool.seek(0)
    have, wanted = set(), set()
    for obj in _spooled(spool):
        have.add(obj.get("id"))
        wanted |= _refs(obj)
    missing = sorted(wanted - have - TLP_IDS)
    collection = Collection(collection_url(root, collection_id), auth=credentials)
    for start in range(0, len(missing), MATCH_BATCH):
        ids = ",".join(missing[start : start + MATCH_BATCH])
        try:
            for envelope in as_pages(collection.get_objects, per_request=MATCH_BATCH, id=ids):
                for obj in envelope.get("objects", []):
                    spool.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
        except (TAXIIServiceException, requests.RequestException) as exc:
            raise BadRequest(f"Fetching referenced objects failed: {exc}") from exc


def _refs(value: Any) -> set[str]:
    """Every id an object refers to (`*_ref`, `*_refs`, also inside extensions)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_ref") and isinstance(item, str):
                found.add(item)
            elif key.endswith("_refs") and isinstance(item, list):
                found.update(i for i in item if isinstance(i, str))
            elif isinstance(item, dict):
                found |= _refs(item)
    return found


def _spooled(spool: IO[bytes]) -> Iterator[dict[str, Any]]:
    for i, line in enumerate(spool):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError.field(f"objects[{i}]", f"is not JSON: {exc}") from None
        yield obj


def _save_cursor(
    session: Session, url: str, collection_id: str, added_after: str | None, fetched: int
) -> None:
    row = session.get(PullCursor, (url, collection_id))
    if row is None:
        row = PullCursor(url=url, collection_id=collection_id, objects_seen=0)
        session.add(row)
    row.added_after = added_after
    row.objects_seen = (row.objects_seen or 0) + fetched
    row.updated = utcnow()
    session.flush()


def _stamp(value: datetime) -> str:
    return rfc3339(value)
