"""The one place that decides who may read what, for every path of the node.

Other features ask it; none re-implements it. See `policy` for the rules.
"""

from __future__ import annotations

from rsn.sharing.distribution import audience_for
from rsn.sharing.distribution import resolve as resolve_distribution
from rsn.sharing.distribution import resolve_many as resolve_distributions
from rsn.sharing.models import TLP_LEVELS, Shareable, SharingGrant
from rsn.sharing.policy import (
    Audience,
    AudienceOrganization,
    AudiencePerson,
    AudienceState,
    Distribution,
    Principal,
    Reason,
    audience,
    can_read,
    discloses,
    item_keys,
    public_reader,
    reader_keys,
    set_grants,
    visible,
)
from rsn.sharing.principal import for_user, from_token, may_change, may_file

__all__ = [
    "TLP_LEVELS",
    "Audience",
    "AudienceOrganization",
    "AudiencePerson",
    "AudienceState",
    "Distribution",
    "Principal",
    "Reason",
    "Shareable",
    "SharingGrant",
    "audience",
    "audience_for",
    "can_read",
    "discloses",
    "for_user",
    "from_token",
    "item_keys",
    "may_change",
    "may_file",
    "public_reader",
    "reader_keys",
    "resolve_distribution",
    "resolve_distributions",
    "set_grants",
    "visible",
]
