"""CAP 1.2 (OASIS Common Alerting Protocol): warnings out, alerts in.

Export
------
Only warnings are written: reports whose category is, or falls under, one of

    disaster, disaster.cyclone, .flood, .drought   -> CAP category Met (disaster: Geo and Met)
    disaster.tsunami, disaster.earthquake          -> Geo
    health, health.epidemic, health.pandemic       -> Health
    terrorism.attack                               -> Security
    political.civil-unrest                         -> Safety
    energy.supply-disruption                       -> Infra
    environmental-crime.pollution                  -> Env

(a region's sub-category, such as `disaster.landslide`, counts with its parent).
Every other report is skipped; `export` returns how many were written. One report
becomes one `<alert>` document; several become an Atom 1.0 feed whose entries each
embed one alert, each valid against the OASIS CAP 1.2 XSD (shipped in `schema/`).

An alert is the report's current version:

    identifier   "<report id>.<version>"
    sender       "<originator organization>@<node name>" (spaces, commas, < and & -> '-')
    sent         the version's `modified`, to the second, with a +00:00 offset
    status       Actual (RSN has no exercise flag)
    msgType      Alert for version 1; Update for a later one, with `references` to every
                 earlier version (or, when only the last was given, to version 1 at the
                 report's creation time); Cancel when revoked, the reason in `note`
    scope        TLP:CLEAR -> Public; GREEN, AMBER -> Restricted with a `restriction` text
                 naming the marking and the distribution; AMBER+STRICT -> Private,
                 `addresses` = originator organization + listed organizations; RED ->
                 Private, `addresses` = originator user + listed users
    info         category (above), event (the category's taxonomy name), urgency, severity,
                 certainty, onset (occurred_at), senderName (source identity, else the
                 originator organization's name), headline (title), description, web (the
                 report's page when the node has a URL), parameters, area
    severity     critical -> Extreme, high -> Severe, medium -> Moderate, low -> Minor
    certainty    confidence >= 90 Observed, >= 51 Likely, >= 10 Possible, else Unlikely
    urgency      derived, RSN has none: Past when revoked, Future when the event is after
                 `sent`, else Immediate for critical/high and Expected for medium/low
    parameters   rsn:report_id, rsn:category, rsn:severity, rsn:confidence,
                 rsn:source_reliability, rsn:information_credibility, rsn:tlp,
                 rsn:distribution (JSON), rsn:sea_area, rsn:observable ("type:value",
                 one per observable): the fields CAP has no element for
    area         areaDesc (country name, or "sea area (country)"), a `circle` "lat,lon 0"
                 at the report's point, geocode ISO3166-1-alpha-2 = the country
Resources and other-language info blocks kept from a CAP import are written back.

Import
------
`parse` reads one alert or an Atom feed of embedded alerts (links are not followed).
A file over 10 MB is refused unread; it is parsed with entities, DTD loading and
network access off, a file with any `<!DOCTYPE>` is refused, and every alert is
validated against the XSD before it is mapped (errors name the element and line).
Only `status` Actual and `msgType` Alert/Update/Cancel are imported. From the first
info block: title = headline (else event); category = rsn:category if the node knows
it, else words of the event or headline, else the CAP category (Geo, Met, Fire ->
disaster; Health -> health; Env -> environmental-crime.pollution; Infra ->
energy.supply-disruption), else words of the description; an alert matching none is
an error. occurred_at = onset, else effective, else sent; country = an ISO 3166
geocode, else a country named in full in areaDesc, else the importer's country;
location = the first circle's centre, else the first polygon's centroid; severity
and confidence from the rsn: parameters, else back through the tables above (Unknown
severity -> medium; certainty -> 95/70/30/5, Unknown 50); tlp = rsn:tlp unless it is
looser than the scope allows (Public any, Restricted green or stricter, Private
amber+strict or red), else Public -> clear, Restricted -> amber, Private ->
amber+strict, with an empty distribution unless rsn:distribution came with rsn:tlp.

`source` is the sender and `external_id` the identifier of the first alert in the
`references` chain, so an Update or Cancel of an alert seen earlier in the same file,
or imported before, becomes a new version (a revoked one for Cancel) of the same
report. A Cancel without info takes the fields of the version it cancels, which must
then be in the same file. Resources, other info blocks and elements no report field
holds are kept as dicts (`cap-resource`, `cap-info`, `cap-extra`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from itertools import islice
from typing import IO

from rsn.interop.cap import mapping as cap_map
from rsn.interop.cap import read as cap_read
from rsn.interop.cap import write as cap_write
from rsn.interop.cap.importing import Message, cancel_reason, read
from rsn.interop.model import (
    ExportContext,
    ExportItem,
    ImportContext,
    Incoming,
    IncomingVersion,
    problem,
)

LIMIT = cap_read.LIMIT


def sniff(head: bytes) -> bool:
    """XML naming a CAP namespace (1.2 or older, so an old one gets a clear refusal)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"<") and cap_map.CAP_PREFIX.encode() in head


def selects(item: ExportItem) -> bool:
    """Whether a report is a warning CAP carries; the export's audit names only those."""
    return (
        bool(item.versions)
        and cap_map.warning_categories(str(item.current["category"])) is not None
    )


def export(items: Iterable[ExportItem], out: IO[bytes], context: ExportContext) -> int:
    """Warnings among `items` as one alert, or as an Atom feed of alerts when several."""
    alerts = ((item, cap_write.alert(item, context)) for item in items if selects(item))
    first = list(islice(alerts, 2))
    if len(first) == 1:
        cap_write.write_alert(first[0][1], out)
        return 1
    return cap_write.write_feed(first, alerts, out, context)


def parse(stream: IO[bytes], context: ImportContext) -> Iterator[Incoming]:
    """Every report the file holds, its Updates and Cancels folded in as versions."""
    root = cap_read.load(stream)
    messages = [read(where, element, context) for where, element in cap_read.alerts(root)]
    return iter(_reports(messages))


def _reports(messages: list[Message]) -> list[Incoming]:
    seen = {message.key: message for message in messages}  # a repeated alert counts once
    groups: dict[tuple[str, str], list[Message]] = {}
    for message in seen.values():
        groups.setdefault(_root(message, seen), []).append(message)
    return [_incoming(key, sorted(group, key=lambda g: g.sent)) for key, group in groups.items()]


def _root(message: Message, seen: dict[tuple[str, str], Message]) -> tuple[str, str]:
    """The (sender, identifier) of the first alert of an update chain, followed in the file."""
    key, visited = message.key, set()
    current: Message | None = message
    while current is not None and current.parts.references and key not in visited:
        visited.add(key)
        sender, ident, _ = min(current.parts.references, key=lambda r: r[2])
        key = (sender, ident)
        current = seen.get(key)
    return key


def _incoming(key: tuple[str, str], group: list[Message]) -> Incoming:
    versions: list[IncomingVersion] = []
    for message in group:
        versions.append(_version(message, versions[-1] if versions else None))
    created = _created(key, group)
    versions = [replace(v, created=created) for v in versions]
    return Incoming(
        source=key[0],
        external_id=key[1],
        where=group[0].where,
        versions=versions,
        source_identity=next((g.source_identity for g in group if g.source_identity), None),
        preferred_id=next((g.preferred_id for g in group if g.preferred_id), None),
        kept=next((g.kept for g in reversed(group) if g.version is not None), []),
    )


def _version(message: Message, previous: IncomingVersion | None) -> IncomingVersion:
    """The message's own version; a Cancel without info revokes the one before it."""
    if message.version is not None:
        return message.version
    if previous is None:
        raise problem(
            f"{message.where}.info",
            f"is missing: this {message.parts.msg_type} carries no report fields and the "
            "alert it refers to is not in the same file.",
        )
    return replace(
        previous,
        modified=message.sent,
        revoked=True,
        revoked_reason=cancel_reason(message.parts),
        revoked_at=message.sent,
    )


def _created(key: tuple[str, str], group: list[Message]) -> datetime:
    """When the chain's first alert was sent: its own time, or as the references give it."""
    for message in group:
        if message.key == key:
            return message.sent
        for sender, ident, sent in message.parts.references:
            if (sender, ident) == key:
                return sent
    return group[0].sent
