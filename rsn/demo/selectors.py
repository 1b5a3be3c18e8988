"""Made-up selectors that are nonetheless valid for their type.

Every value must pass `rsn.observables.normalize`, or the report would be refused,
and none should point at a real person, host or ship: addresses come from the
documentation ranges (RFC 5737, RFC 3849), domains from the reserved `.example`
and `.test` names (RFC 2606), phone numbers from libphonenumber's example numbers
with their last digits varied, and IMO numbers carry a computed check digit.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

import bech32
import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from rsn.demo.data import Vocabulary

IPV4_NETS = ("192.0.2", "198.51.100", "203.0.113")
# ITU Maritime Identification Digits of the coastal members; others sail under
# flags of convenience (Panama, Liberia, Marshall Islands).
MIDS = {"BD": 405, "IN": 419, "LK": 417, "MM": 506, "TH": 567}
FLAGS_OF_CONVENIENCE = (352, 636, 538)
_WORDS = (
    ("secure", "update", "portal", "verify", "cloud", "mail", "docs", "login", "track"),
    ("gov", "account", "notice", "parcel", "tender", "payroll", "relief", "visa", "customs"),
)
_PATHS = ("login.php", "owa/auth/logon.aspx", "invoice/view", "wp-content/doc.html", "update")
_MAILBOXES = ("no-reply", "notice", "admin", "hr", "support", "tender")
_THAI = "กขคงจฉชซฌญฎฐ"


@dataclass(frozen=True)
class Where:
    """What a selector may depend on: the state it is seen in, and the word lists."""

    state: str
    vocabulary: Vocabulary


def phone(rng: random.Random, state: str) -> str:
    """A mobile number valid for `state`: its example number with the last digits varied."""
    example = phonenumbers.example_number_for_type(state, PhoneNumberType.MOBILE)
    if example is None:
        raise LookupError(f"libphonenumber has no example mobile number for {state!r}")
    national = phonenumbers.national_significant_number(example)
    for _ in range(20):
        digits = national[:-6] + "".join(rng.choice(string.digits) for _ in range(6))
        number = phonenumbers.parse(f"+{example.country_code}{digits}")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, PhoneNumberFormat.E164)


def imo_check_digit(six: str) -> int:
    """IMO resolution A.1117(30): digits weighted 7..2, the sum's last digit."""
    return sum(int(d) * w for d, w in zip(six, range(7, 1, -1), strict=True)) % 10


def imo(rng: random.Random) -> str:
    six = str(rng.randint(900000, 999999))
    return f"IMO{six}{imo_check_digit(six)}"


def mmsi(rng: random.Random, state: str) -> str:
    mid = MIDS.get(state) if rng.random() < 0.6 else None
    mid = mid or rng.choice(FLAGS_OF_CONVENIENCE)
    return f"{mid}{rng.randint(0, 999999):06d}"


def ipv4(rng: random.Random) -> str:
    return f"{rng.choice(IPV4_NETS)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    return f"2001:db8:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}"


def domain(rng: random.Random) -> str:
    first, second = (rng.choice(words) for words in _WORDS)
    return f"{first}-{second}{rng.randint(1, 99)}.{rng.choice(('example', 'test'))}"


def hexdigits(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def wallet(rng: random.Random) -> str:
    """An Ethereum address or a Bitcoin bech32 (P2WPKH) address, checksums correct."""
    if rng.random() < 0.5:
        return "0x" + hexdigits(rng, 40)
    return str(bech32.encode("bc", 0, [rng.randrange(256) for _ in range(20)]))


def account(rng: random.Random, state: str) -> str:
    """A national account number: none of the members uses IBAN."""
    return f"{state}:{rng.randint(10**11, 10**13 - 1)}"


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def plate(rng: random.Random, state: str) -> str:
    """A plate in the state's usual layout (Thai plates in Thai letters)."""
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    layouts = {
        "BD": f"DHA-{letters[0]} {_digits(rng, 2)}-{_digits(rng, 4)}",
        "BT": f"BP-{rng.randint(1, 5)}-{letters[0]}{_digits(rng, 4)}",
        "IN": f"{rng.choice(('WB', 'OD', 'AS', 'TN', 'MN'))} {_digits(rng, 2)} {letters[:2]} "
        f"{_digits(rng, 4)}",
        "MM": f"YGN {rng.randint(1, 9)}{letters[0]}-{_digits(rng, 4)}",
        "NP": f"BA {rng.randint(1, 9)} PA {_digits(rng, 4)}",
        "LK": f"WP {letters}-{_digits(rng, 4)}",
        "TH": f"{rng.randint(1, 9)}{rng.choice(_THAI)}{rng.choice(_THAI)} {_digits(rng, 4)}",
    }
    return layouts.get(state, f"{letters} {_digits(rng, 4)}")


def person(rng: random.Random, vocabulary: Vocabulary, state: str) -> str:
    """A name common in `state` (any member's, for a state without a list)."""
    names = vocabulary.names.get(state) or next(iter(vocabulary.names.values()))
    return f"{rng.choice(names.given)} {rng.choice(names.family)}"


def url(rng: random.Random, host: str) -> str:
    return f"https://{host}/{rng.choice(_PATHS)}"


def email(rng: random.Random, host: str) -> str:
    return f"{rng.choice(_MAILBOXES)}@{host}"


MAKERS: dict[str, Callable[[random.Random, Where], str]] = {
    "phone-number": lambda rng, w: phone(rng, w.state),
    "domain-name": lambda rng, w: domain(rng),
    "url": lambda rng, w: url(rng, domain(rng)),
    "email-addr": lambda rng, w: email(rng, domain(rng)),
    "ipv4-addr": lambda rng, w: ipv4(rng),
    "ipv6-addr": lambda rng, w: ipv6(rng),
    "file-sha256": lambda rng, w: hexdigits(rng, 64),
    "file-sha1": lambda rng, w: hexdigits(rng, 40),
    "file-md5": lambda rng, w: hexdigits(rng, 32),
    "vessel-imo": lambda rng, w: imo(rng),
    "vessel-mmsi": lambda rng, w: mmsi(rng, w.state),
    "vehicle-plate": lambda rng, w: plate(rng, w.state),
    "person-name": lambda rng, w: person(rng, w.vocabulary, w.state),
    "group-name": lambda rng, w: rng.choice(w.vocabulary.group),
    "crypto-wallet": lambda rng, w: wallet(rng),
    "bank-account": lambda rng, w: account(rng, w.state),
}


def make_all(rng: random.Random, kinds: list[str], where: Where) -> dict[str, str]:
    """One fresh value per type in `kinds`; a URL or sender sits on the report's domain."""
    values = {kind: MAKERS[kind](rng, where) for kind in kinds}
    host = values.get("domain-name")
    if host and "url" in values:
        values["url"] = url(rng, host)
    if host and "email-addr" in values:
        values["email-addr"] = email(rng, host)
    return values
