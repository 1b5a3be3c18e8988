"""Webhooks on the wire: which URLs a subscription may name, and one signed POST to one.

A webhook makes the node open connections where a user tells it to, so a target is held
to what a stranger on the internet could reach anyway: `https` to globally routable
addresses only. The operator widens that with `webhook_allow` (networks or host names;
the demo allows loopback), and an allowed host may be reached over `http` too.

The host is resolved when the subscription is made and again at each delivery; every
address it resolves to must pass, and the connection goes to an address just checked,
never to a second resolution (DNS rebinding). TLS is always verified, against the
system's CAs or `webhook_ca_file`, for the name in the URL. Redirects are not followed:
a 3xx would send the signed body somewhere nobody checked.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TypeVar
from urllib.parse import quote, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from rsn.config import Settings
from rsn.errors import DeliveryFailed, ValidationError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_E = TypeVar("_E", bound=BaseException)

MAX_URL = 2048
READ_AT_MOST = 64 * 1024  # of an answer's body: enough to finish politely, never a flood
TRIED_ADDRESSES = 3  # a name's addresses tried in turn when one refuses the connection
USER_AGENT = "RSN-webhook/1"
DEFAULT_PORTS = {"https": 443, "http": 80}
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: a v4 inside
HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# A host whose last label is a number is an IPv4 address to resolvers and browsers
# (WHATWG URL): `2130706433`, `0x7f000001`, `0177.0.0.1` all mean 127.0.0.1.
NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


@dataclass(frozen=True)
class Policy:
    """Where this node may deliver webhooks, and how long it waits for each step."""

    allow: tuple[str, ...] = ()
    ca_file: str = ""
    timeout: float = 10.0
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _tls: list[ssl.SSLContext] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        networks: list[IPNetwork] = []
        names: set[str] = set()
        for entry in self.allow:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                names.add(_allowed_name(entry))
        object.__setattr__(self, "_networks", tuple(networks))
        object.__setattr__(self, "_names", frozenset(names))
        object.__setattr__(self, "_tls", [])

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            allow=tuple(settings.webhook_allow),
            ca_file=settings.webhook_ca_file,
            timeout=settings.webhook_timeout,
        )

    def tls(self) -> ssl.SSLContext:
        """The CAs a receiver's certificate must chain to, loaded once per policy."""
        if not self._tls:
            try:
                self._tls.append(ssl.create_default_context(cafile=self.ca_file or None))
            except OSError:  # ssl.SSLError too: a file that is not PEM
                raise DeliveryFailed(
                    "the node's trusted CAs (webhook_ca_file) cannot be loaded; "
                    "tell the node's operator."
                ) from None
        return self._tls[0]


def _allowed_name(entry: str) -> str:
    try:
        return _host_name(entry.strip().lower().rstrip("."))
    except ValueError:
        raise ValidationError.field(
            "config.webhook_allow",
            f"'{entry}' is neither a network (such as 127.0.0.0/8) nor a host name.",
        ) from None


def signature(body: bytes, secret: str) -> str:
    """What `X-RSN-Signature` carries: the receiver recomputes it over the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Target:
    url: str  # normalised: what the subscription keeps
    scheme: str
    host: str  # an ASCII host name, or an IP address's text
    given: str  # the host as the URL wrote it, for messages
    netloc: str  # host and port as the Host header names them
    port: int
    path: str  # path and query, as sent in the request line
    literal: IPAddress | None  # the host, when it is an IP address


def check_target(url: str, policy: Policy) -> str:
    """The URL a subscription keeps, normalised, or a 422 saying why it cannot be one."""
    target = _parse(url)
    _addresses(target, policy)
    return target.url


def _parse(url: str) -> _Target:
    """A URL taken apart strictly enough that the host we check is the host we reach."""
    if len(url) > MAX_URL:
        raise _refused(f"is longer than {MAX_URL} characters.")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise _refused("must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refused(f"is not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _refused("must be an https:// URL.")
    if "@" in parts.netloc:
        raise _refused("must not carry a user name or password; the signature proves the sender.")
    host, literal = _host(parts.hostname or "")
    if port == 0:
        raise _refused("names port 0, where no server listens.")
    port = DEFAULT_PORTS[scheme] if port is None else port
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    shown = f"[{host}]" if literal is not None and literal.version == 6 else host
    netloc = shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    url = f"{scheme}://{netloc}{path}"
    return _Target(url, scheme, host, parts.hostname or "", netloc, port, path, literal)


def _host(raw: str) -> tuple[str, IPAddress | None]:
    """The host as we will name it, and its address when it is one, in canonical form only."""
    host = raw.rstrip(".")
    if not host:
        raise _refused("has no host.")
    if ":" in host:
        return _literal(raw, host)
    try:
        name = _host_name(host)
    except ValueError:
        raise _refused(f"host '{raw}' is not a valid host name.") from None
    if NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        return _literal(raw, name)
    return name, None


def _literal(raw: str, host: str) -> tuple[str, IPAddress]:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise _refused(f"host '{raw}' is not an IP address in its usual form.") from None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        raise _refused(f"host '{raw}' must not name a network interface.")
    return str(address), address


def _host_name(host: str) -> str:
    """An internationalised name in its ASCII (IDNA) form, checked label by label."""
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(host) from exc
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(host)
    return ascii_host


def _addresses(target: _Target, policy: Policy) -> tuple[IPAddress, ...]:
    """The target's addresses, every one allowed, or a 422 naming the first that is not."""
    if target.literal is not None:
        addresses: tuple[IPAddress, ...] = (target.literal,)
    else:
        addresses = _lookup(target.host, target.port)
    by_name = target.host in policy._names
    if not by_name:
        for address in addresses:
            if not _in(address, policy._networks) and (kind := _not_public(address)):
                raise _refused(_why_not(target, address, kind))
    allowed = by_name or all(_in(address, policy._networks) for address in addresses)
    if target.scheme != "https" and not allowed:
        raise _refused("must be an https:// URL (http only to hosts the node's operator allows).")
    return addresses


def _lookup(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise _refused(f"host '{host}' does not resolve.") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise _refused(f"host '{host}' does not resolve.")
    return tuple(addresses)


def _in(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def _not_public(address: IPAddress) -> str | None:
    """What kind of address this is, when not a public one ("a loopback address"), else None.

    `is_global` is the base; multicast and reserved ranges are refused besides, and an
    IPv6 form that carries an IPv4 address (mapped, NAT64, 6to4) is judged by that one.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None
        )
        if inner is not None:
            return _not_public(inner)
        if address.sixtofour is not None and (kind := _not_public(address.sixtofour)):
            return f"a 6to4 form of {kind}"
        if address.is_site_local:
            return "a site-local address"
    checks = (
        ("an unspecified address", address.is_unspecified),
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a shared (carrier-grade NAT) address", address in SHARED),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
        ("not a public address", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _why_not(target: _Target, address: IPAddress, kind: str) -> str:
    said = (
        f"'{target.given}' is"
        if target.literal is not None
        else f"host '{target.host}' resolves to {address},"
    )
    return (
        f"{said} {kind}; webhooks go to public addresses only, unless the node's operator "
        "allows it (webhook_allow)."
    )


def _refused(message: str) -> ValidationError:
    return ValidationError.field("target", message)


def post(
    url: str,
    body: bytes,
    secret: str,
    policy: Policy,
    *,
    headers: Mapping[str, str] | None = None,
) -> int:
    """POST `body` as given, signed, to an address checked now; the 2xx status, or why not."""
    try:
        target = _parse(url)
        addresses = _addresses(target, policy)
    except ValidationError as exc:
        raise DeliveryFailed(exc.problems[0].message) from None
    sent = urllib3.HTTPHeaderDict(headers or {})
    sent["Host"] = target.netloc
    sent["Content-Type"] = "application/json"
    sent["User-Agent"] = USER_AGENT
    sent["X-RSN-Signature"] = signature(body, secret)
    failure = DeliveryFailed(f"host '{target.host}' has no address.")
    for address in addresses[:TRIED_ADDRESSES]:
        try:
            return _send(target, address, body, sent, policy)
        except _Unreachable as exc:
            failure = exc.failure
    raise failure


class _Unreachable(Exception):
    """No connection to this address: the next one may be tried, nothing was sent."""

    def __init__(self, failure: DeliveryFailed) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _send(
    target: _Target,
    address: IPAddress,
    body: bytes,
    headers: urllib3.HTTPHeaderDict,
    policy: Policy,
) -> int:
    where = _where(target, address)
    pool = _pool(target, address, policy)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
        )
        return _answered(response)
    except (NewConnectionError, ConnectTimeoutError) as exc:
        raise _Unreachable(
            DeliveryFailed(f"could not connect to {where}: {_reason(exc)}.")
        ) from None
    except HTTPError as exc:
        raise _failed(exc, target, where, policy) from None
    finally:
        pool.close()


def _pool(target: _Target, address: IPAddress, policy: Policy) -> urllib3.HTTPConnectionPool:
    """One connection to this address, TLS verified for the URL's host, not the address."""
    timeout = urllib3.Timeout(connect=policy.timeout, read=policy.timeout)
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(str(address), target.port, timeout=timeout, maxsize=1)
    return urllib3.HTTPSConnectionPool(
        str(address),
        target.port,
        timeout=timeout,
        maxsize=1,
        cert_reqs="CERT_REQUIRED",
        ssl_context=policy.tls(),
        server_hostname=target.host,
    )


def _answered(response: urllib3.BaseHTTPResponse) -> int:
    """The status when 2xx; the body is read a little (a polite close), never kept."""
    try:
        response.read(READ_AT_MOST)
    except (HTTPError, OSError) as exc:
        # The receiver has answered with its status; a body cut short changes nothing.
        log.debug("a webhook answer's body was cut short: %s", exc)
    finally:
        response.close()
    status = response.status
    if 200 <= status < 300:
        return status
    answered = f"answered {status} {_printable(response.reason) or _phrase(status)}".rstrip()
    if 300 <= status < 400:
        raise DeliveryFailed(f"{answered}; redirects are not followed.")
    raise DeliveryFailed(f"{answered}.")


def _failed(exc: HTTPError, target: _Target, where: str, policy: Policy) -> DeliveryFailed:
    """What went wrong once connected, said for the subscription's owner."""
    if isinstance(exc, ReadTimeoutError):
        return DeliveryFailed(f"{where} did not answer within {policy.timeout:g} s.")
    if isinstance(exc, SSLError):
        return DeliveryFailed(_tls_problem(exc, target))
    if isinstance(exc, ProtocolError):
        return DeliveryFailed(f"{where} closed the connection without an answer.")
    return DeliveryFailed(f"the request to {where} failed: {_reason(exc)}.")


def _tls_problem(exc: SSLError, target: _Target) -> str:
    cause = _cause(exc, ssl.SSLCertVerificationError)
    if cause is None:
        return f"the TLS handshake with {target.host} failed: {_reason(exc)}."
    if cause.verify_code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
        return f"the TLS certificate presented is not valid for host '{target.host}'."
    if cause.verify_code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
        return f"the TLS certificate of host '{target.host}' has expired."
    detail = _printable(cause.verify_message) or "unknown issuer"
    return f"TLS certificate not trusted for host '{target.host}' ({detail})."


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of `kind` among this one and what caused it."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain is a few links long; never follow a loop
        if seen is None or isinstance(seen, kind):
            return seen
        inner = [a for a in seen.args if isinstance(a, BaseException)]
        seen = seen.__cause__ or seen.__context__ or (inner[0] if inner else None)
    return None


def _reason(exc: BaseException) -> str:
    """The plain cause of a network error: "connection refused", "timed out"."""
    if isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError):
        return "timed out"
    if _cause(exc, TimeoutError) is not None:
        return "timed out"
    os_error = _cause(exc, OSError)
    if os_error is not None and os_error.strerror:
        return os_error.strerror.lower()
    return _printable(str(exc).rsplit(": ", 1)[-1]) or type(exc).__name__


def _where(target: _Target, address: IPAddress) -> str:
    at = f"[{address}]:{target.port}" if address.version == 6 else f"{address}:{target.port}"
    return at if target.literal is not None else f"{target.host} ({at})"


def _printable(text: str | None) -> str:
    """Words a receiver chose, kept short and plain before they reach an owner's screen."""
    return "".join(c for c in (text or "") if c.isprintable())[:80].strip()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


__all__ = ["Policy", "check_target", "post", "signature"]
