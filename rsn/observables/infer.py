"""Reading a value typed into a search box: which observable it most likely is.

People paste a value without saying what it is. Every normaliser is asked; the ones
that accept it are the value's possible types, ranked so that a form that rarely
means anything else wins: a scheme, an "@", a dotted quad, a checksum or a leading
"+" say a lot, while names and plates accept nearly anything and come last. A phone
number in national format ("01711-460983") is read with the searcher's own member
state as its region, since that is the country whose numbers they write that way.
"""

from __future__ import annotations

from dataclasses import dataclass

from rsn.observables.normalize import (
    MAX_LENGTH,
    OBSERVABLE_TYPES,
    ObservableError,
    normalize,
)

PHONE = "phone-number"
PLATE = "vehicle-plate"
# Most telling first. A national phone number that starts with its trunk "0" sits with
# the phones; one without it ranks after the vessel numbers, whose 7 or 9 bare digits
# (with a check digit, for an IMO number) it would otherwise shadow.
RANKING = (
    "url",
    "email-addr",
    "ipv4-addr",
    "ipv6-addr",
    "file-sha256",
    "file-sha1",
    "file-md5",
    "crypto-wallet",
    "bank-account",
    PHONE,
    "vessel-imo",
    "domain-name",
    "vessel-mmsi",
    "phone-number:bare",
    "vehicle-plate:digits",
    "person-name",
    "group-name",
    PLATE,
)


@dataclass(frozen=True)
class Reading:
    """A value as one type, and what else the same text could be."""

    type: str
    value: str
    others: tuple[str, ...] = ()


def read(raw: str, *, type_: str | None = None, region: str | None = None) -> Reading:
    """The value as `type_`, or as its most likely type when none is given.

    Raises ObservableError, whose message quotes the value, when it is empty, too long,
    of an unknown type, or not a valid value of the type asked for (or of any type).
    """
    text = raw.strip()
    if not text:
        raise ObservableError("is empty: type a value to look up")
    if len(text) > MAX_LENGTH:
        raise ObservableError(f"is {len(text)} characters long; the limit is {MAX_LENGTH}")
    found = readings(text, region=region)
    if type_:
        chosen = as_type(text, type_, region=region)
    elif found:
        chosen = found[0]
    else:
        shown = repr(text if len(text) <= 80 else text[:79] + "…")
        raise ObservableError(f"{shown} is not a value of any observable type")
    others = tuple(kind for kind, _ in found if kind != chosen[0])
    return Reading(type=chosen[0], value=chosen[1], others=others)


def as_type(text: str, type_: str, *, region: str | None = None) -> tuple[str, str]:
    """`text` normalised as `type_`; a phone number without "+" is read in `region`."""
    return type_, normalize(type_, text, region)


def readings(text: str, *, region: str | None = None) -> list[tuple[str, str]]:
    """Every (type, normal form) the text could be, most likely first."""
    ranked: list[tuple[int, str, str]] = []
    for kind in OBSERVABLE_TYPES:
        try:
            _, value = as_type(text, kind, region=region)
        except ObservableError:
            continue  # most types reject most values; only the ones that accept it count
        ranked.append((RANKING.index(_slot(kind, text)), kind, value))
    return [(kind, value) for _, kind, value in sorted(ranked)]


def _slot(kind: str, text: str) -> str:
    if kind == PHONE and not text.startswith(("+", "0")):
        return "phone-number:bare"
    if kind == PLATE and any(ch.isdigit() for ch in text):
        return "vehicle-plate:digits"
    return kind
