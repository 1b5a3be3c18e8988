"""Webhooks on the wire: a signed POST reaches the receiver the operator allows, and only it.

Every delivery here crosses a real socket to a real server on 127.0.0.1 (plain HTTP, or
TLS with certificates from a throwaway CA). Only the resolver is faked, to give names
addresses this machine's DNS never would (a public name turning into loopback).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypothesis import example, given
from hypothesis import strategies as st

from rsn.config import Settings
from rsn.errors import DeliveryFailed, ValidationError
from rsn.notify.webhook import Policy, check_target, post, signature
from tests.notify.receiver import Answer, Receiver, receiving

PUBLIC_ONLY = Policy()
LOOPBACK = Policy(allow=("127.0.0.0/8", "::1/128"), timeout=5)
SECRET = "s3cret-of-the-subscription"
# Not what json.dumps would write back: a transport that re-serialised would show.
BODY = '{"event":"report.filed",  "title":"Cyclone Mocha — Cox\'s Bazar"}\n'.encode()

Resolver = Callable[..., Any]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def tls_server(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


def refused(url: str, policy: Policy = PUBLIC_ONLY) -> str:
    with pytest.raises(ValidationError) as caught:
        check_target(url, policy)
    assert caught.value.problems[0].field == "target"
    return str(caught.value)


def failed(url: str, policy: Policy, **kwargs: Any) -> str:
    with pytest.raises(DeliveryFailed) as caught:
        post(url, BODY, SECRET, policy, **kwargs)
    message = str(caught.value)
    assert SECRET not in message
    return message


# --- the signature ---------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_the_raw_body() -> None:
    """RFC 4231, test case 2: a value computed elsewhere, not by the code under test."""
    assert signature(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_a_receiver_verifies_the_signature_over_the_body_it_got(receiver: Receiver) -> None:
    assert post(receiver.url(), BODY, SECRET, LOOPBACK) == 204
    got = receiver.got[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["X-RSN-Signature"], expected)
    forged = "sha256=" + hmac.new(b"another secret", got.body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(got.headers["X-RSN-Signature"], forged)


# --- delivering --------------------------------------------------------------------------


def test_a_loopback_receiver_the_operator_allows_gets_the_body_as_given(
    receiver: Receiver,
) -> None:
    policy = Policy(allow=("127.0.0.0/8",), timeout=5)
    extra = {"X-RSN-Event": "report.filed", "X-RSN-Delivery": "d-1"}
    assert post(receiver.url("/hook?x=1"), BODY, SECRET, policy, headers=extra) == 204
    [got] = receiver.got
    assert (got.method, got.path, got.body) == ("POST", "/hook?x=1", BODY)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "RSN-webhook/1"
    assert got.headers["X-RSN-Event"] == "report.filed"
    assert got.headers["X-RSN-Delivery"] == "d-1"
    assert got.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_extra_headers_cannot_replace_the_signature_or_the_host(receiver: Receiver) -> None:
    extra = {"x-rsn-signature": "sha256=forged", "host": "elsewhere.example"}
    post(receiver.url(), BODY, SECRET, LOOPBACK, headers=extra)
    headers = receiver.got[0].headers
    assert headers["X-RSN-Signature"] == signature(BODY, SECRET)
    assert headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_a_host_the_operator_allows_by_name_may_be_reached_over_http(receiver: Receiver) -> None:
    policy = Policy(allow=("localhost",), timeout=5)
    url = receiver.url(host="localhost")
    assert check_target(url, policy) == url
    assert post(url, BODY, SECRET, policy) == 204
    assert receiver.got[0].headers["Host"] == f"localhost:{receiver.port}"


def test_the_settings_make_the_policy(tmp_path: Path) -> None:
    settings = Settings.for_data_dir(
        tmp_path, webhook_allow=["receiver.lan"], webhook_ca_file="/ca.pem", webhook_timeout=3
    )
    assert Policy.of(settings) == Policy(allow=("receiver.lan",), ca_file="/ca.pem", timeout=3)


def test_an_allow_entry_that_is_neither_network_nor_name_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"config\.webhook_allow: 'not a host' is neither"):
        Policy(allow=("not a host",))


# --- TLS -----------------------------------------------------------------------------------


def test_a_tls_receiver_with_a_certificate_from_the_operators_ca_is_reached(
    ca: trustme.CA, ca_file: str
) -> None:
    policy = Policy(allow=LOOPBACK.allow, ca_file=ca_file, timeout=5)
    with receiving(tls_server(ca.issue_cert("localhost", "127.0.0.1"))) as tls:
        assert post(tls.url(), BODY, SECRET, policy) == 204
        assert post(tls.url(host="localhost"), BODY, SECRET, policy) == 204
        assert [got.body for got in tls.got] == [BODY, BODY]


def test_a_certificate_from_a_ca_not_trusted_is_refused(ca_file: str) -> None:
    stranger = trustme.CA()
    policy = Policy(allow=LOOPBACK.allow, ca_file=ca_file, timeout=5)
    with receiving(tls_server(stranger.issue_cert("localhost", "127.0.0.1"))) as tls:
        message = failed(tls.url(), policy)
        assert tls.got == []
    assert "TLS certificate not trusted for host '127.0.0.1'" in message


def test_the_system_cas_do_not_trust_a_private_ca(ca: trustme.CA) -> None:
    """Allowing an address widens where webhooks go, never what TLS accepts."""
    with receiving(tls_server(ca.issue_cert("127.0.0.1"))) as tls:
        assert "certificate not trusted" in failed(tls.url(), LOOPBACK)
        assert tls.got == []


def test_a_certificate_for_another_host_is_refused(ca: trustme.CA, ca_file: str) -> None:
    policy = Policy(allow=LOOPBACK.allow, ca_file=ca_file, timeout=5)
    with receiving(tls_server(ca.issue_cert("receiver.example"))) as tls:
        by_address = failed(tls.url(), policy)
        by_name = failed(tls.url(host="localhost"), policy)
        assert tls.got == []
    assert by_address == "the TLS certificate presented is not valid for host '127.0.0.1'."
    assert by_name == "the TLS certificate presented is not valid for host 'localhost'."


def test_an_expired_certificate_is_refused(ca: trustme.CA, ca_file: str) -> None:
    # OpenSSL checks against the machine's clock, not the node's.
    now = datetime.now(UTC)
    cert = ca.issue_cert(
        "127.0.0.1", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )
    policy = Policy(allow=LOOPBACK.allow, ca_file=ca_file, timeout=5)
    with receiving(tls_server(cert)) as tls:
        assert "has expired" in failed(tls.url(), policy)


def test_a_ca_file_that_cannot_be_read_fails_the_delivery_plainly(
    ca: trustme.CA, tmp_path: Path
) -> None:
    policy = Policy(allow=LOOPBACK.allow, ca_file=str(tmp_path / "missing.pem"), timeout=5)
    with receiving(tls_server(ca.issue_cert("127.0.0.1"))) as tls:
        assert "webhook_ca_file" in failed(tls.url(), policy)


# --- what the receiver answers --------------------------------------------------------


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    with receiving() as elsewhere:
        receiver.answer = Answer(status=302, headers={"Location": elsewhere.url()})
        message = failed(receiver.url(), LOOPBACK)
        assert elsewhere.got == []
    assert message == "answered 302 Found; redirects are not followed."


def test_an_error_status_fails_with_the_status_and_reason_only(receiver: Receiver) -> None:
    receiver.answer = Answer(status=500, body_size=100)
    assert failed(receiver.url(), LOOPBACK) == "answered 500 Internal Server Error."
    receiver.answer = Answer(status=404)
    assert failed(receiver.url(), LOOPBACK) == "answered 404 Not Found."


def test_a_flood_of_an_answer_is_read_no_further_than_64_kib(receiver: Receiver) -> None:
    receiver.answer = Answer(status=200, body_size=10 * 1024 * 1024)
    started = time.monotonic()
    assert post(receiver.url(), BODY, SECRET, LOOPBACK) == 200
    assert time.monotonic() - started < 2


def test_a_receiver_that_never_answers_fails_within_the_timeout(receiver: Receiver) -> None:
    receiver.answer = Answer(hang=True)
    started = time.monotonic()
    message = failed(receiver.url(), Policy(allow=LOOPBACK.allow, timeout=0.5))
    assert time.monotonic() - started < 2
    assert message == f"127.0.0.1:{receiver.port} did not answer within 0.5 s."


def test_a_receiver_that_hangs_up_fails_plainly(receiver: Receiver) -> None:
    receiver.answer = Answer(drop=True)
    message = failed(receiver.url(), LOOPBACK)
    assert message == f"127.0.0.1:{receiver.port} closed the connection without an answer."


def test_a_receiver_too_busy_to_accept_fails_within_the_timeout() -> None:
    """A listener whose queue is full drops new connections (Linux): the connect times out."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(0)
        port = busy.getsockname()[1]
        waiting = [socket.socket() for _ in range(3)]
        for sock in waiting:
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
        started = time.monotonic()
        message = failed(f"http://127.0.0.1:{port}/", Policy(allow=LOOPBACK.allow, timeout=0.5))
        assert time.monotonic() - started < 2
        for sock in waiting:
            sock.close()
    assert message == f"could not connect to 127.0.0.1:{port}: timed out."


def test_a_port_nobody_listens_on_fails_plainly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    message = failed(f"http://127.0.0.1:{port}/", LOOPBACK)
    assert message == f"could not connect to 127.0.0.1:{port}: connection refused."


# --- which targets a subscription may name -----------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/", "'127.0.0.1' is a loopback address"),
        ("https://localhost/", "host 'localhost' resolves to"),
        ("https://[::1]/", "'::1' is a loopback address"),
        ("https://[::ffff:127.0.0.1]/", "'::ffff:127.0.0.1' is a loopback address"),
        ("https://[2002:7f00:1::]/", "is a 6to4 form of a loopback address"),
        ("https://10.0.0.1/", "'10.0.0.1' is a private address"),
        ("https://192.168.1.1/", "'192.168.1.1' is a private address"),
        ("https://172.16.0.1/", "'172.16.0.1' is a private address"),
        ("https://[fd00::1]/", "'fd00::1' is a private address"),
        ("https://169.254.169.254/latest/meta-data", "'169.254.169.254' is a link-local"),
        ("https://[fe80::1]/", "'fe80::1' is a link-local address"),
        ("https://100.64.0.1/", "'100.64.0.1' is a shared (carrier-grade NAT) address"),
        ("https://0.0.0.0/", "'0.0.0.0' is an unspecified address"),
        ("https://224.0.0.1/", "'224.0.0.1' is a multicast address"),
        ("https://[ff0e::1]/", "'ff0e::1' is a multicast address"),
        ("https://203.0.113.10/", "'203.0.113.10' is a private address"),
        ("https://2130706433/", "host '2130706433' is not an IP address in its usual form"),
        ("https://0x7f000001/", "host '0x7f000001' is not an IP address in its usual form"),
        ("https://0177.0.0.1/", "host '0177.0.0.1' is not an IP address in its usual form"),
        ("https://127.1/", "host '127.1' is not an IP address in its usual form"),
        ("http://8.8.8.8/", "must be an https:// URL"),
        ("ftp://8.8.8.8/", "must be an https:// URL"),
        ("https://user:pw@example.org/", "must not carry a user name or password"),
        ("https://8.8.8.8/" + "a" * 2048, "is longer than 2048 characters"),
        ("https://8.8.8.8/a b", "must not contain spaces or control characters"),
        ("https://8.8.8.8/\r\nX-Injected: 1", "must not contain spaces or control characters"),
        ("https:///hook", "has no host"),
        ("https://exa_mple..org/", "is not a valid host name"),
        ("https://[::1/", "is not a valid URL"),
        ("https://8.8.8.8:0/", "port 0"),
        ("https://[fe80::1%25eth0]/", "must not name a network interface"),
    ],
)
def test_a_target_off_limits_is_refused_with_the_reason(url: str, reason: str) -> None:
    message = refused(url)
    assert message.startswith("target: ")
    assert reason in message


def test_http_to_a_host_not_allowed_is_refused_even_when_public() -> None:
    assert check_target("https://8.8.8.8/", Policy()) == "https://8.8.8.8/"
    assert "must be an https:// URL" in refused("http://8.8.8.8/", LOOPBACK)
    assert "'203.0.113.10' is a private address" in refused("http://203.0.113.10/", LOOPBACK)


def test_the_operator_allows_loopback_over_http_and_https() -> None:
    assert check_target("http://127.0.0.1:8080/hook", LOOPBACK) == "http://127.0.0.1:8080/hook"
    assert check_target("https://[::1]/hook", LOOPBACK) == "https://[::1]/hook"
    assert "private address" in refused("http://10.0.0.1/", LOOPBACK)


def test_a_target_is_kept_normalised() -> None:
    assert check_target("HTTPS://8.8.8.8:443/a/ü?q=1#frag", Policy()) == (
        "https://8.8.8.8/a/%C3%BC?q=1"
    )
    assert check_target("https://[2001:4860:4860:0::8888]:8443", Policy()) == (
        "https://[2001:4860:4860::8888]:8443/"
    )


# --- names, and what they resolve to ---------------------------------------------------


def resolving(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[list[str]]]) -> list[str]:
    """Names resolve to these addresses, one list per look-up (the last one repeats);
    any other name goes to the real resolver. Returns the names looked up, in order."""
    real: Resolver = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in names:
            return real(host, port, *args, **kwargs)  # type: ignore[no-any-return]
        asked.append(host)
        answers = names[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        return [_info(address, int(port)) for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _info(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


def test_a_name_that_turns_into_loopback_after_the_check_is_refused_at_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, {"public.example": [["8.8.8.8"], ["127.0.0.1"]]})
    assert check_target("https://public.example/hook", Policy()) == "https://public.example/hook"
    message = failed("https://public.example/hook", Policy())
    assert message.startswith("host 'public.example' resolves to 127.0.0.1, a loopback address")


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, {"mixed.example": [["8.8.8.8", "10.0.0.1"]]})
    assert "resolves to 10.0.0.1, a private address" in refused("https://mixed.example/")
    assert "resolves to 10.0.0.1" in failed("https://mixed.example/", Policy())


def test_http_needs_every_address_of_a_name_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving(monkeypatch, {"half.example": [["127.0.0.1", "8.8.8.8"]]})
    assert check_target("https://half.example/", LOOPBACK) == "https://half.example/"
    assert "must be an https:// URL" in refused("http://half.example/", LOOPBACK)


def test_the_connection_goes_to_the_address_checked_not_to_a_second_look_up(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    # Were the name looked up again to connect, it would be 192.0.2.1, where nobody is.
    asked = resolving(monkeypatch, {"rebind.example": [["127.0.0.1"], ["192.0.2.1"]]})
    assert post(receiver.url(host="rebind.example"), BODY, SECRET, LOOPBACK) == 204
    assert asked == ["rebind.example"]
    assert receiver.got[0].headers["Host"] == f"rebind.example:{receiver.port}"


def test_the_next_address_of_a_name_is_tried_when_one_refuses_the_connection(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    resolving(monkeypatch, {"two.example": [["::1", "127.0.0.1"]]})
    assert post(receiver.url(host="two.example"), BODY, SECRET, LOOPBACK) == 204
    assert len(receiver.got) == 1


def test_a_name_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def nowhere(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nowhere)
    assert refused("https://nowhere.example/") == "target: host 'nowhere.example' does not resolve."
    assert (
        failed("https://nowhere.example/", Policy()) == "host 'nowhere.example' does not resolve."
    )


def test_an_international_name_is_kept_in_its_ascii_form(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = resolving(monkeypatch, {"xn--bcher-kva.example": [["8.8.8.8"]]})
    assert check_target("https://Bücher.example/", Policy()) == "https://xn--bcher-kva.example/"
    assert asked == ["xn--bcher-kva.example"]


# --- the address rule, for every address ---------------------------------------------------


def public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The rule as the issue states it, written apart from the code: global per `ipaddress`,
    never multicast or reserved or site-local, an IPv4 inside IPv6 judged as itself."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped
        if inner is None and address in ipaddress.ip_network("64:ff9b::/96"):
            inner = ipaddress.IPv4Address(address.packed[-4:])
        if inner is not None:
            return public(inner)
        if address.sixtofour is not None and not public(address.sixtofour):
            return False
        if address.is_reserved or address.is_site_local:
            return False
    return address.is_global and not address.is_multicast


@given(st.ip_addresses())
@example(ipaddress.ip_address("::ffff:8.8.8.8"))
@example(ipaddress.ip_address("::ffff:10.1.2.3"))
@example(ipaddress.ip_address("::127.0.0.1"))
@example(ipaddress.ip_address("64:ff9b::7f00:1"))
@example(ipaddress.ip_address("2002:a00:1::1"))
@example(ipaddress.ip_address("2001::1"))
@example(ipaddress.ip_address("fec0::1"))
@example(ipaddress.ip_address("192.0.0.9"))
@example(ipaddress.ip_address("239.1.2.3"))
def test_an_address_is_a_target_without_allow_list_iff_it_is_public(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    try:
        check_target(f"https://{host}/", Policy())
        allowed = True
    except ValidationError:
        allowed = False
    assert allowed == public(address)


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_in_another_spelling_is_refused_whatever_it_is(
    address: ipaddress.IPv4Address,
) -> None:
    octets = str(address).split(".")
    for spelling in (
        str(int(address)),
        hex(int(address)),
        ".".join(f"0{int(o):o}" for o in octets),
        ".".join(hex(int(o)) for o in octets),
    ):
        assert "not an IP address in its usual form" in refused(f"https://{spelling}/", LOOPBACK)
