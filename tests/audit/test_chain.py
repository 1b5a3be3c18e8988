from __future__ import annotations

import pytest
from sqlalchemy import text

from rsn import audit
from rsn.store import Database


@pytest.fixture(autouse=True)
def keys(db: Database) -> audit.AuditKeys:
    """The node's audit keys, as `rsn.node.open_database` attaches them."""
    made = audit.AuditKeys.generate()
    audit.attach(db, made)
    return made


def _append(db: Database, n: int) -> None:
    with db.session(write=True) as s:
        for i in range(n):
            audit.record(
                s, actor=f"user-{i}", action="report.read", item_ids=[f"id-{i}"], detail={"i": i}
            )


def test_chain_then_verify(db: Database) -> None:
    _append(db, 5)
    assert audit.verify(db) == audit.Verdict(ok=True, checked=0, unchained=5)
    assert audit.chain(db) == 5
    assert audit.chain(db) == 0
    _append(db, 2)
    verdict = audit.verify(db)
    assert (verdict.ok, verdict.checked, verdict.unchained) == (True, 5, 2)
    audit.chain(db)
    assert audit.verify(db).checked == 7


def _id_at(db: Database, position: int) -> int:
    with db.session() as s:
        return int(
            s.execute(
                text("SELECT id FROM audit_log WHERE chain_seq = :p"), {"p": position}
            ).scalar_one()
        )


def test_a_changed_record_is_named(db: Database) -> None:
    _append(db, 6)
    audit.chain(db)
    target = _id_at(db, 3)
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :id"), {"id": target}
        )
    verdict = audit.verify(db)
    assert not verdict.ok
    assert verdict.bad_record == target
    assert verdict.checked == 2
    assert "changed" in (verdict.reason or "")


def test_a_removed_record_is_detected(db: Database) -> None:
    _append(db, 6)
    audit.chain(db)
    removed, after = _id_at(db, 4), _id_at(db, 5)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": removed})
    verdict = audit.verify(db)
    assert not verdict.ok
    assert verdict.bad_record == after
    assert "removed" in (verdict.reason or "")


def test_a_rehashed_forgery_fails_its_own_mac(db: Database) -> None:
    """Recomputing the edited record's own hash does not help: its MAC no longer holds."""
    _append(db, 4)
    audit.chain(db)
    target = _id_at(db, 2)
    with db.session(write=True) as s:
        row = s.get(audit.AuditRecord, target)
        assert row is not None
        row.detail = {"i": 99}
        row.hash = audit.digest(row)
    verdict = audit.verify(db)
    assert (verdict.ok, verdict.bad_record) == (False, target)
    assert "MAC" in (verdict.reason or "")
