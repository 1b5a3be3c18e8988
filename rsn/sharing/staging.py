"""Grants held back while a long write is in progress, and published in one step.

Every read path finds an item through its grants (`visible`, and the search and
correlation indexes written from the same keys). A write that runs as many
transactions (an import of 200,000 rows, written in chunks so that other users'
writes get the store between them) files its grants here instead, under its batch
id: its rows are stored but open to nobody. `publish` moves them into
`sharing_grants` in the transaction that makes the whole batch visible at once;
`discard` forgets them when the batch is abandoned.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from rsn.sharing.models import SharingGrant, StagedGrant
from rsn.store.bulk import insert_plain

_BATCH = "rsn.sharing.staged_batch"


@contextmanager
def staged(session: Session, batch_id: str) -> Iterator[None]:
    """Within this block, grants the session writes are held back under `batch_id`."""
    session.info[_BATCH] = batch_id
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)


def staging(session: Session) -> str | None:
    """The batch whose grants the session holds back, if any: its items are open to nobody yet."""
    batch = session.info.get(_BATCH)
    return batch if isinstance(batch, str) else None


def hold(session: Session, grants: Mapping[str, frozenset[str]], *, fresh: bool, kind: str) -> None:
    batch_id = staging(session)
    assert batch_id is not None
    conn = session.connection()
    if not fresh and grants:
        conn.execute(delete(StagedGrant).where(StagedGrant.item_id.in_(list(grants))))
    rows = [
        {"item_id": item, "key": k, "kind": kind, "batch_id": batch_id}
        for item, keys in grants.items()
        for k in sorted(keys)
    ]
    insert_plain(conn, StagedGrant, rows)


def publish(session: Session, batch_id: str) -> int:
    """Open every item of the batch to its audience, in the caller's transaction."""
    conn = session.connection()
    held = select(StagedGrant.item_id, StagedGrant.key, StagedGrant.kind).where(
        StagedGrant.batch_id == batch_id
    )
    moved = conn.execute(
        insert(SharingGrant).from_select(["item_id", "key", "kind"], held)
    ).rowcount
    conn.execute(delete(StagedGrant).where(StagedGrant.batch_id == batch_id))
    return int(moved or 0)


def discard(session: Session, item_ids: Sequence[str]) -> None:
    """Forget the held-back grants of abandoned items."""
    if item_ids:
        session.connection().execute(
            delete(StagedGrant).where(StagedGrant.item_id.in_(list(item_ids)))
        )
