"""A kind of item no feature has: notes, for tests that show sharing works for any kind.

Its own metadata (not the node's), so the schema checks never meet it; the columns are
the `Shareable` mixin's. Nothing outside `rsn/sharing` knows its audience keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import JSON, Column, MetaData, String, Table, insert
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.sharing import Principal
from rsn.store import new_id

NOTE_KIND = "test-note"
notes = Table(
    "test_notes",
    MetaData(),
    Column("id", String(36), primary_key=True),
    Column("title", String(200)),
    Column("tlp", String(20)),
    Column("distribution", JSON),
    Column("originator_user_id", String(36)),
    Column("originator_org_id", String(36)),
)


def create_table(session: Session) -> None:
    notes.create(session.connection(), checkfirst=True)


def write_note(
    session: Session,
    *,
    by: Principal,
    title: str,
    tlp: str,
    distribution: Mapping[str, Sequence[str]],
) -> sharing.Shared:
    """A note, shared the way any feature shares its items: one call."""
    note_id = new_id()
    session.execute(
        insert(notes).values(
            id=note_id,
            title=title,
            tlp=tlp,
            distribution=dict(distribution),
            originator_user_id=by.user_id,
            originator_org_id=by.organization_id,
        )
    )
    return sharing.share(
        session,
        kind=NOTE_KIND,
        item_id=note_id,
        tlp=tlp,
        distribution=distribution,
        originator=by,
    )
