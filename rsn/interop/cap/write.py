"""Writing CAP 1.2: a report's current version as an `<alert>`, several as an Atom feed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any

from lxml import etree
from lxml.builder import ElementMaker
from lxml.etree import _Element as Element

from rsn import clock
from rsn.interop.cap import mapping as m
from rsn.interop.model import ExportContext, ExportItem, VersionOut

CAP = ElementMaker(namespace=m.CAP_NS, nsmap={None: m.CAP_NS})
ATOM = ElementMaker(namespace=m.ATOM_NS, nsmap={None: m.ATOM_NS})

# Child order the schema requires, for blocks re-emitted from what an import kept.
INFO_ORDER = [
    "language",
    "category",
    "event",
    "responseType",
    "urgency",
    "severity",
    "certainty",
    "audience",
    "eventCode",
    "effective",
    "onset",
    "expires",
    "senderName",
    "headline",
    "description",
    "instruction",
    "web",
    "contact",
    "parameter",
    "resource",
    "area",
]
RESOURCE_ORDER = ["resourceDesc", "mimeType", "size", "uri", "derefUri", "digest"]
AREA_ORDER = ["areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"]
PAIR_ORDER = ["valueName", "value"]
ORDERS = {
    "info": INFO_ORDER,
    "resource": RESOURCE_ORDER,
    "area": AREA_ORDER,
    "parameter": PAIR_ORDER,
    "eventCode": PAIR_ORDER,
    "geocode": PAIR_ORDER,
}


def identifier(report_id: str, version: int) -> str:
    return f"{report_id}.{version}"


def sender(item: ExportItem, context: ExportContext) -> str:
    return m.safe_id(f"{item.originator.organization or 'rsn'}@{context.node_name}")


def alert(item: ExportItem, context: ExportContext) -> Element:
    """The current version as an alert that references (and so chains to) the earlier ones."""
    current = item.versions[-1]
    snap = current.snapshot
    who = sender(item, context)
    refs = _references(item, who)
    msg_type = "Cancel" if snap["revoked"] else "Update" if refs else "Alert"
    children: list[Any] = [
        CAP.identifier(identifier(item.report_id, current.version)),
        CAP.sender(who),
        CAP.sent(m.cap_time(snap["modified"])),
        CAP.status("Actual"),
        CAP.msgType(msg_type),
        *_scope(item, snap),
    ]
    if snap["revoked"]:
        children.append(
            CAP.note(m.xml_text(snap.get("revoked_reason") or "Revoked by its originator."))
        )
    if refs:
        children.append(CAP.references(refs))
    children.append(_info(item, snap, context))
    children.extend(_kept_infos(item.kept))
    return CAP.alert(*children)


def _references(item: ExportItem, who: str) -> str:
    """Every earlier version; when only the last was given, the first, by its creation time."""
    current = item.versions[-1]
    earlier: Sequence[VersionOut] = item.versions[:-1]
    entries = [
        f"{who},{identifier(item.report_id, v.version)},{m.cap_time(v.snapshot['modified'])}"
        for v in earlier
    ]
    if not entries and current.version > 1:
        created = m.cap_time(current.snapshot["created"])
        entries.append(f"{who},{identifier(item.report_id, 1)},{created}")
    return " ".join(entries)


def _scope(item: ExportItem, snap: Mapping[str, Any]) -> list[Element]:
    tlp = str(snap["tlp"])
    scope = m.SCOPE[tlp]
    dist: Mapping[str, Any] = snap.get("distribution") or {}
    if scope == "Public":
        return [CAP.scope(scope)]
    if scope == "Restricted":
        return [CAP.scope(scope), CAP.restriction(m.xml_text(m.restriction(tlp, dist)))]
    if tlp == "red":
        names = [item.originator.username, *(dist.get("users") or [])]
    else:
        names = [item.originator.organization, *(dist.get("organizations") or [])]
    return [CAP.scope(scope), CAP.addresses(m.xml_text(m.addresses(names)))]


def _info(item: ExportItem, snap: Mapping[str, Any], context: ExportContext) -> Element:
    category = str(snap["category"])
    sent = datetime.fromisoformat(m.cap_time(snap["modified"]))
    occurred = datetime.fromisoformat(m.cap_time(snap["occurred_at"]))
    severity = str(snap["severity"])
    children: list[Any] = [CAP.category(c) for c in m.warning_categories(category) or ("Other",)]
    children += [
        CAP.event(m.xml_text(m.event_label(category))),
        CAP.urgency(m.urgency(severity, occurred, sent, bool(snap["revoked"]))),
        CAP.severity(m.SEVERITY[severity]),
        CAP.certainty(m.certainty(int(snap["confidence"]))),
        CAP.onset(m.cap_time(snap["occurred_at"])),
    ]
    name = snap.get("source_identity") or item.originator.organization_name
    if name:
        children.append(CAP.senderName(m.xml_text(name)))
    children += [
        CAP.headline(m.xml_text(snap["title"])),
        CAP.description(m.xml_text(snap["description"])),
    ]
    if context.node_url:
        children.append(CAP.web(f"{context.node_url.rstrip('/')}/reports/{item.report_id}"))
    children += [_parameter(n, v) for n, v in _parameters(item.report_id, snap)]
    children += [_kept_block("resource", k) for k in item.kept if k.get("type") == "cap-resource"]
    children.append(_area(snap))
    return CAP.info(*children)


def _parameters(report_id: str, snap: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The RSN fields CAP has no element for, so an RSN node reading the alert keeps them."""
    yield "rsn:report_id", report_id
    yield "rsn:category", str(snap["category"])
    yield "rsn:severity", str(snap["severity"])
    yield "rsn:confidence", str(snap["confidence"])
    yield "rsn:source_reliability", str(snap["source_reliability"])
    yield "rsn:information_credibility", str(snap["information_credibility"])
    yield "rsn:tlp", str(snap["tlp"])
    dist = snap.get("distribution") or {}
    yield "rsn:distribution", json.dumps(dist, sort_keys=True, separators=(",", ":"))
    if snap.get("sea_area"):
        yield "rsn:sea_area", str(snap["sea_area"])
    for obs in snap.get("observables") or []:
        yield "rsn:observable", f"{obs['type']}:{obs['value']}"


def _parameter(name: str, value: str) -> Element:
    return CAP.parameter(CAP.valueName(name), CAP.value(m.xml_text(value)))


def _area(snap: Mapping[str, Any]) -> Element:
    country = str(snap["country"])
    place = m.country_name(country)
    if snap.get("sea_area"):
        place = f"{snap['sea_area']} ({place})"
    children: list[Any] = [CAP.areaDesc(m.xml_text(place))]
    location = snap.get("location")
    if location:
        point = f"{m.number(location['lat'])},{m.number(location['lon'])} 0"
        children.append(CAP.circle(point))
    children.append(CAP.geocode(CAP.valueName(m.ISO_GEOCODE), CAP.value(country)))
    return CAP.area(*children)


def _kept_infos(kept: Sequence[Mapping[str, Any]]) -> list[Element]:
    """Info blocks an import kept (other languages, say), written back as they came."""
    return [_kept_block("info", k) for k in kept if k.get("type") == "cap-info"]


def _kept_block(name: str, kept: Mapping[str, Any]) -> Element:
    return _block(name, kept.get("cap") or {})


def _block(name: str, body: Mapping[str, Any] | str) -> Element:
    element = CAP(name)
    if not isinstance(body, Mapping):
        element.text = m.xml_text(body)
        return element
    order = ORDERS.get(name, list(body))
    for child in sorted(body, key=lambda k: order.index(k) if k in order else len(order)):
        values = body[child]
        for value in values if isinstance(values, list) else [values]:
            element.append(_block(child, value))
    return element


def write_alert(element: Element, out: IO[bytes]) -> None:
    out.write(etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def write_feed(
    first: Sequence[tuple[ExportItem, Element]],
    rest: Iterator[tuple[ExportItem, Element]],
    out: IO[bytes],
    context: ExportContext,
) -> int:
    """An Atom 1.0 feed whose entries each embed one alert, written as it goes."""
    written = 0
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{m.ATOM_NS}}}feed", nsmap={None: m.ATOM_NS}):
            for head in _feed_head(context):
                xf.write(head, pretty_print=True)
            for item, element in [*first, *rest]:
                xf.write(_entry(item, element, context), pretty_print=True)
                written += 1
    return written


def _feed_head(context: ExportContext) -> list[Element]:
    name = context.node_name
    feed_id = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'rsn:{name}:cap')}"
    now = clock.now().replace(microsecond=0).isoformat()
    head = [
        ATOM.id(feed_id),
        ATOM.title(m.xml_text(f"CAP alerts from the RSN node {name}")),
        ATOM.updated(now),
        ATOM.author(ATOM.name(m.xml_text(name))),
    ]
    if context.node_url:
        head.append(ATOM.link(href=context.node_url, rel="related"))
    return head


def _entry(item: ExportItem, element: Element, context: ExportContext) -> Element:
    snap = item.current
    entry = ATOM.entry(
        ATOM.id(f"urn:uuid:{item.report_id}"),
        ATOM.title(m.xml_text(snap["title"])),
        ATOM.updated(m.cap_time(snap["modified"])),
    )
    if context.node_url:
        entry.append(ATOM.link(href=f"{context.node_url.rstrip('/')}/reports/{item.report_id}"))
    content = ATOM.content(type="application/cap+xml")
    content.append(element)
    entry.append(content)
    return entry
