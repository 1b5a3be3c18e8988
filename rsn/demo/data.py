"""The demo's data files, read and checked whole before anything is written.

The cast, the places and the scenario's sentences are data so they can be read
and corrected without reading the generator. Every cross-reference (a user's
organization, a beat's category, a template's placeholder) is checked when the
file is read, so a typo fails `rsn demo` at once with the file and field named
rather than producing a node with a hole in it.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable
from importlib import resources
from typing import Annotated, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from rsn.registry.models import ROLES
from rsn.registry.regionpacks import Alpha2, OrgType
from rsn.registry.taxonomy import FieldIssue, load_base, parse_yaml, validate_file
from rsn.reports.schemas import Credibility, ObservableType, Reliability, Severity
from rsn.sharing.models import Tlp

Kind = Literal["cert", "police", "maritime", "disaster", "border", "regional", "cso"]
Where = Literal["sea", "border", "any"]
Text = Annotated[str, Field(min_length=1)]
EDITORS = frozenset({"analyst", "duty-officer"})
_M = TypeVar("_M", bound=BaseModel)

# Placeholders every template may use; observables add theirs (see OBSERVABLE_KEYS).
CONTEXT_KEYS = frozenset(
    {
        "place", "state", "neighbour", "sea", "agency", "name", "description",
        "n", "n2", "kg", "nm", "hour", "mag", "pct",
        "vessel", "vessel_name", "syndicate", "cluster", "sector", "drug", "wildlife",
    }
)  # fmt: skip
OBSERVABLE_KEYS = {
    "phone-number": "phone",
    "domain-name": "domain",
    "url": "url",
    "email-addr": "email",
    "ipv4-addr": "ip",
    "ipv6-addr": "ipv6",
    "file-sha256": "sha256",
    "file-md5": "md5",
    "file-sha1": "sha1",
    "vessel-imo": "imo",
    "vessel-mmsi": "mmsi",
    "vehicle-plate": "plate",
    "person-name": "person",
    "group-name": "group",
    "crypto-wallet": "wallet",
    "bank-account": "account",
}


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"{role!r} is not one of {', '.join(ROLES)}")
    return role


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- cast.yaml ------------------------------------------------------------------


class OrgSpec(_Strict):
    slug: Text
    name: Text
    state: Alpha2
    kind: Kind
    type: OrgType = "government-agency"
    release_required: bool = False
    focal_point: bool = False  # else the state's first organization listed is


class UserSpec(_Strict):
    username: Text
    name: Text
    org: Text
    role: Annotated[str, AfterValidator(_check_role)]
    account: bool = False


class GroupSpec(_Strict):
    slug: Text
    name: Text
    owner: Text
    by: Text
    organizations: tuple[Text, ...] = ()
    member_states: tuple[Alpha2, ...] = ()


class HeldSpec(_Strict):
    """A report filed after the organization turned release on, so the queue is not empty."""

    by: Text
    title: Text
    category: Text
    description: Text
    country: Alpha2
    severity: Text
    tlp: Text
    member_states: tuple[Alpha2, ...] = ()
    days_ago: int = 1


class AskedSpec(_Strict):
    """What an administrator asked for and no approver decided yet, so a queue is not empty."""

    by: Text
    member: UserSpec | None = None
    organization: OrgSpec | None = None


class Cast(_Strict):
    """Who is on the node; every name used in it refers to something defined in it."""

    organizations: tuple[OrgSpec, ...] = Field(min_length=1)
    users: tuple[UserSpec, ...] = Field(min_length=1)
    sharing_groups: tuple[GroupSpec, ...] = ()
    awaiting_release: tuple[HeldSpec, ...] = ()
    awaiting_approval: tuple[AskedSpec, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Cast:
        orgs = {o.slug for o in self.organizations}
        users = {u.username: u for u in self.users}
        for i, user in enumerate(self.users):
            if user.org not in orgs:
                raise FieldIssue(("users", i, "org"), f"{user.org!r} is not an organization")
        for i, group in enumerate(self.sharing_groups):
            _check_group(i, group, orgs, users)
        for i, held in enumerate(self.awaiting_release):
            if held.by not in users:
                raise FieldIssue(("awaiting_release", i, "by"), f"{held.by!r} is not a user")
        for i, asked in enumerate(self.awaiting_approval):
            if asked.by not in users:
                raise FieldIssue(("awaiting_approval", i, "by"), f"{asked.by!r} is not a user")
            if asked.member and asked.member.org not in orgs:
                where = ("awaiting_approval", i, "member", "org")
                raise FieldIssue(where, f"{asked.member.org!r} is not an organization")
        editors = {u.org for u in self.users if u.role in EDITORS}
        for i, org in enumerate(self.organizations):
            if org.slug not in editors:
                raise FieldIssue(("organizations", i), "needs an analyst or duty officer")
        return self

    def org(self, slug: str) -> OrgSpec:
        for org in self.organizations:
            if org.slug == slug:
                return org
        raise KeyError(f"no organization {slug!r} in cast.yaml")

    def user(self, username: str) -> UserSpec:
        for user in self.users:
            if user.username == username:
                return user
        raise KeyError(f"no user {username!r} in cast.yaml")

    def editor_of(self, slug: str) -> UserSpec:
        """The user who files an organization's reports (one who may also edit them)."""
        return next(u for u in self.users if u.org == slug and u.role in EDITORS)

    def groups_of(self, org: OrgSpec) -> list[str]:
        """Sharing groups `org` belongs to, by name or as a government agency of a state."""
        by_state = org.type == "government-agency"
        return [
            g.slug
            for g in self.sharing_groups
            if org.slug in g.organizations or (by_state and org.state in g.member_states)
        ]


def _check_group(i: int, group: GroupSpec, orgs: set[str], users: dict[str, UserSpec]) -> None:
    named = [("owner", group.owner), *(("organizations", o) for o in group.organizations)]
    for field, slug in named:
        if slug not in orgs:
            raise FieldIssue(("sharing_groups", i, field), f"{slug!r} is not an organization")
    if group.by not in users or users[group.by].org != group.owner:
        raise FieldIssue(("sharing_groups", i, "by"), f"{group.by!r} is not a user of the owner")


# --- places.yaml ----------------------------------------------------------------


class Place(_Strict):
    name: Text
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    sea: Text | None = None
    border: Alpha2 | None = None
    facing: tuple[Alpha2, ...] = ()


class Places(_Strict):
    neighbours: dict[Alpha2, tuple[Alpha2, ...]]
    places: dict[Alpha2, tuple[Place, ...]]

    @model_validator(mode="after")
    def _consistent(self) -> Places:
        for code, found in self.places.items():
            if code not in self.neighbours:
                raise FieldIssue(("neighbours",), f"{code} has places but no neighbours")
            if not found:
                raise FieldIssue(("places", code), "lists no place")
        return self

    def named(self, name: str) -> tuple[str, Place]:
        """A place by name, with the state it is in."""
        for code, found in self.places.items():
            for place in found:
                if place.name == name:
                    return code, place
        raise KeyError(name)


# --- scenario.yaml --------------------------------------------------------------


class Template(_Strict):
    """A title and the detail sentence that goes with it."""

    title: Text
    detail: Text


class CategorySpec(_Strict):
    where: Where = "any"
    observables: tuple[ObservableType, ...] = ()
    optional: tuple[ObservableType, ...] = ()
    severity: tuple[float, float, float, float] = (3, 4, 2.5, 0.5)  # low, medium, high, critical
    reports: tuple[Template, ...] = Field(min_length=1)


class UpdateNote(_Strict):
    note: Text
    confidence: int = Field(default=0, ge=-50, le=50)
    severity: int = Field(default=0, ge=-1, le=1)


class Names(_Strict):
    given: tuple[Text, ...] = Field(min_length=1)
    family: tuple[Text, ...] = Field(min_length=1)


class Vocabulary(_Strict):
    vessel: tuple[Text, ...] = Field(min_length=1)
    vessel_name: tuple[Text, ...] = Field(min_length=1)
    syndicate: tuple[Text, ...] = Field(min_length=1)
    cluster: tuple[Text, ...] = Field(min_length=1)
    sector: tuple[Text, ...] = Field(min_length=1)
    drug: tuple[Text, ...] = Field(min_length=1)
    wildlife: tuple[Text, ...] = Field(min_length=1)
    names: dict[Alpha2, Names] = Field(min_length=1)
    group: tuple[Text, ...] = Field(min_length=1)


class Scenario(_Strict):
    """How each kind of agency reports, and the sentences its reports are made of."""

    beats: dict[Kind, dict[str, float]]
    volume: dict[Kind, float]
    partners: dict[Kind, tuple[Kind, ...]]
    tlp: dict[Kind, dict[Tlp, float]]
    closings: dict[Kind, tuple[Text, ...]]
    reliability: dict[Kind, dict[Reliability, float]] = Field(default_factory=dict)
    source_notes: dict[Reliability, Text]
    updates: tuple[UpdateNote, ...] = Field(min_length=1)
    revocation_reasons: tuple[Text, ...] = Field(min_length=1)
    vocabulary: Vocabulary
    categories: dict[str, CategorySpec]

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        known = load_base().ids()
        for cid in self.categories:
            if cid not in known:
                raise FieldIssue(("categories", cid), "is not a category of the base taxonomy")
        for kind, beat in self.beats.items():
            for cid in beat:
                if cid not in self.categories:
                    raise FieldIssue(("beats", kind, cid), "has no entry under categories")
        for cid, spec in self.categories.items():
            _check_templates(cid, spec)
        for i, update in enumerate(self.updates):
            _check_placeholders(("updates", i, "note"), update.note, {"neighbour"})
        for name in ("beats", "volume", "partners", "tlp", "closings"):
            missing = set(get_args(Kind)) - set(getattr(self, name))
            if missing:
                raise FieldIssue((name,), f"no entry for {', '.join(sorted(missing))}")
        return self


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _check_placeholders(loc: tuple[str | int, ...], text: str, allowed: Iterable[str]) -> None:
    unknown = placeholders(text) - set(allowed)
    if unknown:
        raise FieldIssue(loc, f"unknown placeholder(s) {', '.join(sorted(unknown))}")


def _check_templates(cid: str, spec: CategorySpec) -> None:
    allowed = CONTEXT_KEYS | {OBSERVABLE_KEYS[t] for t in spec.observables}
    for i, template in enumerate(spec.reports):
        for name in ("title", "detail"):
            _check_placeholders(
                ("categories", cid, "reports", i, name), getattr(template, name), allowed
            )


# --- storylines.yaml ------------------------------------------------------------


class ObservableSpec(_Strict):
    type: ObservableType
    value: Text


class UpdateSpec(_Strict):
    note: Text
    severity: Severity | None = None
    confidence: int | None = Field(default=None, ge=0, le=100)


class Storyline(_Strict):
    """One hand-written report, planted so selectors recur across states."""

    key: Text
    days_ago: float = Field(gt=0, lt=90)
    by: Text
    place: Text
    category: Text
    severity: Severity
    confidence: int = Field(ge=0, le=100)
    grade: Annotated[str, Field(pattern=r"^[A-F][1-6]$")]
    tlp: Tlp
    distribution: dict[str, tuple[Text, ...]] = Field(default_factory=dict)
    title: Text
    description: Text
    observables: tuple[ObservableSpec, ...] = ()
    update: UpdateSpec | None = None

    @property
    def reliability(self) -> Reliability:
        return self.grade[0]  # type: ignore[return-value]  # checked by the pattern

    @property
    def credibility(self) -> Credibility:
        return self.grade[1]  # type: ignore[return-value]  # checked by the pattern


class Storylines(_Strict):
    storylines: tuple[Storyline, ...]


# --- loading ------------------------------------------------------------------


def _read(model: type[_M], name: str) -> _M:
    resource = resources.files("rsn.demo") / name
    source = str(resource)
    return validate_file(model, parse_yaml(resource.read_text(encoding="utf-8"), source), source)


@functools.cache
def cast() -> Cast:
    return _read(Cast, "cast.yaml")


@functools.cache
def places() -> Places:
    return _read(Places, "places.yaml")


@functools.cache
def scenario() -> Scenario:
    return _read(Scenario, "scenario.yaml")


@functools.cache
def storylines() -> tuple[Storyline, ...]:
    return _read(Storylines, "storylines.yaml").storylines
