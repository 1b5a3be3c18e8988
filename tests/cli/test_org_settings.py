"""`rsn org set`: an operator turns an organization's release rule on and off, on the record."""

from __future__ import annotations

from sqlalchemy import select

from rsn.audit.models import AuditRecord
from rsn.registry import service as registry
from rsn.store import Database
from tests.cli.test_cli import node_args, rsn
from tests.factories import bimstec_world

__all__ = ["node_args"]  # the fixture, shared with the other CLI tests


def test_an_operator_requires_release_and_lifts_it(db: Database, node_args: list[str]) -> None:
    bimstec_world(db)

    def required() -> bool:
        with db.session() as s:
            return registry.get_organization(s, slug="bd-cert").release_required

    assert not required()
    code, out = rsn("org", "set", "bd-cert", "--release-required", *node_args)
    assert code == 0, out
    assert required()
    assert "required" in rsn("org", "list", *node_args)[1]
    code, out = rsn("org", "set", "bd-cert", "--no-release-required", *node_args)
    assert code == 0, out
    assert not required()
    code, out = rsn("org", "set", "no-such-org", "--release-required", *node_args)
    assert code == 1 and "no-such-org" in out
    with db.session() as s:
        details = s.scalars(
            select(AuditRecord.detail)
            .where(AuditRecord.action == "org.settings")
            .order_by(AuditRecord.id)
        )
        assert [d["release_required"] for d in details] == [True, False]
