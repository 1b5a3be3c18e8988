"""Reading CAP 1.2 safely: size limit, no DTD, no entities, no network, the XSD first."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import IO

from lxml import etree
from lxml.etree import _Element as Element

from rsn.errors import FieldProblem, ValidationError
from rsn.interop.cap import mapping as m
from rsn.interop.model import problem

LIMIT = 10_000_000  # bytes (10 MB): thousands of alerts, and within libxml2's own limits
DOCTYPE = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))
MAX_PROBLEMS = 20
# Elements the schema lets repeat: errors name them with an index, as `info[0]`.
REPEATED = frozenset(
    [
        "code",
        "info",
        "category",
        "responseType",
        "eventCode",
        "parameter",
        "resource",
        "area",
        "polygon",
        "circle",
        "geocode",
    ]
)


def cap(name: str) -> str:
    return f"{{{m.CAP_NS}}}{name}"


def atom(name: str) -> str:
    return f"{{{m.ATOM_NS}}}{name}"


def safe_parser() -> etree.XMLParser:
    """A parser that expands no entity, reads no DTD and opens no file or URL."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )


@functools.cache
def schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 XSD shipped beside this module, read once."""
    resource = resources.files("rsn.interop.cap") / "schema" / "CAP-v1.2.xsd"
    return etree.XMLSchema(etree.fromstring(resource.read_bytes(), safe_parser()))


def load(stream: IO[bytes]) -> Element:
    """The document's root, refused before parsing when too large, after when it has a DTD."""
    data = stream.read(LIMIT + 1)
    if len(data) > LIMIT:
        raise problem("file", f"is larger than the {LIMIT // 10**6} MB limit for a CAP document.")
    if any(mark in data for mark in DOCTYPE):
        raise _doctype()
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise problem("file", f"is not well-formed XML (line {exc.lineno}): {exc.msg}") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise _doctype()
    return root


def _doctype() -> ValidationError:
    """Checked on the bytes first (so no entity is ever declared), then on the parse."""
    return problem(
        "file",
        "has a document type declaration (<!DOCTYPE>); CAP needs none, and its entities "
        "are refused unread.",
    )


def alerts(root: Element) -> Iterator[tuple[str, Element]]:
    """(where, alert) for a lone alert or each alert an Atom feed embeds, each schema-valid."""
    if root.tag == cap("alert"):
        found: list[tuple[str, Element]] = [("alert", root)]
    elif root.tag == atom("feed"):
        found = list(_embedded(root))
    else:
        raise problem("file", _not_cap(root))
    for where, element in found:
        validate(where, element)
    return iter(found)


def _embedded(feed: Element) -> Iterator[tuple[str, Element]]:
    for i, entry in enumerate(feed.iter(atom("entry"))):
        where = f"feed.entry[{i}]"
        element = entry.find(f"{atom('content')}/{cap('alert')}")
        if element is None:
            raise problem(
                where,
                "embeds no CAP 1.2 alert in its <content> (links to alerts are not followed).",
            )
        yield f"{where}.alert", element


def _not_cap(root: Element) -> str:
    tag = etree.QName(root)
    if tag.localname == "alert" and (tag.namespace or "").startswith(m.CAP_PREFIX):
        return f"is a CAP alert in '{tag.namespace}'; RSN reads CAP 1.2 ('{m.CAP_NS}') only."
    return f"has the root element '{root.tag}', not a CAP 1.2 alert nor an Atom feed of them."


def validate(where: str, element: Element) -> None:
    """Schema errors, each naming the element's path and its line in the file."""
    checker = schema()
    if checker.validate(element):
        return
    problems = []
    for error in list(checker.error_log)[:MAX_PROBLEMS]:
        path = _path(element, error.path)
        message = error.message.replace(f"{{{m.CAP_NS}}}", "")
        problems.append(FieldProblem(f"{where}{path}", f"line {error.line}: {message}"))
    raise ValidationError(problems)


def _path(root: Element, xpath: str | None) -> str:
    """`.info[0].severity` from libxml2's `/*/*[7]/*[4]` (the root being the alert)."""
    steps = [s for s in (xpath or "").split("/") if s][1:]
    node, names = root, []
    for step in steps:
        match = re.fullmatch(r"\*(?:\[(\d+)\])?", step)
        kids = [k for k in node if isinstance(k.tag, str)]
        index = int(match.group(1) or 1) - 1 if match else -1
        if not 0 <= index < len(kids):
            break
        node = kids[index]
        name = etree.QName(node).localname
        if name in REPEATED:
            same = [k for k in kids if k.tag == node.tag]
            name = f"{name}[{same.index(node)}]"
        names.append(name)
    return "".join(f".{n}" for n in names)


@dataclass(frozen=True)
class Parts:
    """The pieces of one alert the mapping reads, found once."""

    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    note: str | None
    references: list[tuple[str, str, datetime]]


def parts(element: Element) -> Parts:
    return Parts(
        identifier=text(element, "identifier"),
        sender=text(element, "sender"),
        sent=text(element, "sent"),
        status=text(element, "status"),
        msg_type=text(element, "msgType"),
        scope=text(element, "scope"),
        note=text(element, "note") or None,
        references=references(text(element, "references")),
    )


def references(value: str) -> list[tuple[str, str, datetime]]:
    """CAP's `sender,identifier,sent` triples; a malformed one is skipped, not guessed at."""
    found = []
    for entry in value.split():
        pieces = entry.split(",")
        sent = parse_time(pieces[2]) if len(pieces) == 3 else None
        if sent is not None and pieces[0] and pieces[1]:
            found.append((pieces[0], pieces[1], sent))
    return found


def parse_time(value: str) -> datetime | None:
    """A CAP time with its offset; None for anything else."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def text(element: Element, name: str) -> str:
    child = element.find(cap(name))
    return (child.text or "").strip() if child is not None else ""


def texts(element: Element, name: str) -> list[str]:
    return [(c.text or "").strip() for c in element.findall(cap(name))]


def as_dict(element: Element) -> dict[str, object] | str:
    """An element as plain JSON, children by local name (a repeated one as a list)."""
    kids = [k for k in element if isinstance(k.tag, str)]
    if not kids:
        return (element.text or "").strip()
    body: dict[str, object] = {}
    for kid in kids:
        name = etree.QName(kid).localname
        value = as_dict(kid)
        if name in body:
            previous = body[name]
            body[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            body[name] = [value] if name in REPEATED else value
    return body
