"""The demo scenario: a few hundred reports over 90 days, planned before any is written.

Planning is pure (data files, the node's taxonomy, a seeded `random.Random` and
`now` in; validated `ReportCreate`s out), so the same seed gives the same
scenario on every machine and a template mistake fails here, not halfway through
a transaction. Three layers make the picture:

- storylines: hand-written reports whose selectors recur across states, so
  correlation has something to find (see storylines.yaml);
- coverage: one report per leaf category of the taxonomy, so every filter,
  chart and detector has data;
- filler: each agency reports its own beat (CERTs cyber, coast guards the sea,
  police trafficking, disaster authorities hazards) in its own places.

A few reports then get a second version and two are revoked.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from rsn.demo import selectors
from rsn.demo.data import (
    OBSERVABLE_KEYS,
    Cast,
    CategorySpec,
    OrgSpec,
    Place,
    Places,
    Scenario,
    Storyline,
    Template,
    cast,
    places,
    scenario,
    storylines,
)
from rsn.registry.service import country_name
from rsn.registry.taxonomy import Category
from rsn.reports.schemas import Credibility, Reliability, ReportCreate, ReportUpdate

REPORTS = 300
DAYS = 90
UPDATE_SHARE = 0.07
OPTIONAL_SHARE = 0.35
SEVERITIES = ("low", "medium", "high", "critical")
# Admiralty grading: how often each grade is given, and the confidence it suggests.
RELIABILITY: dict[Reliability, float] = {"A": 1, "B": 4, "C": 4, "D": 2, "E": 0.5, "F": 1.5}
CREDIBILITY: dict[Credibility, float] = {"1": 1, "2": 4, "3": 4, "4": 2, "5": 0.5, "6": 1}
CONFIDENCE: dict[Credibility, int] = {"1": 90, "2": 75, "3": 60, "4": 40, "5": 20, "6": 50}
# A category no beat covers (a region pack's own) still gets a report, in plain words.
GENERIC = CategorySpec(
    reports=(
        Template(
            title="{name} reported near {place}",
            detail="Member-state reporting from {place}: {description}",
        ),
    )
)


@dataclass(frozen=True)
class Planned:
    """One report to write: who files it, what it says, and what happens to it next."""

    username: str
    data: ReportCreate
    update: ReportUpdate | None = None
    revoke: str | None = None
    key: str | None = None


def leaves(categories: Sequence[Category]) -> list[Category]:
    """The categories nothing else refines: the ones an analyst actually picks."""
    parents = {c.parent for c in categories}
    return sorted((c for c in categories if c.id not in parents), key=lambda c: c.id)


def plan(
    categories: Sequence[Category], *, now: datetime, rng: random.Random, total: int = REPORTS
) -> list[Planned]:
    """`total` reports (at least one per leaf category), oldest first."""
    planner = _Planner(cast(), places(), scenario(), rng, now)
    items = [planner.storyline(s) for s in storylines()]
    items += [planner.covering(c) for c in leaves(categories)]
    menu = planner.menu({c.id: c for c in categories})
    while len(items) < total:
        items.append(planner.filler(menu))
    items = planner.follow_ups(items)
    return sorted(items, key=lambda p: p.data.occurred_at)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Planner:
    """The draws of one scenario, in a fixed order so a seed always gives the same one."""

    def __init__(
        self, cast: Cast, places: Places, scenario: Scenario, rng: random.Random, now: datetime
    ) -> None:
        self.cast, self.places, self.scenario = cast, places, scenario
        self.rng, self.now = rng, now
        self.secretariat = next(o.slug for o in cast.organizations if o.kind == "regional")

    # --- the three layers ------------------------------------------------------

    def storyline(self, s: Storyline) -> Planned:
        state, place = self.places.named(s.place)
        org = self.cast.org(self.cast.user(s.by).org)
        spec = self.scenario.categories.get(s.category, GENERIC)
        at_sea = spec.where == "sea" or org.kind == "maritime"
        body = {
            "title": s.title,
            "category": s.category,
            "description": s.description,
            "occurred_at": self.now - timedelta(days=s.days_ago),
            "country": state,
            "location": self._location(place, at_sea),
            "sea_area": place.sea if at_sea else None,
            "severity": s.severity,
            "confidence": s.confidence,
            "source_reliability": s.reliability,
            "information_credibility": s.credibility,
            "tlp": s.tlp,
            "distribution": s.distribution,
            "observables": [o.model_dump() for o in s.observables],
        }
        update = None
        if s.update is not None:
            changes = {"description": f"{s.description}\n\n{s.update.note}"}
            changes |= s.update.model_dump(include={"severity", "confidence"}, exclude_none=True)
            update = ReportUpdate.model_validate(changes)
        return Planned(s.by, ReportCreate.model_validate(body), update=update, key=s.key)

    def covering(self, category: Category) -> Planned:
        """A report in `category` from an agency whose beat it is (else the secretariat)."""
        spec = self.scenario.categories.get(category.id, GENERIC)
        orgs = [
            o
            for o in self.cast.organizations
            if category.id in self.scenario.beats[o.kind] and self._sites(o, spec)
        ]
        org = self.rng.choice(orgs) if orgs else self.cast.org(self.secretariat)
        return self._compose(org, category, spec)

    def menu(self, categories: dict[str, Category]) -> list[tuple[OrgSpec, Category, float]]:
        """Every (agency, category) a filler report may be, weighted by volume, then beat."""
        rows = []
        for org in self.cast.organizations:
            beat = {
                cid: w
                for cid, w in self.scenario.beats[org.kind].items()
                if cid in categories and self._sites(org, self.scenario.categories[cid])
            }
            share = self.scenario.volume[org.kind] / (sum(beat.values()) or 1)
            rows += [(org, categories[cid], w * share) for cid, w in beat.items()]
        if not rows:
            raise ValueError("no agency of cast.yaml has a category of this node on its beat")
        return rows

    def filler(self, menu: Sequence[tuple[OrgSpec, Category, float]]) -> Planned:
        """A report from an agency picked by volume, on its own beat."""
        org, category, _ = self.rng.choices(menu, [weight for *_, weight in menu])[0]
        return self._compose(org, category, self.scenario.categories[category.id])

    def follow_ups(self, items: list[Planned]) -> list[Planned]:
        """A second version for a few generated reports; two are revoked instead."""
        generated = [i for i, p in enumerate(items) if p.key is None]
        reasons = list(self.scenario.revocation_reasons)
        revoked = dict(zip(self.rng.sample(generated, len(reasons)), reasons, strict=True))
        out = []
        for i, item in enumerate(items):
            if i in revoked:
                item = replace(item, revoke=revoked[i])
            elif item.key is None and self.rng.random() < UPDATE_SHARE:
                item = replace(item, update=self._update(item.data))
            out.append(item)
        return out

    # --- one report ------------------------------------------------------------

    def _sites(self, org: OrgSpec, spec: CategorySpec) -> list[tuple[str, Place]]:
        """Where `org` could report a `spec` event: its own state, or anywhere if regional."""
        where = spec.where if spec.where != "any" or org.kind != "maritime" else "sea"
        regional = org.kind in ("regional", "cso")
        states = list(self.places.places) if regional else [org.state]
        return [
            (state, place)
            for state in states
            for place in self.places.places.get(state, ())
            if where == "any" or (place.sea if where == "sea" else place.border)
        ]

    def _compose(self, org: OrgSpec, category: Category, spec: CategorySpec) -> Planned:
        rng = self.rng
        state, place = rng.choice(self._sites(org, spec))
        at_sea = bool(place.sea) and (spec.where == "sea" or org.kind == "maritime")
        context = self._context(org, state, place, category, at_sea)
        kinds = list(spec.observables) + [k for k in spec.optional if rng.random() < OPTIONAL_SHARE]
        found = selectors.make_all(rng, kinds, selectors.Where(state, self.scenario.vocabulary))
        context |= {OBSERVABLE_KEYS[k]: v for k, v in found.items()}
        sources = self.scenario.reliability.get(org.kind, RELIABILITY)
        reliability = rng.choices(list(sources), list(sources.values()))[0]
        credibility = rng.choices(list(CREDIBILITY), list(CREDIBILITY.values()))[0]
        tlp, distribution = self._marking(org, state, self._near(state, place, at_sea))
        template = rng.choice(spec.reports)
        body = {
            "title": _capitalised(template.title.format_map(context)),
            "category": category.id,
            "description": self._description(org, template, context, reliability),
            "occurred_at": self.now - timedelta(days=rng.uniform(0.2, DAYS)),
            "country": state,
            "location": self._location(place, at_sea),
            "sea_area": place.sea if at_sea else None,
            "severity": rng.choices(SEVERITIES, spec.severity)[0],
            "confidence": max(5, min(99, CONFIDENCE[credibility] + rng.randint(-10, 10))),
            "source_reliability": reliability,
            "information_credibility": credibility,
            "tlp": tlp,
            "distribution": distribution,
            "observables": [{"type": k, "value": v} for k, v in found.items()],
        }
        username = self.cast.editor_of(org.slug).username
        return Planned(username, ReportCreate.model_validate(body))

    def _near(self, state: str, place: Place, at_sea: bool) -> list[str]:
        """The members a report from `place` concerns most: across its border or its water."""
        if place.border:
            return [place.border]
        if at_sea and place.facing:
            return list(place.facing)
        return list(self.places.neighbours[state])

    def _context(
        self, org: OrgSpec, state: str, place: Place, category: Category, at_sea: bool
    ) -> dict[str, str]:
        """Everything a template may name, drawn afresh for each report."""
        rng, words = self.rng, self.scenario.vocabulary
        neighbour = rng.choice(self._near(state, place, at_sea))
        return {
            "place": place.name,
            "state": country_name(state) or state,
            "neighbour": country_name(neighbour) or neighbour,
            "sea": place.sea or "Bay of Bengal",
            "agency": org.name,
            "name": category.name,
            "description": category.description,
            "n": str(rng.randint(2, 9)),
            "n2": str(rng.randint(12, 480)),
            "kg": str(rng.randint(4, 300)),
            "nm": str(rng.randint(3, 60)),
            "hour": f"{rng.randint(0, 23):02d}{rng.choice(('00', '15', '30', '45'))}",
            "mag": f"{rng.uniform(4.6, 7.4):.1f}",
            "pct": str(rng.randint(2, 7) * 10),
            "vessel": rng.choice(words.vessel),
            "vessel_name": rng.choice(words.vessel_name),
            "syndicate": rng.choice(words.syndicate),
            "cluster": rng.choice(words.cluster),
            "sector": rng.choice(words.sector),
            "drug": rng.choice(words.drug),
            "wildlife": rng.choice(words.wildlife),
        }

    def _description(
        self, org: OrgSpec, template: Template, context: dict[str, str], reliability: Reliability
    ) -> str:
        detail = _capitalised(template.detail.format_map(context))
        source = self.scenario.source_notes.get(reliability, "")
        closing = self.rng.choice(self.scenario.closings[org.kind])
        return f"{detail} {source}\n\n{closing}".replace(" \n", "\n")

    def _location(self, place: Place, at_sea: bool) -> dict[str, float]:
        """Near the place: within a few kilometres on land, further out at sea."""
        spread = 0.25 if at_sea else 0.05
        return {
            "lat": round(place.lat + self.rng.uniform(-spread, spread), 4),
            "lon": round(place.lon + self.rng.uniform(-spread, spread), 4),
        }

    # --- markings --------------------------------------------------------------

    def _marking(self, org: OrgSpec, state: str, near: list[str]) -> tuple[str, dict[str, Any]]:
        """A TLP level as this kind of agency tends to choose, and a distribution that fits it."""
        weights = self.scenario.tlp[org.kind]
        tlp = self.rng.choices(list(weights), list(weights.values()))[0]
        if tlp == "amber":
            return tlp, self._amber(org, state, near)
        if tlp == "amber+strict":
            return tlp, {"organizations": self._partners(org, near, self.rng.randint(1, 2))}
        if tlp == "red":
            partners = self._partners(org, near, self.rng.randint(1, 2))
            return tlp, {"users": [self.cast.editor_of(p).username for p in partners]}
        return tlp, {}

    def _amber(self, org: OrgSpec, state: str, near: list[str]) -> dict[str, list[str]]:
        rng = self.rng
        states = sorted(({state, *near}) - {org.state})
        distribution: dict[str, list[str]] = {}
        if states and rng.random() < 0.5:
            distribution["member_states"] = rng.sample(states, min(len(states), rng.randint(1, 2)))
        organizations = []
        if org.slug != self.secretariat and rng.random() < 0.5:
            organizations.append(self.secretariat)
        if rng.random() < 0.3:
            organizations += self._partners(org, near, 1)
        if organizations:
            distribution["organizations"] = organizations
        groups = self.cast.groups_of(org)
        if groups and rng.random() < 0.6:
            distribution["sharing_groups"] = [rng.choice(groups)]
        return distribution

    def _partners(self, org: OrgSpec, near: list[str], count: int) -> list[str]:
        """Counterpart agencies in other states, most often the nearest ones."""
        kinds = self.scenario.partners[org.kind]
        pool = [o for o in self.cast.organizations if o.kind in kinds and o.state != org.state]
        closest = [o for o in pool if o.state in near]
        source = closest if closest and self.rng.random() < 0.7 else pool
        return [o.slug for o in self.rng.sample(source, min(count, len(source)))]

    def _update(self, data: ReportCreate) -> ReportUpdate:
        rng = self.rng
        change = rng.choice(self.scenario.updates)
        neighbour = rng.choice(self.places.neighbours.get(data.country, ("IN",)))
        note = change.note.format(neighbour=country_name(neighbour) or neighbour)
        step = SEVERITIES.index(data.severity) + change.severity
        return ReportUpdate.model_validate(
            {
                "description": f"{data.description}\n\n{note}",
                "confidence": max(5, min(99, data.confidence + change.confidence)),
                "severity": SEVERITIES[max(0, min(3, step))],
            }
        )
