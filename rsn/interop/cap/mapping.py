"""How RSN's words translate to CAP 1.2's and back: the tables `rsn.interop.cap` documents.

Kept apart from the XML so the mapping reads on one screen and both
directions visibly use the same tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pycountry

from rsn.registry.taxonomy import load_base
from rsn.sharing.models import TLP_LEVELS

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_PREFIX = "urn:oasis:names:tc:emergency:cap:"

# The categories that make a warning, with their CAP <category> values. A category
# a region adds below one of these (say `disaster.landslide`) inherits its parent's.
WARNINGS: Mapping[str, tuple[str, ...]] = {
    "disaster": ("Geo", "Met"),
    "disaster.cyclone": ("Met",),
    "disaster.flood": ("Met",),
    "disaster.drought": ("Met",),
    "disaster.tsunami": ("Geo",),
    "disaster.earthquake": ("Geo",),
    "health": ("Health",),
    "health.epidemic": ("Health",),
    "health.pandemic": ("Health",),
    "terrorism.attack": ("Security",),
    "political.civil-unrest": ("Safety",),
    "energy.supply-disruption": ("Infra",),
    "environmental-crime.pollution": ("Env",),
}

# Import, when an alert has no rsn:category: words of its event or headline first,
# then its CAP category, then words of its description.
KEYWORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(words, re.IGNORECASE), category)
    for words, category in (
        (r"tsunami", "disaster.tsunami"),
        (r"earthquake|seismic", "disaster.earthquake"),
        (r"cyclone|hurricane|typhoon|storm", "disaster.cyclone"),
        (r"flood", "disaster.flood"),
        (r"drought", "disaster.drought"),
        (r"pandemic", "health.pandemic"),
        (r"epidemic|outbreak|cholera|dengue|influenza|measles", "health.epidemic"),
        (r"terroris", "terrorism"),
        (r"riot|civil unrest|curfew", "political.civil-unrest"),
        (r"power outage|blackout|fuel shortage", "energy.supply-disruption"),
        (r"pollution|oil spill|chemical spill", "environmental-crime.pollution"),
    )
)
FROM_CAP_CATEGORY: Mapping[str, str] = {
    "Geo": "disaster",
    "Met": "disaster",
    "Fire": "disaster",
    "Health": "health",
    "Env": "environmental-crime.pollution",
    "Infra": "energy.supply-disruption",
}

SEVERITY: Mapping[str, str] = {
    "critical": "Extreme",
    "high": "Severe",
    "medium": "Moderate",
    "low": "Minor",
}
SEVERITY_BACK: Mapping[str, str] = {v: k for k, v in SEVERITY.items()} | {"Unknown": "medium"}

# (lowest confidence, certainty), highest first; back, the middle of each band.
CERTAINTY: tuple[tuple[int, str], ...] = (
    (90, "Observed"),
    (51, "Likely"),
    (10, "Possible"),
    (0, "Unlikely"),
)
CERTAINTY_BACK: Mapping[str, int] = {
    "Observed": 95,
    "Likely": 70,
    "Possible": 30,
    "Unlikely": 5,
    "Unknown": 50,
}

TLP_ORDER = TLP_LEVELS
SCOPE: Mapping[str, str] = {
    "clear": "Public",
    "green": "Restricted",
    "amber": "Restricted",
    "amber+strict": "Private",
    "red": "Private",
}
SCOPE_TLP: Mapping[str, str] = {"Public": "clear", "Restricted": "amber", "Private": "amber+strict"}
# The loosest marking an rsn:tlp parameter may claim under each scope.
SCOPE_FLOOR: Mapping[str, str] = {
    "Public": "clear",
    "Restricted": "green",
    "Private": "amber+strict",
}

ISO_GEOCODE = "ISO3166-1-alpha-2"
UNSAFE_ID = re.compile(r"[\s,<&]+")
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def warning_categories(category: str) -> tuple[str, ...] | None:
    """The CAP categories of a warning, or None when the report is not one."""
    current = category
    while current:
        if current in WARNINGS:
            return WARNINGS[current]
        current = current.rpartition(".")[0]
    return None


def event_label(category: str) -> str:
    known = load_base().get(category)
    return known.name if known is not None else category


def category_from(
    texts: Iterable[str], cap_categories: Iterable[str], description: str, known: frozenset[str]
) -> str | None:
    """The RSN category an alert without rsn:category is about, if its words or CAP say."""
    for text in texts:
        found = _by_words(text, known)
        if found:
            return found
    for cap in cap_categories:
        if FROM_CAP_CATEGORY.get(cap) in known:
            return FROM_CAP_CATEGORY[cap]
    return _by_words(description, known)


def _by_words(text: str, known: frozenset[str]) -> str | None:
    for pattern, category in KEYWORDS:
        if category in known and pattern.search(text):
            return category
    return None


def certainty(confidence: int) -> str:
    return next(word for floor, word in CERTAINTY if confidence >= floor)


def urgency(severity: str, occurred_at: datetime, sent: datetime, revoked: bool) -> str:
    """CAP asks how soon to act; RSN knows only when and how bad, so this is derived."""
    if revoked:
        return "Past"
    if occurred_at > sent:
        return "Future"
    return "Immediate" if severity in ("critical", "high") else "Expected"


def tlp_from(scope: str, claimed: str | None) -> str:
    """The marking of an imported alert: rsn:tlp, never looser than the scope allows."""
    if claimed in TLP_ORDER and TLP_ORDER.index(claimed) >= TLP_ORDER.index(SCOPE_FLOOR[scope]):
        return claimed
    return SCOPE_TLP[scope]


def restriction(tlp: str, distribution: Mapping[str, Any]) -> str:
    if tlp == "green":
        return "TLP:GREEN: for the users of the receiving node and its agreed peers; not public."
    parts = [
        f"{label} {', '.join(distribution.get(key) or [])}"
        for key, label in (
            ("member_states", "member states"),
            ("organizations", "organizations"),
            ("sharing_groups", "sharing groups"),
        )
        if distribution.get(key)
    ]
    extra = f", and {'; '.join(parts)}" if parts else ""
    return f"TLP:AMBER: for the originator's organization{extra}; not public."


def addresses(names: Iterable[str]) -> str:
    """CAP's space-delimited list; a name with a space goes in double quotes."""
    unique = dict.fromkeys(n for n in names if n)
    return " ".join(f'"{n}"' if re.search(r"\s", n) else n for n in unique)


def cap_time(value: datetime | str) -> str:
    """CAP's dateTime: to the second, with a numeric offset (never `Z`)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def xml_text(value: object) -> str:
    """Text XML 1.0 can carry: the few characters it cannot (U+FFFE, say) become U+FFFD."""
    return NOT_XML.sub("\ufffd", str(value))


def safe_id(text: str) -> str:
    """Identifiers and senders may hold no spaces, commas, `<` or `&`."""
    return UNSAFE_ID.sub("-", xml_text(text).strip()) or "rsn"


def number(value: float) -> str:
    """A coordinate in plain decimal, exactly as stored (no exponent, which CAP refuses)."""
    return format(Decimal(repr(float(value))), "f")


def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found is not None else code


def country_code(code: str) -> str | None:
    """An ISO 3166-1 alpha-2 code from an alpha-2 or alpha-3 code."""
    text = code.strip().upper()
    found = None
    if len(text) == 2:
        found = pycountry.countries.get(alpha_2=text)
    elif len(text) == 3:
        found = pycountry.countries.get(alpha_3=text)
    return str(found.alpha_2) if found is not None else None


def country_named(text: str) -> str | None:
    """The country a description names in full ("Bangladesh", "Bay of Bengal (Myanmar)").

    Only whole names count: "Brawley, CA" must not read as Canada.
    """
    for part in [text, *re.split(r"[,;()/]", text)]:
        candidate = " ".join(part.split()).lower()
        if not candidate:
            continue
        try:
            found = pycountry.countries.lookup(candidate)
        except LookupError:
            continue
        names = (getattr(found, a, "") for a in ("name", "official_name", "common_name"))
        if candidate in {str(n).lower() for n in names if n}:
            return str(found.alpha_2)
    return None
