"""Tampering with the audit log by someone who can write the database but not the key files.

Each test takes a node's store as the node leaves it (records sealed with the key
files of its data directory, linked, checkpointed), tampers with it the way the
attack did, and expects `verify` to name the first bad or missing record.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from rsn import audit
from rsn.config import Settings
from rsn.node import Chainer, open_database
from rsn.store import Database


@pytest.fixture
def node_db(db: Database, tmp_path: Path) -> Iterator[Database]:
    """The test store opened as a node opens it: keys in its data directory."""
    opened = open_database(Settings(database_url=db.url, data_dir=tmp_path / "data"))
    yield opened
    opened.dispose()


def _append(db: Database, n: int) -> None:
    with db.session(write=True) as s:
        for i in range(n):
            audit.record(s, actor=f"user-{i}", action="report.read", item_ids=[f"id-{i}"])


def _ids(db: Database) -> list[int]:
    with db.session() as s:
        rows = s.execute(text("SELECT id FROM audit_log ORDER BY chain_seq, id"))
        return [int(i) for i in rows.scalars()]


def _chained_with_checkpoint(db: Database, n: int) -> list[int]:
    _append(db, n)
    audit.chain(db)
    assert audit.checkpoint(db) is not None
    assert audit.verify(db).ok
    return _ids(db)


def test_removing_the_end_of_the_log_is_caught_by_the_checkpoint(node_db: Database) -> None:
    _chained_with_checkpoint(node_db, 6)
    with node_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE chain_seq > 4"))
    verdict = audit.verify(node_db)
    assert not verdict.ok
    assert verdict.position == 5 and verdict.checked == 4
    assert "removed from the end" in (verdict.reason or "")


def test_an_edit_with_every_later_hash_recomputed_fails_its_mac(node_db: Database) -> None:
    ids = _chained_with_checkpoint(node_db, 5)
    with node_db.session(write=True) as s:
        prev = audit.log.GENESIS
        for row in s.query(audit.AuditRecord).order_by(audit.AuditRecord.chain_seq):
            if row.id == ids[1]:
                row.actor = "someone-else"
            row.prev_hash = prev
            row.hash = prev = audit.digest(row)
    verdict = audit.verify(node_db)
    assert (verdict.ok, verdict.bad_record, verdict.checked) == (False, ids[1], 1)
    assert "MAC does not verify" in (verdict.reason or "")


def test_a_record_inserted_into_the_tail_is_refused_not_linked(node_db: Database) -> None:
    ids = _chained_with_checkpoint(node_db, 3)
    with node_db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, item_ids, detail, nonce, mac) "
                "VALUES (:at, 'in.analyst', 'report.read', '[]', '{}', :nonce, :mac)"
            ),
            {"at": "2020-01-01 00:00:00", "nonce": "ab" * 16, "mac": "0" * 64},
        )
    forged = max(_ids(node_db))
    before = audit.verify(node_db)
    assert (before.ok, before.bad_record) == (False, forged)
    audit.chain(node_db)
    with node_db.session() as s:
        seq = s.execute(text("SELECT chain_seq FROM audit_log WHERE id = :i"), {"i": forged})
        assert seq.scalar_one() is None
        refusal = s.execute(
            text("SELECT item_ids FROM audit_log WHERE action = 'audit.refuse'")
        ).scalar_one()
    assert str(forged) in str(refusal)
    verdict = audit.verify(node_db)
    assert (verdict.ok, verdict.bad_record, verdict.checked) == (False, forged, len(ids) + 1)
    assert "refused" in (verdict.reason or "")


def test_a_copy_of_a_sealed_record_cannot_be_inserted(node_db: Database) -> None:
    _append(node_db, 1)
    with node_db.engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, item_ids, detail, nonce, mac) "
                "SELECT at, actor, action, item_ids, detail, nonce, mac FROM audit_log"
            )
        )


def test_a_removed_middle_record_is_named(node_db: Database) -> None:
    ids = _chained_with_checkpoint(node_db, 5)
    with node_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[2]})
    verdict = audit.verify(node_db)
    assert (verdict.ok, verdict.bad_record, verdict.position) == (False, ids[3], 3)


def test_another_key_file_fails_at_the_first_record(db: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=db.url, data_dir=tmp_path / "data")
    first = open_database(settings)
    ids = _chained_with_checkpoint(first, 3)
    first.dispose()
    (tmp_path / "data" / audit.keys.MAC_KEY_NAME).unlink()
    again = open_database(settings)  # a new key file, made as on a first start
    try:
        verdict = audit.verify(again)
    finally:
        again.dispose()
    assert (verdict.ok, verdict.bad_record) == (False, ids[0])
    assert "MAC does not verify" in (verdict.reason or "")


def test_key_files_are_owner_only_and_beside_the_database(
    node_db: Database, tmp_path: Path
) -> None:
    for name in (audit.keys.MAC_KEY_NAME, audit.keys.SIGNING_KEY_NAME):
        path = tmp_path / "data" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() and str(path) not in node_db.url


def test_a_log_written_before_the_keys_is_sealed_on_first_start(
    db: Database, tmp_path: Path
) -> None:
    """An upgraded node: records linked the old way, and a tail, before any key file."""
    _append(db, 3)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET nonce = NULL, mac = NULL"))
    node = open_database(Settings(database_url=db.url, data_dir=tmp_path / "data"))
    try:
        assert audit.chain(node) == 3
        _append(db, 1)  # written without the node's key after it has one: a forgery
        audit.chain(node)
        verdict = audit.verify(node)
    finally:
        node.dispose()
    assert (verdict.ok, verdict.checked) == (False, 4)  # three sealed + the refusal record


def test_the_chainer_signs_a_checkpoint_after_linking_and_at_stop(node_db: Database) -> None:
    chainer = Chainer(node_db, checkpoint_every=3600)
    _append(node_db, 2)
    chainer._link()
    _append(node_db, 2)
    chainer._link()  # within the hour: linked, not signed again
    with node_db.session() as s:
        assert [p.size for p in audit.checkpoints.latest(s, 5)] == [2]
    chainer.stop()
    with node_db.session() as s:
        newest = audit.checkpoints.latest(s, 5)
    assert [p.size for p in newest] == [4, 2]
    assert all(p.holds() for p in newest)
