"""HTTP routes for the registry: who is who, the taxonomy, and who would see an item."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from rsn import sharing
from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.errors import Forbidden
from rsn.registry import catalog, service
from rsn.reports.schemas import DistributionIn
from rsn.sharing import Tlp

router = APIRouter(prefix="/api/v1", tags=["registry"], route_class=JSONRoute)


class MemberStateRead(BaseModel):
    code: str
    name: str


class OrganizationRead(BaseModel):
    slug: str
    name: str
    type: str
    member_state: str | None
    sector: str | None


class SharingGroupRead(BaseModel):
    slug: str
    name: str
    owner: str
    organizations: list[str]
    member_states: list[str]


class UserRead(BaseModel):
    username: str
    display_name: str
    organization: str


class Me(UserRead):
    role: str
    member_state: str | None


class CategoryRead(BaseModel):
    id: str
    name: str
    description: str
    group: str


class TaxonomyRead(BaseModel):
    version: str
    extensions: list[str]
    categories: list[CategoryRead]


class AudienceQuery(BaseModel):
    tlp: Tlp
    distribution: DistributionIn = DistributionIn()


class AudienceReasonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(
        description="public, members, originator, organization, state, group or person"
    )
    ref: str = Field(description="the state's code or the sharing group's slug, else empty")
    name: str = Field(description="the sharing group's name, else empty")


class AudienceOrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    member_state: str | None
    user_count: int
    whole: bool = Field(description="every active user of it reads (it came in as a whole)")
    reasons: list[AudienceReasonRead]


class AudienceStateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str | None = Field(description="null for the organizations of no member state")
    name: str
    whole: bool = Field(description="every government agency of the state reads")
    user_count: int
    organizations: list[AudienceOrganizationRead]


class AudiencePersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    organization: str
    organization_name: str


class AudienceRead(BaseModel):
    member_states: list[str] = Field(
        description="states whose every government agency reads: listed, or in a listed group"
    )
    organizations: list[str] = Field(description="slugs of every organization with a reader")
    user_count: int = Field(description="active users who would read it")
    scope: Literal["public", "members", "distribution"]
    organization_count: int
    states: list[AudienceStateRead] = Field(description="the readers grouped by member state")
    people: list[AudiencePersonRead] = Field(description="TLP:RED: the people named, by name")
    needs_release: bool = Field(
        description="filed now, it would wait for a releaser of the caller's organization"
    )


@router.get("/me", response_model=Me)
def me(principal: PrincipalDep) -> Me:
    return Me(
        username=principal.username,
        display_name=principal.display_name,
        organization=principal.organization_slug,
        role=principal.role,
        member_state=principal.member_state,
    )


@router.get("/member-states", response_model=list[MemberStateRead])
def member_states(node: NodeDep, _: PrincipalDep) -> list[MemberStateRead]:
    with node.db.session() as session:
        return [
            MemberStateRead(code=s.code, name=s.name) for s in service.get_member_states(session)
        ]


@router.get("/organizations", response_model=list[OrganizationRead])
def organizations(node: NodeDep, _: PrincipalDep) -> list[OrganizationRead]:
    with node.db.session() as session:
        return [
            OrganizationRead(
                slug=o.slug, name=o.name, type=o.type, member_state=o.member_state, sector=o.sector
            )
            for o in service.get_organizations(session)
        ]


@router.get("/sharing-groups", response_model=list[SharingGroupRead])
def sharing_groups(node: NodeDep, _: PrincipalDep) -> list[SharingGroupRead]:
    with node.db.session() as session:
        slugs = {o.id: o.slug for o in service.get_organizations(session)}
        out = []
        for group in service.get_sharing_groups(session):
            members = service.group_members(session, group=group)
            out.append(
                SharingGroupRead(
                    slug=group.slug,
                    name=group.name,
                    owner=slugs.get(group.owner_org_id, ""),
                    organizations=sorted(
                        slugs.get(m.ref, "") for m in members if m.kind == "organization"
                    ),
                    member_states=sorted(m.ref for m in members if m.kind == "member_state"),
                )
            )
        return out


def _not_observer(principal: PrincipalDep) -> None:
    """Who may read the directory: the audience endpoint answers names too, so it asks the same."""
    if not sharing.may_read_directory(principal):
        raise Forbidden("Observers have no use for the user directory and may not read it.")


@router.get("/users", response_model=list[UserRead], dependencies=[Depends(_not_observer)])
def users(node: NodeDep, _: PrincipalDep) -> list[UserRead]:
    """The user directory (names and organizations), so red items can name their readers."""
    with node.db.session() as session:
        slugs = {o.id: o.slug for o in service.get_organizations(session)}
        return [
            UserRead(
                username=u.username,
                display_name=u.display_name,
                organization=slugs.get(u.organization_id, ""),
            )
            for u in service.get_users(session, include_disabled=False)
        ]


@router.get("/taxonomy", response_model=TaxonomyRead)
def taxonomy(node: NodeDep, _: PrincipalDep) -> TaxonomyRead:
    with node.db.session() as session:
        tax = catalog.node_taxonomy(session)
    return TaxonomyRead(
        version=tax.version,
        extensions=list(tax.extensions),
        categories=[
            CategoryRead(id=c.id, name=c.name, description=c.description, group=c.group)
            for c in tax.categories
        ],
    )


@router.post(
    "/sharing/audience", response_model=AudienceRead, dependencies=[Depends(_not_observer)]
)
def audience(query: AudienceQuery, node: NodeDep, principal: PrincipalDep) -> AudienceRead:
    """Who would read an item marked and distributed so, if the caller filed it now."""
    with node.db.session() as session:
        names = query.distribution.model_dump()
        found = sharing.audience_for(session, principal, query.tlp, names)
        dist = sharing.resolve_distribution(session, query.tlp, names)
        held = sharing.held_if_filed(session, principal=principal, tlp=query.tlp, dist=dist)
    return AudienceRead(
        member_states=found.member_states,
        organizations=sorted(o.slug for o in found.organizations),
        user_count=found.user_count,
        scope=found.scope,
        organization_count=len(found.organizations),
        states=[AudienceStateRead.model_validate(s) for s in found.states],
        people=[AudiencePersonRead.model_validate(p) for p in found.people],
        needs_release=held,
    )
