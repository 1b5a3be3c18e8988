"""What every exchange format reads into and writes from.

A format module only translates: a parser turns a file into `Incoming` reports
(never touching the database), a writer turns `ExportItem`s (already filtered by
`rsn.sharing` for the reader) into bytes. Storing, upserting, access checks and
auditing live in `ingest` and `outbound`, once for all formats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError as PydanticError

from rsn.errors import FieldProblem, ValidationError
from rsn.reports.schemas import ReportCreate


@dataclass(frozen=True)
class IncomingVersion:
    """One version of an incoming report, with the times its source gave it.

    `created`/`modified` left as None are set by the node at import time.
    """

    data: ReportCreate
    created: datetime | None = None
    modified: datetime | None = None
    revoked: bool = False
    revoked_reason: str | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Seal:
    """What an exported version says of itself: checked against this node's key on import.

    `mac` is the exporting node's HMAC over the report id, `version` and `digest`
    (see `rsn.interop.provenance`); `digest` is computed by the parser from the
    content it read, never taken from the file.
    """

    version: int
    digest: str
    mac: str


@dataclass
class Incoming:
    """A report read from a file or a feed, ready to be stored by `ingest`.

    `source` names who the report comes from (a STIX identity id, a MISP
    organisation uuid, a CAP sender), and with `external_id` (the STIX id, the
    MISP event uuid, the CAP identifier) keys the upsert: importing it again
    adds only versions newer than the stored one. `where` is how errors name the
    object, e.g. "objects[17]" or "Event[2]".
    """

    source: str
    external_id: str | None
    where: str
    versions: list[IncomingVersion]
    source_identity: str | None = None
    preferred_id: str | None = None  # the local id it claims: kept only for a sealed own export
    kept: list[dict[str, Any]] = field(default_factory=list)  # objects kept as they came
    seals: list[Seal] = field(default_factory=list)  # one per sealed version, as read
    notes: list[str] = field(default_factory=list)  # what the parser filled in, for the summary


@dataclass(frozen=True)
class Originator:
    username: str
    organization: str  # slug
    organization_name: str
    member_state: str | None
    user_id: str = ""


@dataclass(frozen=True)
class VersionOut:
    """A stored version: `snapshot` is the form `rsn.reports.rows.snapshot` writes."""

    version: int
    seq: int
    date_added: datetime
    snapshot: Mapping[str, Any]


@dataclass(frozen=True)
class ExportItem:
    """A report the reader may read, with every version (oldest first) and kept objects."""

    report_id: str
    originator: Originator
    versions: list[VersionOut]
    kept: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current(self) -> Mapping[str, Any]:
        return self.versions[-1].snapshot


@dataclass(frozen=True)
class ImportContext:
    """What a parser may need to fill gaps a foreign format leaves.

    `default_country` is the importer's member state (or the one given on the
    command line); `categories` is the node's taxonomy, to tell a known category
    from an unknown one.
    """

    importer_org: str
    default_country: str | None
    categories: frozenset[str]
    node_name: str = "rsn"


Sealer = Callable[[str, int, str], str]  # (report id, version, digest) -> the node's MAC


@dataclass(frozen=True)
class ExportContext:
    """`seal`, when given, is how the writer signs each version as this node's own."""

    node_name: str
    node_url: str | None = None
    seal: Sealer | None = None


class Parser(Protocol):
    def __call__(self, stream: Any, context: ImportContext) -> Iterator[Incoming]: ...


def report_data(where: str, payload: Mapping[str, Any]) -> ReportCreate:
    """A `ReportCreate` from a mapped payload, errors named after the object they came from."""
    try:
        return ReportCreate.model_validate(dict(payload))
    except PydanticError as exc:
        problems = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            problems.append(FieldProblem(f"{where}.{path}" if path else where, err["msg"]))
        raise ValidationError(problems) from None


def problem(where: str, message: str) -> ValidationError:
    return ValidationError.field(where, message)
