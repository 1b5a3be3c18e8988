"""The TAXII 2.1 resources the server answers with, and the media types it speaks.

Small resources (discovery, API root, collections, status) are Pydantic models;
envelopes and manifests are built as plain dicts, since a page of objects is the
hot path and its objects are already JSON-ready dicts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rsn.interop import limits

TAXII = "application/taxii+json"
TAXII_21 = "application/taxii+json;version=2.1"
STIX_21 = "application/stix+json;version=2.1"
API_ROOT = "rsn"  # the one API root: /taxii2/rsn/
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CONTENT_LENGTH = limits.MAX_ENVELOPE  # bytes of one POSTed envelope
# Collection ids are uuid5 names under this namespace (made for RSN), so they never change.
NAMESPACE = uuid.UUID("4f0c3a52-7d1e-5b8a-9c61-2e7f5d0b9a14")
MAIN_COLLECTION = str(uuid.uuid5(NAMESPACE, "reports"))


def taxii_time(value: datetime) -> str:
    """A UTC timestamp to the microsecond, as TAXII writes date_added."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Resource(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Discovery(Resource):
    title: str
    description: str
    default: str
    api_roots: list[str]


class ApiRoot(Resource):
    title: str
    description: str
    versions: list[str]
    max_content_length: int


class Collection(Resource):
    id: str
    title: str
    description: str
    can_read: bool
    can_write: bool
    media_types: list[str]


class Collections(Resource):
    collections: list[Collection]


class StatusDetail(Resource):
    id: str
    version: str
    message: str | None = None


class Status(Resource):
    id: str
    status: Literal["complete", "pending"]
    request_timestamp: str
    total_count: int
    success_count: int
    successes: list[StatusDetail]
    failure_count: int
    failures: list[StatusDetail]
    pending_count: int
    pendings: list[StatusDetail]


def dump(resource: Resource) -> dict[str, Any]:
    return resource.model_dump(mode="json", exclude_none=True)
