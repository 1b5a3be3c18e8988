"""`rsn audit checkpoint` and `rsn audit verify --checkpoint` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from typer.testing import CliRunner

from rsn.cli.main import app
from rsn.store import Database

runner = CliRunner()


def rsn(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _node(db: Database, tmp_path: Path) -> list[str]:
    config = tmp_path / "rsn.toml"
    config.write_text(f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n')
    args = ["--config", str(config)]
    for code in ("in-cert", "lk-cert", "np-cert"):
        assert rsn("org", "add", code, "--name", code, "--type", "cso", *args)[0] == 0
    return args


def test_an_exported_checkpoint_is_signed_by_the_node_key(db: Database, tmp_path: Path) -> None:
    args = _node(db, tmp_path)
    out = tmp_path / "checkpoint.json"
    code, said = rsn("audit", "checkpoint", "-o", str(out), *args)
    assert code == 0, said
    point = json.loads(out.read_text())["checkpoints"][0]
    assert point["size"] == 3
    pem = (tmp_path / "node-signing.key").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    body = {k: v for k, v in point.items() if k != "signature"}
    signed = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    key.public_key().verify(bytes.fromhex(point["signature"]), signed)  # raises if forged
    assert point["public_key"] == key.public_key().public_bytes_raw().hex()


def test_verify_with_a_checkpoint_file_catches_truncation(db: Database, tmp_path: Path) -> None:
    args = _node(db, tmp_path)
    kept = tmp_path / "kept-elsewhere.json"
    assert rsn("audit", "checkpoint", "-o", str(kept), *args)[0] == 0
    assert rsn("audit", "verify", "--checkpoint", str(kept), *args)[0] == 0
    with db.engine.begin() as conn:  # the end of the log and every stored checkpoint go
        conn.execute(text("DELETE FROM audit_log WHERE chain_seq >= 2"))
        conn.execute(text("DELETE FROM audit_checkpoints"))
    code, said = rsn("audit", "verify", *args)
    assert code == 0, said  # nothing inside the database tells
    code, said = rsn("audit", "verify", "--checkpoint", str(kept), *args)
    assert code == 1
    assert "chain position 2" in said and "removed from the end" in said


def test_a_checkpoint_signed_by_another_key_is_refused(db: Database, tmp_path: Path) -> None:
    args = _node(db, tmp_path)
    kept = tmp_path / "kept.json"
    rsn("audit", "checkpoint", "-o", str(kept), *args)
    document = json.loads(kept.read_text())
    document["checkpoints"][0]["size"] = 1  # claimed smaller: hides later removals
    kept.write_text(json.dumps(document))
    code, said = rsn("audit", "verify", "--checkpoint", str(kept), *args)
    assert code == 1 and "not signed by this node's key" in said
