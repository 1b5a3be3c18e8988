"""Who is who: member states, organizations, users, sharing groups, tokens, packs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base, UTCDateTime, new_id, utcnow

ORG_TYPES = (
    "government-agency",
    "regional-body",
    "cso",
    "private-sector",
    "international-organization",
)
ROLES = ("analyst", "duty-officer", "liaison", "policymaker", "observer", "node-admin")


class MemberState(Base):
    __tablename__ = "member_states"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The organization that approves new organizations in the state, changes that
    # bring one into it, and the first members of each (rsn.registry.approvals).
    # Only the operator sets it, on the command line.
    focal_point_org_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", use_alter=True, name="fk_member_states_focal_point")
    )


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(40))
    member_state: Mapped[str | None] = mapped_column(ForeignKey("member_states.code"), index=True)
    sector: Mapped[str | None] = mapped_column(String(80))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Whether what would be read outside the organization waits for one of its
    # releasers (rsn.sharing.release); off unless the organization asks for it.
    release_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Added by a node administrator and not yet approved by its state's focal point.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A new member waits, disabled, until their organization approves them: so every
    # check that refuses a disabled account refuses a pending one too.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Designated by the operator: approves the organization's members like its
    # liaison and duty officers do.
    org_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Where the node may send this user mail: set by the user, used only once they
    # have proved they receive it (`email_verified_at`, rsn.registry.email).
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SharingGroup(Base):
    __tablename__ = "sharing_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    owner_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SharingGroupMember(Base):
    """A member is an organization or a member state (meaning its government agencies)."""

    __tablename__ = "sharing_group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    ref: Mapped[str] = mapped_column(String(36), primary_key=True)

    __table_args__ = (Index("ix_sharing_group_members_ref", "kind", "ref"),)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RegionPackRecord(Base):
    """A loaded region pack, kept whole so the node works from its own copy."""

    __tablename__ = "region_packs"

    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(40))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NodeSetting(Base):
    __tablename__ = "node_settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Enrolment(Base):
    """A one-time link with which a user sets their own password (new account or reset).

    An approver of the user's organization creates it (rsn.registry.approvals) and
    hands the link over; only the link's hash is stored, and no administrator ever
    sees the link or sets the password.
    """

    __tablename__ = "enrolments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailCheck(Base):
    """A one-time code mailed to an address a user gave, proving they receive its mail.

    Only the code's hash is kept (`id`); the address is the one the code was sent to,
    so a code proves that address and no later one.
    """

    __tablename__ = "email_checks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


APPROVAL_KINDS = ("member", "reset", "role", "organization", "organization-change")


class Approval(Base):
    """A change to who is who that the affected organization or state must approve.

    A node administrator asks; the approving organization (fixed when asked) decides.
    So the administrator manages the registry without ever becoming a reader.
    """

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    approver_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (Index("ix_approvals_waiting", "approver_org_id", "decided_at"),)


class AccountNotice(Base):
    """Something done to or for a user's account, shown to them until they dismiss it."""

    __tablename__ = "account_notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_account_notices_open", "user_id", "dismissed_at"),)
