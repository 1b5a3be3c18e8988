"""CAP files RSN must refuse: invalid, hostile (entities, DTDs, XInclude), oversize."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rsn.errors import ValidationError
from rsn.interop import cap
from tests.interop.cap_support import (
    CAP_NS,
    NO_COUNTRY,
    OTHER,
    alert_xml,
    export,
    feed_xml,
    item,
    parse,
    problem_fields,
    sample,
)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (("<sender>ffwc@bwdb.gov.bd</sender>", ""), "alert.sent", "Expected is ( sender )"),
        (("<severity>Moderate", "<severity>Bad"), "alert.info[0].severity", "'Bad'"),
        (("<msgType>Alert", "<msgType>Warning"), "alert.msgType", "'Warning'"),
        (("<sent>2026-05-14T07:00:00+06:00", "<sent>2026-05-14T07:00:00Z"), "alert.sent", "sent"),
    ],
)
def test_invalid_cap_names_the_element_and_its_line(
    change: tuple[str, str], field: str, words: str
) -> None:
    document = alert_xml("FF-1").replace(*change).replace("<info>", "\n<info>")
    with pytest.raises(ValidationError) as exc:
        parse(document.encode())
    assert problem_fields(exc)[0] == field
    message = exc.value.problems[0].message
    assert words in message and re.match(r"line \d+: ", message)


def test_a_feed_with_one_invalid_alert_yields_nothing() -> None:
    good, bad = alert_xml("FF-1"), alert_xml("FF-2").replace("<status>Actual", "<status>Nope")
    with pytest.raises(ValidationError) as exc:
        parse(feed_xml(good, bad))
    assert problem_fields(exc) == ["feed.entry[1].alert.status"]


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        (b"<alert", "file", "not well-formed"),
        (b'{"type": "bundle"}', "file", "not well-formed"),
        (b"<rss/>", "file", "not a CAP 1.2 alert"),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>',
            "file",
            "CAP 1.2 ('urn:oasis:names:tc:emergency:cap:1.2') only",
        ),
        (
            feed_xml().replace(b"</feed>", b"<entry><id>x</id></entry></feed>"),
            "feed.entry[0]",
            "no",
        ),
        (alert_xml("T", status="Test").encode(), "alert.status", "only Actual"),
        (alert_xml("T", "Ack").encode(), "alert.msgType", "'Ack'"),
    ],
)
def test_what_is_not_an_actual_cap_12_warning_is_refused(
    document: bytes, field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        parse(document)
    assert problem_fields(exc) == [field] and words in str(exc.value)


def test_no_country_anywhere_and_no_default_is_an_error() -> None:
    document = alert_xml("FF-1").replace("Sylhet, Bangladesh", "Upstream catchment")
    with pytest.raises(ValidationError) as exc:
        parse(document.encode(), NO_COUNTRY)
    assert problem_fields(exc) == ["alert.info[0].area"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE alert [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&g;</identifier></alert>
"""


def test_billion_laughs_is_refused_unexpanded() -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationError) as exc:
        parse(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0  # 20^6 * 63 bytes were never built
    assert problem_fields(exc) == ["file"] and "<!DOCTYPE>" in str(exc.value)


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that notes every request made to it."""
    hits: list[str] = []

    class Note(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<identifier>fetched</identifier>")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Note)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("where", ["entity", "dtd", "xinclude"])
def test_external_entities_are_neither_read_nor_fetched(
    listener: tuple[str, list[str]], where: str, tmp_path: Path
) -> None:
    url, hits = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE")
    body = {
        "entity": f'<!DOCTYPE alert [<!ENTITY x SYSTEM "{url}/e"><!ENTITY s SYSTEM '
        f'"file://{secret}">]><alert xmlns="{CAP_NS}"><identifier>&x;&s;</identifier></alert>',
        "dtd": f'<!DOCTYPE alert SYSTEM "{url}/d.dtd"><alert xmlns="{CAP_NS}"/>',
        "xinclude": alert_xml("FF-1").replace(
            "<identifier>FF-1</identifier>",
            f'<identifier><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
            f'href="{url}/x" parse="text"/></identifier>',
        ),
    }[where]
    with pytest.raises(ValidationError) as exc:
        parse(body.encode())
    assert hits == []
    assert "TOP-SECRET" not in str(exc.value) and "fetched" not in str(exc.value)


def test_an_oversize_file_is_refused_before_parsing() -> None:
    padding = b" " * (cap.LIMIT + 1 - len(alert_xml("FF-1")))
    with pytest.raises(ValidationError) as exc:
        parse(alert_xml("FF-1").encode() + padding)
    assert problem_fields(exc) == ["file"] and "10 MB" in str(exc.value)
    parse(alert_xml("FF-1").encode() + padding[:-1])  # exactly at the limit is read


@pytest.mark.parametrize(
    ("name", "claims"),
    [
        ("oasis-cap12-a2-thunderstorm.xml", True),
        ("NOTICE.md", False),
    ],
)
def test_sniff(name: str, claims: bool) -> None:
    assert cap.sniff(sample(name)[:4096]) is claims


def test_sniff_tells_cap_from_other_formats() -> None:
    _, feed = export(item(), item(report_id=OTHER))
    assert cap.sniff(feed[:4096])
    assert not cap.sniff(b'{"type": "bundle", "id": "bundle--1", "objects": []}')
    assert not cap.sniff(b"title,category\nurn:oasis:names:tc:emergency:cap:1.2,x\n")
