"""The `rsn` command as an operator runs it, against real stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from rsn.cli.main import app
from rsn.registry import tokens
from rsn.store import Database

runner = CliRunner()


def rsn(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def node_args(db: Database, tmp_path: Path) -> list[str]:
    """--config pointing at the test store (SQLite file or PostgreSQL database)."""
    config = tmp_path / "rsn.toml"
    config.write_text(f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n')
    return ["--config", str(config)]


def test_an_operator_sets_up_a_node(db: Database, node_args: list[str]) -> None:
    assert rsn("db", "upgrade", *node_args)[0] == 0
    code, out = rsn("region", "load", "bimstec", *node_args)
    assert code == 0, out
    assert "7 member states" in out
    code, out = rsn(
        "org",
        "add",
        "bd-cert",
        "--name",
        "BGD e-GOV CIRT",
        "--type",
        "government-agency",
        "--state",
        "BD",
        *node_args,
    )
    assert code == 0, out
    code, out = rsn(
        "user",
        "add",
        "bd.analyst",
        "--org",
        "bd-cert",
        "--role",
        "analyst",
        *node_args,
        env={"RSN_NEW_PASSWORD": "a long enough passphrase"},
    )
    assert code == 0, out
    code, out = rsn("token", "create", "bd.analyst", *node_args)
    assert code == 0, out
    token = out.strip()
    with db.session() as s:
        assert tokens.authenticate(s, token).user.username == "bd.analyst"
    prefix = token.split("_")[1]
    assert rsn("token", "revoke", prefix, *node_args)[0] == 0
    with db.session() as s, pytest.raises(Exception, match="revoked"):
        tokens.authenticate(s, token)
    code, out = rsn("user", "list", *node_args)
    assert "bd.analyst" in out and "active" in out
    assert rsn("user", "disable", "bd.analyst", *node_args)[0] == 0
    assert "disabled" in rsn("user", "list", *node_args)[1]
    code, out = rsn("audit", "verify", *node_args)
    assert code == 0 and "intact" in out, out


def test_errors_are_one_line_and_exit_1(node_args: list[str]) -> None:
    code, out = rsn("org", "add", "xy", "--name", "X", "--type", "club", *node_args)
    assert code == 1
    assert "'club' is not one of" in out
    code, out = rsn(
        "user",
        "add",
        "nobody",
        "--org",
        "missing",
        "--role",
        "analyst",
        "--no-password",
        *node_args,
    )
    assert code == 1 and "organization 'missing' was not found" in out


def test_audit_verify_names_the_edited_record(db: Database, node_args: list[str]) -> None:
    rsn("region", "load", "bimstec", *node_args)
    rsn(
        "org",
        "add",
        "in-cert",
        "--name",
        "CERT-In",
        "--type",
        "government-agency",
        "--state",
        "IN",
        *node_args,
    )
    rsn(
        "org",
        "add",
        "lk-cert",
        "--name",
        "Sri Lanka CERT",
        "--type",
        "government-agency",
        "--state",
        "LK",
        *node_args,
    )
    assert rsn("audit", "verify", *node_args)[0] == 0
    with db.engine.begin() as conn:
        target = conn.execute(
            text("SELECT id FROM audit_log ORDER BY chain_seq LIMIT 1 OFFSET 1")
        ).scalar_one()
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE id = :id"), {"id": target})
    code, out = rsn("audit", "verify", *node_args)
    assert code == 1
    assert f"record {target}" in out


def test_a_pack_with_bad_warning_settings_is_refused_before_it_loads(
    db: Database, node_args: list[str], tmp_path: Path
) -> None:
    import yaml

    from rsn.registry import regionpacks
    from rsn.registry.models import RegionPackRecord

    data = regionpacks.load("bimstec").model_dump(mode="json")
    data["detection"] = {"categories": {"maritime.piracy": {"method": "cusum-of-my-own"}}}
    path = tmp_path / "bay.yaml"
    path.write_text(yaml.safe_dump(data))
    assert rsn("db", "upgrade", *node_args)[0] == 0
    code, out = rsn("region", "load", str(path), *node_args)
    assert code == 1
    assert "detection.categories.maritime.piracy.method" in out and "not a method" in out
    with db.session() as s:
        assert s.get(RegionPackRecord, "bimstec") is None


def test_region_show_and_help() -> None:
    code, out = rsn("region", "show", "bimstec")
    assert code == 0 and "Bangladesh" in out and "Security" in out
    code, out = rsn("--help")
    assert code == 0
    for command in ("demo", "serve", "db", "user", "token", "region", "audit"):
        assert command in out


def test_an_operator_prints_an_enrolment_link(db: Database, node_args: list[str]) -> None:
    from rsn.registry import enrolment

    rsn("region", "load", "bimstec", *node_args)
    rsn(
        "org",
        "add",
        "bd-cert",
        "--name",
        "BGD e-GOV CIRT",
        "--type",
        "government-agency",
        "--state",
        "BD",
        *node_args,
    )
    rsn(
        "user",
        "add",
        "bd.new",
        "--org",
        "bd-cert",
        "--role",
        "analyst",
        "--no-password",
        *node_args,
    )
    code, out = rsn("user", "enrol", "bd.new", "--base-url", "https://rsn.example", *node_args)
    assert code == 0, out
    link = out.strip()
    assert link.startswith("https://rsn.example/enrol/")
    with db.session() as s:
        assert enrolment.peek(s, link.rsplit("/", 1)[1]).username == "bd.new"
