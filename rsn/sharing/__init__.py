"""The one place that decides who may read what, for every path of the node.

Other features ask it; none re-implements it. See `policy` for the rules.
"""

from __future__ import annotations

from rsn.sharing.disclosure import disclose
from rsn.sharing.distribution import audience_for
from rsn.sharing.distribution import resolve as resolve_distribution
from rsn.sharing.distribution import resolve_many as resolve_distributions
from rsn.sharing.models import (
    LEAVES_NODE,
    TLP_LEVELS,
    UNMARKED,
    Shareable,
    SharingGrant,
    StagedGrant,
    Tlp,
)
from rsn.sharing.policy import (
    RELEASER_ROLES,
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
    group_ids,
    holds,
    index_tokens,
    item_keys,
    public_reader,
    reader_keys,
    shared_with_group,
    visible,
    visible_version,
)
from rsn.sharing.principal import (
    for_user,
    from_token,
    may_change,
    may_file,
    may_read_directory,
)
from rsn.sharing.release import (
    DRAFT,
    PENDING,
    PUBLISHED,
    draft_keys,
    held_if_filed,
    is_releaser,
    keys_for,
    needs_release,
    required_by,
)
from rsn.sharing.share import (
    Marking,
    Shared,
    derived_keys,
    derived_tlp,
    share,
    share_derived,
    share_like,
    share_many,
    unshare,
)
from rsn.sharing.staging import discard as discard_staged
from rsn.sharing.staging import publish as publish_staged
from rsn.sharing.staging import staged, staging

__all__ = [
    "DRAFT",
    "LEAVES_NODE",
    "PENDING",
    "PUBLISHED",
    "RELEASER_ROLES",
    "TLP_LEVELS",
    "UNMARKED",
    "Audience",
    "AudienceOrganization",
    "AudiencePerson",
    "AudienceState",
    "Distribution",
    "Marking",
    "Principal",
    "Reason",
    "Shareable",
    "Shared",
    "SharingGrant",
    "StagedGrant",
    "Tlp",
    "audience",
    "audience_for",
    "can_read",
    "derived_keys",
    "derived_tlp",
    "discard_staged",
    "disclose",
    "discloses",
    "draft_keys",
    "for_user",
    "from_token",
    "group_ids",
    "held_if_filed",
    "holds",
    "index_tokens",
    "is_releaser",
    "item_keys",
    "keys_for",
    "may_change",
    "may_file",
    "may_read_directory",
    "needs_release",
    "public_reader",
    "publish_staged",
    "reader_keys",
    "required_by",
    "resolve_distribution",
    "resolve_distributions",
    "share",
    "share_derived",
    "share_like",
    "share_many",
    "shared_with_group",
    "staged",
    "staging",
    "unshare",
    "visible",
    "visible_version",
]
