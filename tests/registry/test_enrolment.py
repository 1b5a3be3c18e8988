"""One-time enrolment links: stored as a hash, used once, replaced by newer ones, audited."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from rsn.audit import AuditRecord
from rsn.errors import Conflict, ValidationError
from rsn.registry import enrolment
from rsn.registry import service as registry
from rsn.registry.models import Enrolment, User
from rsn.store import Database
from tests.factories import World

GOOD = "four unrelated words here"


@pytest.fixture
def world(db: Database) -> World:
    w = World(db)
    w.org("bd-cert", state="BD")
    w.person("bd.admin", "bd-cert", role="node-admin")
    w.person("bd.new", "bd-cert")
    return w


def _link(db: Database, lifetime: timedelta = enrolment.LIFETIME) -> str:
    with db.session(write=True) as s:
        user = registry.get_user(s, username="bd.new")
        admin = registry.get_user(s, username="bd.admin")
        return enrolment.create(s, user=user, purpose="enrol", created_by=admin, lifetime=lifetime)


def _user(db: Database, username: str = "bd.new") -> User:
    with db.session() as s:
        return registry.get_user(s, username=username)


def test_only_the_links_hash_is_stored(db: Database, world: World) -> None:
    secret = _link(db)
    with db.session() as s:
        [row] = s.scalars(select(Enrolment)).all()
    assert row.id == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {row.id, row.user_id, row.created_by}
    assert row.purpose == "enrol" and row.used_at is None


def test_a_link_sets_the_password_once(db: Database, world: World) -> None:
    secret = _link(db)
    with db.session() as s:
        assert enrolment.peek(s, secret).username == "bd.new"
    with db.session(write=True) as s:
        enrolment.complete(s, secret=secret, password=GOOD)
    assert registry.check_password(_user(db), GOOD)
    with db.session(write=True) as s, pytest.raises(enrolment.LinkNotUsable) as refused:
        enrolment.complete(s, secret=secret, password="another good password")
    assert refused.value.status == 404
    assert "expired or was already used" in refused.value.message


def test_a_newer_link_replaces_an_older_one(db: Database, world: World) -> None:
    first = _link(db)
    second = _link(db)
    with db.session() as s:
        with pytest.raises(enrolment.LinkNotUsable):
            enrolment.peek(s, first)
        assert enrolment.peek(s, second).username == "bd.new"
        assert enrolment.users_with_pending_links(s) == {world.people["bd.new"].user.id}


def test_expired_and_unknown_links_are_refused(db: Database, world: World) -> None:
    expired = _link(db, lifetime=timedelta(seconds=-1))
    with db.session() as s:
        for secret in (expired, "no-such-link", ""):
            with pytest.raises(enrolment.LinkNotUsable):
                enrolment.peek(s, secret)


def test_weak_passwords_are_refused_and_the_link_survives(db: Database, world: World) -> None:
    secret = _link(db)
    for weak, problem in (("short", "at least 12"), ("BD.NEW", "your username")):
        with db.session(write=True) as s, pytest.raises(ValidationError) as refused:
            enrolment.complete(s, secret=secret, password=weak)
        assert refused.value.problems[0].field == "password"
        assert problem in refused.value.problems[0].message
    with db.session() as s:
        assert enrolment.peek(s, secret).password_hash == "!"


def test_disabled_users_get_no_link_and_their_links_stop(db: Database, world: World) -> None:
    secret = _link(db)
    with db.session(write=True) as s:
        registry.disable_user(s, username="bd.new")
    with db.session() as s, pytest.raises(enrolment.LinkNotUsable):
        enrolment.peek(s, secret)
    with pytest.raises(Conflict):
        _link(db)


def test_every_step_is_audited_for_the_users_organization(db: Database, world: World) -> None:
    secret = _link(db)
    with db.session(write=True) as s:
        enrolment.complete(s, secret=secret, password=GOOD)
    user = world.people["bd.new"].user
    with db.session() as s:
        rows = s.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
    made, used = rows[-2], rows[-1]
    assert (made.action, made.actor) == ("user.enrol-link", "bd.admin")
    assert (used.action, used.actor) == ("user.password-set", "bd.new")
    for row in (made, used):
        assert row.item_ids == [user.id, user.organization_id]
        assert secret not in str(row.detail)


def test_changing_ones_password_needs_the_current_one(db: Database, world: World) -> None:
    secret = _link(db)
    with db.session(write=True) as s:
        enrolment.complete(s, secret=secret, password=GOOD)
    with db.session(write=True) as s, pytest.raises(ValidationError) as refused:
        user = registry.get_user(s, username="bd.new")
        enrolment.change_password(s, user=user, current="not the password", new="x" * 12)
    assert refused.value.problems[0].field == "current_password"
