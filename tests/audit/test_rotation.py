"""`rsn node rotate-keys`: new keys for what comes, and what the old ones sealed still verifies."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sqlalchemy import select, text
from typer.testing import CliRunner

from rsn import audit
from rsn.audit import ring
from rsn.audit.keys import MAC_KEY_NAME, SIGNING_KEY_NAME
from rsn.audit.log import link_mac
from rsn.audit.models import AuditRecord
from rsn.cli.main import app
from rsn.config import Settings
from rsn.node import open_database
from rsn.store import Database

runner = CliRunner()


def rsn(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _node(db: Database, tmp_path: Path) -> list[str]:
    config = tmp_path / "rsn.toml"
    config.write_text(f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n')
    args = ["--config", str(config)]
    for code in ("in-cert", "lk-cert"):
        assert rsn("org", "add", code, "--name", code, "--type", "cso", *args)[0] == 0
    return args


def _rows(db: Database) -> list[tuple[int | None, int, str]]:
    with db.engine.connect() as conn:
        found = conn.execute(text("SELECT chain_seq, key_id, action FROM audit_log ORDER BY id"))
        return [(seq, int(key), str(action)) for seq, key, action in found]


def test_rotation_keeps_old_records_and_checkpoints_verifiable(
    db: Database, tmp_path: Path
) -> None:
    args = _node(db, tmp_path)
    old_point = tmp_path / "before.json"
    assert rsn("audit", "checkpoint", "-o", str(old_point), *args)[0] == 0
    old_mac = (tmp_path / MAC_KEY_NAME).read_bytes()
    old_signing = (tmp_path / SIGNING_KEY_NAME).read_bytes()

    code, said = rsn("node", "rotate-keys", *args)
    assert code == 0, said
    assert (tmp_path / MAC_KEY_NAME).read_bytes() != old_mac
    assert (tmp_path / SIGNING_KEY_NAME).read_bytes() != old_signing
    assert rsn("org", "add", "np-cert", "--name", "np", "--type", "cso", *args)[0] == 0
    new_point = tmp_path / "after.json"
    assert rsn("audit", "checkpoint", "-o", str(new_point), "--last", "4", *args)[0] == 0

    rows = _rows(db)
    assert [key for _, key, _ in rows] == [1, 1, 2, 2]
    assert rows[2][2] == "node.rotate-keys"
    for point in (old_point, new_point):
        code, said = rsn("audit", "verify", "--checkpoint", str(point), *args)
        assert code == 0, said
    signed = json.loads(new_point.read_text())["checkpoints"]
    keys = {p["size"]: p["public_key"] for p in signed}
    before = json.loads(old_point.read_text())["checkpoints"][0]
    assert keys[2] == before["public_key"] != keys[3]  # signed right before and right after


def test_a_retired_mac_key_vouches_only_for_the_chain_it_sealed(
    db: Database, tmp_path: Path
) -> None:
    args = _node(db, tmp_path)
    settings = Settings(database_url=db.url, data_dir=tmp_path)
    old = open_database(settings)
    old_keys = audit.keys_of(old)
    try:
        assert rsn("node", "rotate-keys", *args)[0] == 0
        with old.session(write=True) as s:  # a leaked old key seals a record after rotation
            audit.record(s, actor="forger", action="report.read", item_ids=["x"])
    finally:
        old.dispose()
    node = open_database(settings)
    try:
        verdict = audit.verify(node)
        assert not verdict.ok and "not yet chained" in (verdict.reason or "")
        audit.chain(node)
        assert _rows(node)[-2] == (None, 1, "report.read")  # refused, never linked
        _link_as(node, old_keys, "forger")  # then linked by hand, MAC'd with the old key
        verdict = audit.verify(node)
        assert not verdict.ok and "MAC key 1 is not one" in (verdict.reason or "")
    finally:
        node.dispose()


def _link_as(db: Database, keys: audit.AuditKeys, actor: str) -> None:
    """Link `actor`'s record at the chain's end exactly as the chainer would, with `keys`."""
    with db.session(write=True) as s:
        head = s.scalars(
            select(AuditRecord)
            .where(AuditRecord.chain_seq.is_not(None))
            .order_by(AuditRecord.chain_seq.desc())
        ).first()
        row = s.scalars(select(AuditRecord).where(AuditRecord.actor == actor)).one()
        assert head is not None and head.chain_seq is not None
        row.refused, row.chain_seq, row.prev_hash = False, head.chain_seq + 1, head.hash
        row.hash, row.key_id = audit.digest(row), keys.mac_key_id
        row.mac = link_mac(keys, row)


def test_a_retired_signing_key_cannot_sign_past_its_retirement(
    db: Database, tmp_path: Path
) -> None:
    args = _node(db, tmp_path)
    settings = Settings(database_url=db.url, data_dir=tmp_path)
    old = open_database(settings)
    old_keys = audit.keys_of(old)
    old.dispose()
    assert rsn("node", "rotate-keys", *args)[0] == 0
    node = open_database(settings)
    try:
        with node.session(write=True) as s:  # the leaked old key signs the chain as it is now
            late = audit.checkpoints.sign(s, old_keys)
        assert late is not None and late.size == 3
        verdict = audit.verify(node)
        assert not verdict.ok and "not signed by this node's key" in (verdict.reason or "")
    finally:
        node.dispose()


def test_key_files_are_owner_only_and_an_interrupted_rotation_rolls_forward(
    db: Database, tmp_path: Path
) -> None:
    args = _node(db, tmp_path)
    assert rsn("node", "rotate-keys", *args)[0] == 0
    for name in (MAC_KEY_NAME, SIGNING_KEY_NAME, ring.RING_NAME):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    staged = ring.Ring(3, ring.read(tmp_path).macs, ring.read(tmp_path).signing)
    ring.write_new(tmp_path / MAC_KEY_NAME, bytes(32).hex().encode())
    ring.write_new(tmp_path / ring.RING_NAME, ring.content(staged))  # then the node stopped
    ring.settle(tmp_path, (MAC_KEY_NAME, SIGNING_KEY_NAME))
    assert ring.read(tmp_path).mac_key_id == 3
    assert (tmp_path / MAC_KEY_NAME).read_bytes() == bytes(32).hex().encode()
    ring.write_new(tmp_path / MAC_KEY_NAME, b"half-written")  # no ring staged: discarded
    ring.settle(tmp_path, (MAC_KEY_NAME, SIGNING_KEY_NAME))
    assert not (tmp_path / (MAC_KEY_NAME + ".new")).exists()
    assert (tmp_path / MAC_KEY_NAME).read_bytes() == bytes(32).hex().encode()
