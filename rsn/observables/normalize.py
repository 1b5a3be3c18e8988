"""Validate observables (selectors) and reduce each to one canonical text form.

Reports from different states spell the same thing differently ("Example.COM." and
"example.com", "+880 1712-345678" and "+8801712345678"). Correlation only works if
every spelling collapses to a single form, and a value that cannot be read must be
refused with a reason a human can act on rather than stored as noise.

Every rule leans on the library written for that identifier; hand-written code is
limited to what no installed library offers (see the bech32m note on ``_bech32``).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import string
import unicodedata
from collections.abc import Callable
from functools import partial
from urllib.parse import quote, urlsplit, urlunsplit

import base58
import bech32
import idna
import phonenumbers
import pycountry
from eth_hash.auto import keccak
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult
from stdnum import iban, imo
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

MAX_LENGTH = 2048


class ObservableError(ValueError):
    """A value that cannot be accepted; str() is a sentence quoting the value and why."""


class _Invalid(Exception):
    """Carries only the reason, so `normalize` can phrase every message the same way."""


def _quote(value: str) -> str:
    """Quote the value so it can be found in the report, without flooding the log."""
    return repr(value if len(value) <= 256 else value[:255] + "…")


def _lower_first(text: str) -> str:
    """Library messages start with a capital; ours sit inside parentheses mid-sentence."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _is_ip(text: str) -> bool:
    """Only a yes/no is wanted here: the caller words its own message."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _ip_address(text: str, version: int) -> str:
    """One address per observable: a network would silently match many hosts."""
    other = 10 - version
    if "/" in text:
        raise _Invalid("a single address is expected, not a CIDR network")
    if "%" in text:
        raise _Invalid("a zone index ('%…') only has meaning on one host")
    try:
        address = ipaddress.IPv4Address(text) if version == 4 else ipaddress.IPv6Address(text)
    except ipaddress.AddressValueError as exc:
        if _is_ip(text):
            raise _Invalid(f"it is an IPv{other} address; use the ipv{other}-addr type") from exc
        raise _Invalid(_lower_first(str(exc))) from exc
    return address.compressed


# A host name of letters, digits and inner hyphens, 1-63 to a label: IDNA leaves such
# names as they are, lower-cased, so they skip its per-code-point tables (a fifth of the
# validation of a bulk load). Labels with "--" in third and fourth place (A-labels
# among them) still go through IDNA, which decodes and checks them.
_PLAIN_HOST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?"
)


def _plain_host(text: str) -> str | None:
    """The IDNA form of a plain ASCII host name, or None when IDNA must decide."""
    lowered = text.lower()
    if len(lowered) > 253 or not _PLAIN_HOST.fullmatch(lowered):
        return None
    labels = lowered.removesuffix(".").split(".")
    if any(label[2:4] == "--" for label in labels):
        return None
    return ".".join(labels)


def _domain(text: str) -> str:
    """A-labels (punycode) are the only spelling every resolver and log agrees on."""
    if _is_ip(text.strip("[]")):
        raise _Invalid("it is an IP address; use the ipv4-addr or ipv6-addr type")
    plain = _plain_host(text) if text.isascii() else None
    if plain is not None and not plain.rpartition(".")[2].isdigit():
        return plain
    try:
        encoded: str = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise _Invalid(_lower_first(str(exc))) from exc
    labels = encoded.removesuffix(".").split(".")
    if "" in labels:
        raise _Invalid("it contains an empty label")
    if len(labels) < 2:
        raise _Invalid("it needs at least two labels, such as example.com")
    if labels[-1].isdigit():
        raise _Invalid("the top-level label is all digits")
    return ".".join(labels)


_URL_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def _url_host(host: str) -> str:
    """Hosts correlate with domain and IP observables, so they get the same treatment."""
    if _is_ip(host):
        address = ipaddress.ip_address(host).compressed
        return f"[{address}]" if ":" in address else address
    try:
        return _domain(host)
    except _Invalid as exc:
        raise _Invalid(f"the host {host!r} is not valid: {exc}") from exc


def _url(text: str) -> str:
    """Only the parts that are case- or default-insensitive are touched; the path and
    query stay as given because servers may treat their case and encoding as meaningful."""
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in text):
        raise _Invalid("it contains whitespace or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _Invalid(_lower_first(str(exc))) from exc
    if parts.scheme not in _URL_DEFAULT_PORTS:
        if not parts.scheme:
            raise _Invalid("it must start with http://, https:// or ftp://")
        raise _Invalid(f"the scheme must be http, https or ftp, not {parts.scheme!r}")
    if not parts.hostname:
        raise _Invalid("it has no host")
    netloc = _url_host(parts.hostname)
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        netloc = f"{userinfo}@{netloc}"
    if port is not None and port != _URL_DEFAULT_PORTS[parts.scheme]:
        netloc = f"{netloc}:{port}"
    # RFC 3986 section 6.2.3: an empty path and "/" name the same resource.
    path, query, fragment = (_uri_part(p) for p in (parts.path or "/", parts.query, parts.fragment))
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986 pchar plus "/" and "?": everything else (non-ASCII, spaces, brackets) is
# percent-encoded as UTF-8, so a URL is a URI (STIX requires it) and one resource has
# one spelling whether it was pasted encoded or not.
_URI_SAFE = "!$&'()*+,;=:@/?%"


def _uri_part(text: str) -> str:
    if _BAD_ESCAPE.search(text):
        raise _Invalid("it has a '%' that is not followed by two hexadecimal digits")
    return quote(text, safe=_URI_SAFE)


_LOCAL_PART_FORBIDDEN = frozenset('()<>[]:;,\\"')


def _email(text: str) -> str:
    """The local part keeps its case: RFC 5321 lets the receiving server decide."""
    if text.count("@") != 1:
        raise _Invalid("it must contain exactly one '@'")
    local, _, domain = text.partition("@")
    if not local:
        raise _Invalid("the part before '@' is empty")
    if len(local) > 64:
        raise _Invalid("the part before '@' is longer than 64 characters")
    if any(ch.isspace() or ch in _LOCAL_PART_FORBIDDEN or ord(ch) < 32 for ch in local):
        raise _Invalid("the part before '@' contains a space or one of ()<>[]:;,\\\"")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise _Invalid("the part before '@' has a leading, trailing or doubled dot")
    try:
        return f"{local}@{_domain(domain)}"
    except _Invalid as exc:
        raise _Invalid(f"the domain {domain!r} is not valid: {exc}") from exc


def _hex_digest(text: str, length: int) -> str:
    """Hashes are compared as text, so case is the only spelling difference allowed."""
    if len(text) != length:
        raise _Invalid(f"expected {length} hexadecimal characters, got {len(text)}")
    if not all(ch in string.hexdigits for ch in text):
        raise _Invalid("it contains characters other than 0-9 and a-f")
    return text.lower()


_PHONE_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_PHONE_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length for its country code",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short; it looks like a local number",
}


def _phone(text: str, region: str | None = None) -> str:
    """Reports cross borders, so a number without its country code is ambiguous
    unless a region (the report's country, the searcher's state) says where to read it."""
    if not text.startswith("+") and region is None:
        raise _Invalid("it must be in international format starting with +")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except NumberParseException as exc:
        raise _Invalid(_PHONE_PARSE_REASONS.get(exc.error_type, "unreadable")) from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        raise _Invalid(_PHONE_POSSIBLE_REASONS.get(possible, "not a possible number"))
    if not phonenumbers.is_valid_number(number):
        raise _Invalid("not a valid number for its country code")
    if number.extension:
        raise _Invalid("E.164 has no room for an extension; give the main number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _stdnum_reason(exc: ValidationError, reasons: dict[type[ValidationError], str]) -> str:
    """stdnum signals the kind of failure by exception class; the first match wins,
    so subclasses (InvalidLength is an InvalidFormat) must be listed first."""
    default = "a part of it, such as the country or bank code, is not valid"
    return next((text for cls, text in reasons.items() if isinstance(exc, cls)), default)


_IMO_REASONS: dict[type[ValidationError], str] = {
    InvalidLength: "it must be 7 digits",
    InvalidFormat: "it must be 7 digits, optionally prefixed with 'IMO'",
    InvalidChecksum: "the check digit (the 7th digit) is wrong",
}


def _vessel_imo(text: str) -> str:
    try:
        return "IMO" + imo.validate(text)
    except ValidationError as exc:
        raise _Invalid(_stdnum_reason(exc, _IMO_REASONS)) from exc


def _vessel_mmsi(text: str) -> str:
    """ITU-R M.585: the leading digits say what kind of station it is; for ships the
    first three are the Maritime Identification Digits (MID), allocated 201-775."""
    if not (len(text) == 9 and text.isascii() and text.isdigit()):
        raise _Invalid("it must be exactly 9 digits")
    if text[0] in "234567" and not 201 <= int(text[:3]) <= 775:
        raise _Invalid(f"a ship's first three digits are its MID (201-775), not {text[:3]}")
    if text[0] == "1" and not text.startswith("111"):
        raise _Invalid("numbers starting with 1 are SAR aircraft and start with 111")
    if text[0] == "9" and text[:2] not in ("97", "98", "99"):
        raise _Invalid("numbers starting with 9 must start with 97, 98 or 99")
    return text


def _plate_char(ch: str, previous: list[str]) -> str:
    """Decimal digits of any script become ASCII so a plate written in Bengali or
    Arabic-Indic digits correlates with the same plate in Latin digits."""
    category = unicodedata.category(ch)
    if category == "Nd":
        return str(unicodedata.decimal(ch))
    if category.startswith("L") or (category.startswith("M") and previous):
        return ch
    raise _Invalid(f"{ch!r} is not a letter or digit")


def _vehicle_plate(text: str) -> str:
    """Separators vary by country and by who typed it, so they are dropped. Length counts
    letters and digits, not combining vowel signs (Bengali, Devanagari plates)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper())
    out: list[str] = []
    for ch in folded:
        if not (ch.isspace() or ch in "-."):
            out.append(_plate_char(ch, out))
    size = sum(not unicodedata.category(ch).startswith("M") for ch in out)
    if not 2 <= size <= 15:
        raise _Invalid(f"a plate has 2 to 15 letters and digits, this has {size}")
    return unicodedata.normalize("NFKC", "".join(out))


def _name(text: str) -> str:
    """Names are matched, not displayed: width, case and spacing variants must collide."""
    if any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in text):
        raise _Invalid("it contains control characters")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    collapsed = " ".join(folded.split())
    if not 2 <= len(collapsed) <= 200:
        raise _Invalid(f"a name has 2 to 200 characters, this has {len(collapsed)}")
    if not any(ch.isalpha() for ch in collapsed):
        raise _Invalid("it contains no letters")
    return collapsed


_WALLET_FORMATS = (
    "expected a Bitcoin address (base58 starting with 1 or 3, or bech32 starting with bc1)"
    " or an Ethereum address (0x followed by 40 hexadecimal digits)"
)
_BASE58_ALPHABET = frozenset(base58.BITCOIN_ALPHABET.decode("ascii"))
# BIP-350: the bech32 package (1.2) only knows the BIP-173 constant 1; taproot and later
# witness versions use bech32m, whose checksum residue is this constant instead.
_BECH32M_CONST = 0x2BC830A3


def _base58(text: str) -> str:
    """Base58 is case-sensitive, so the address is kept exactly as given."""
    if not set(text) <= _BASE58_ALPHABET:
        raise _Invalid("it contains characters outside the base58 alphabet")
    try:
        payload: bytes = base58.b58decode_check(text)
    except ValueError as exc:
        raise _Invalid("its base58check checksum is wrong") from exc
    if len(payload) != 21 or payload[0] not in (0x00, 0x05):
        raise _Invalid("it is not a Bitcoin mainnet P2PKH (1…) or P2SH (3…) address")
    return text


def _is_bech32m_segwit(address: str) -> bool:
    """Stand-in for the bech32m decoder the bech32 package lacks, built from its parts."""
    hrp, _, payload = address.rpartition("1")
    if hrp != "bc" or len(payload) < 7 or not set(payload) <= set(bech32.CHARSET):
        return False
    data = [bech32.CHARSET.index(ch) for ch in payload]
    if bech32.bech32_polymod(bech32.bech32_hrp_expand(hrp) + data) != _BECH32M_CONST:
        return False
    program = bech32.convertbits(data[1:-6], 5, 8, False)
    return 1 <= data[0] <= 16 and program is not None and 2 <= len(program) <= 40


def _bech32(text: str) -> str:
    """Bech32 is case-insensitive; lower case is the form wallets display."""
    address = text.lower()
    if text not in (address, text.upper()):
        raise _Invalid("a bech32 address must not mix upper and lower case")
    if len(address) > 90:
        raise _Invalid("a bech32 address is at most 90 characters")
    version, _ = bech32.decode("bc", address)
    if version == 0 or (version is None and _is_bech32m_segwit(address)):
        return address
    if version is not None:
        raise _Invalid("witness version 1 and later must use the bech32m checksum (BIP-350)")
    raise _Invalid("its bech32/bech32m checksum or witness program is wrong")


def _eip55(lower_hex: str) -> str:
    """The EIP-55 spelling: a letter is upper-case where the keccak digest nibble is >= 8."""
    digest = keccak(lower_hex.encode("ascii")).hex()
    return "".join(
        ch.upper() if int(nibble, 16) >= 8 else ch
        for ch, nibble in zip(lower_hex, digest[:40], strict=True)
    )


def _ethereum(hex_part: str) -> str:
    """Single-case addresses carry no checksum; mixed case is a typo check worth enforcing."""
    if len(hex_part) != 40 or not all(ch in string.hexdigits for ch in hex_part):
        raise _Invalid("an Ethereum address is 0x followed by exactly 40 hexadecimal digits")
    lower = hex_part.lower()
    if hex_part not in (lower, hex_part.upper()) and hex_part != _eip55(lower):
        raise _Invalid("its mixed-case EIP-55 checksum does not match")
    return "0x" + lower


def _crypto_wallet(text: str) -> str:
    if text[:2] in ("0x", "0X"):
        return _ethereum(text[2:])
    if text[:3].lower() == "bc1":
        return _bech32(text)
    if text[:1] in ("1", "3"):
        return _base58(text)
    raise _Invalid(_WALLET_FORMATS)


_ACCOUNT_FORMATS = (
    "expected an IBAN, or a national account number written as"
    " <ISO country code>:<account>, e.g. BD:1234567890123"
)
_IBAN_REASONS: dict[type[ValidationError], str] = {
    InvalidChecksum: "the IBAN checksum is wrong",
    InvalidLength: "the IBAN length is wrong for its country",
    InvalidFormat: "it is not in IBAN format",
}


def _iban(text: str) -> str:
    compact: str = iban.compact(text)
    if not (compact[:2].isalpha() and compact[2:4].isdigit()):
        raise _Invalid(f"it is not in IBAN format; {_ACCOUNT_FORMATS}")
    try:
        return iban.validate(compact)
    except ValidationError as exc:
        raise _Invalid(f"{_stdnum_reason(exc, _IBAN_REASONS)}; {_ACCOUNT_FORMATS}") from exc


def _national_account(text: str) -> str:
    """Many accounts in the region have no IBAN; the country prefix keeps numbers
    from different banking systems from colliding."""
    country, _, account = text.partition(":")
    country = country.strip().upper()
    if len(country) != 2 or pycountry.countries.get(alpha_2=country) is None:
        raise _Invalid(f"{country!r} is not an ISO 3166 country code; {_ACCOUNT_FORMATS}")
    account = "".join(account.split()).replace("-", "").upper()
    if not (6 <= len(account) <= 34 and account.isascii() and account.isalnum()):
        raise _Invalid(f"the account must be 6 to 34 letters and digits; {_ACCOUNT_FORMATS}")
    return f"{country}:{account}"


def _bank_account(text: str) -> str:
    return _national_account(text) if ":" in text else _iban(text)


_RULES: dict[str, tuple[str, Callable[[str], str]]] = {
    "ipv4-addr": ("IPv4 address", partial(_ip_address, version=4)),
    "ipv6-addr": ("IPv6 address", partial(_ip_address, version=6)),
    "domain-name": ("domain name", _domain),
    "url": ("URL", _url),
    "email-addr": ("email address", _email),
    "file-md5": ("MD5 hash", partial(_hex_digest, length=32)),
    "file-sha1": ("SHA-1 hash", partial(_hex_digest, length=40)),
    "file-sha256": ("SHA-256 hash", partial(_hex_digest, length=64)),
    "phone-number": ("phone number", _phone),
    "vessel-imo": ("vessel IMO number", _vessel_imo),
    "vessel-mmsi": ("vessel MMSI", _vessel_mmsi),
    "vehicle-plate": ("vehicle plate", _vehicle_plate),
    "person-name": ("person name", _name),
    "group-name": ("group name", _name),
    "crypto-wallet": ("crypto wallet address", _crypto_wallet),
    "bank-account": ("bank account", _bank_account),
}

OBSERVABLE_TYPES: tuple[str, ...] = tuple(_RULES)
# What a person reads for each type, in the same words as the messages; ids stay for machines.
OBSERVABLE_LABELS: dict[str, str] = {
    kind: label[:1].upper() + label[1:] for kind, (label, _check) in _RULES.items()
}


# Types whose values may be written the way one country writes them: the regions
# that have such a way, and the rule that reads a value in one of them.
_NATIONAL: dict[str, tuple[frozenset[str], Callable[[str, str], str]]] = {
    "phone-number": (frozenset(phonenumbers.SUPPORTED_REGIONS), _phone),
}


def _read_in(type_: str, text: str, region: str | None) -> tuple[str, Callable[[str], str]] | None:
    """(the region's name, the rule that reads the value there), for a national spelling.

    A region without a national numbering plan (or no region) leaves the value to the
    international rule, which says what is missing.
    """
    national = _NATIONAL.get(type_)
    if national is None or region is None or text.startswith("+"):
        return None
    regions, rule = national
    code = region.upper()
    country = pycountry.countries.get(alpha_2=code) if code in regions else None
    if country is None:
        return None
    name = str(getattr(country, "common_name", country.name))
    return name, lambda text: rule(text, code)


@functools.lru_cache(maxsize=65_536)
def normalize(type_: str, value: str, region: str | None = None) -> str:
    """Return the canonical form of ``value`` so equal observables compare equal.

    `region` (ISO 3166 alpha-2) is where a value written in a national format, such
    as a phone number without its country code, is read.
    Raises ObservableError, whose message quotes the value and gives the reason,
    for an unknown type or a value that is not a valid instance of the type.
    """
    rule = _RULES.get(type_)
    if rule is None:
        allowed = ", ".join(OBSERVABLE_TYPES)
        raise ObservableError(
            f"{_quote(type_)} is not a known observable type; allowed types are: {allowed}"
        )
    label, check = rule
    text = value.strip()
    regional = _read_in(type_, text, region)
    if regional is not None:
        label, check = f"{label} for {regional[0]}", regional[1]
    try:
        if not text:
            raise _Invalid("it is empty")
        if len(text) > MAX_LENGTH:
            raise _Invalid(f"it is {len(text)} characters long; the limit is {MAX_LENGTH}")
        return check(text)
    except _Invalid as exc:
        raise ObservableError(f"{_quote(value)} is not a valid {label} ({exc})") from exc
