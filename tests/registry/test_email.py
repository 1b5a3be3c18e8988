"""Users' e-mail addresses: a code mailed to a real SMTP server, and only its return verifies."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from rsn.audit import AuditRecord
from rsn.errors import ValidationError
from rsn.notify.mail import Mailer
from rsn.registry import email
from rsn.registry import service as registry
from rsn.registry.models import EmailCheck, User
from rsn.store import Database
from tests.conftest import Clock
from tests.factories import World
from tests.smtp import SmtpServer

BASE = "https://rsn.example.gov"
MINE = "Analyst.One@CERT.gov.bd"
CODE = re.compile(r"^    (\d{8})$", re.MULTILINE)


@pytest.fixture
def world(db: Database) -> World:
    w = World(db)
    w.org("bd-cert", state="BD")
    w.org("in-cert", state="IN")
    w.person("bd.analyst", "bd-cert")
    w.person("in.analyst", "in-cert")
    return w


@pytest.fixture
def mailer(smtp_server: SmtpServer) -> Mailer:
    return Mailer(smtp_server.host, smtp_server.port, "none", "", "", "RSN <rsn@rsn.example.gov>")


def user(db: Database, username: str = "bd.analyst") -> User:
    with db.session() as s:
        return registry.get_user(s, username=username)


def ask(db: Database, mailer: Mailer | None, address: str = MINE, who: str = "bd.analyst") -> None:
    email.request_check(db, user=user(db, who), email=address, mailer=mailer, base_url=BASE)


def code_of(server: SmtpServer, n: int = 1) -> str:
    """The code in the n-th mail, as its reader would copy it."""
    found = CODE.search(server.wait_for(n)[n - 1].get_content())
    assert found, "no code in the mail"
    return found.group(1)


def confirm(db: Database, code: str, who: str = "bd.analyst") -> str | email.WrongCode:
    with db.session(write=True) as s:
        return email.confirm(s, user=registry.get_user(s, username=who), code=code)


def actions(db: Database) -> list[AuditRecord]:
    with db.session() as s:
        query = select(AuditRecord).where(AuditRecord.action.like("user.email.%"))
        return list(s.scalars(query.order_by(AuditRecord.id)))


def test_the_code_mailed_verifies_the_address(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer, clock: Clock
) -> None:
    ask(db, mailer)
    [message] = smtp_server.wait_for(1)
    assert smtp_server.recipients == [["Analyst.One@cert.gov.bd"]]
    assert message["Subject"] == "Confirm your e-mail address"
    code = code_of(smtp_server)
    assert f"{BASE}/profile/email/verify?code={code}" in message.get_content()
    assert user(db).email is None and email.verified_address(user(db)) is None

    assert confirm(db, code) == "Analyst.One@cert.gov.bd"
    me = user(db)
    assert me.email == "Analyst.One@cert.gov.bd" and me.email_verified_at == clock.now
    assert email.verified_address(me) == "Analyst.One@cert.gov.bd"
    records = actions(db)
    assert [r.action for r in records] == ["user.email.check", "user.email.verify"]
    assert all(r.item_ids == [me.id] and "cert.gov.bd" not in str(r.detail) for r in records)


def test_only_a_salted_hash_of_the_code_is_kept(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    ask(db, mailer)
    code = code_of(smtp_server)
    with db.session() as s:
        [row] = s.scalars(select(EmailCheck)).all()
    me = user(db)
    assert row.id == hashlib.sha256(f"{me.id}:{code}".encode()).hexdigest()
    assert code not in row.id and row.user_id == me.id and row.used_at is None


def test_the_code_may_be_typed_with_spaces(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    ask(db, mailer)
    code = code_of(smtp_server)
    assert confirm(db, f" {code[:4]} {code[4:]} ") == "Analyst.One@cert.gov.bd"


def test_the_address_changes_only_when_the_new_code_comes_back(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    ask(db, mailer, "old@cert.gov.bd")
    confirm(db, code_of(smtp_server, 1))
    ask(db, mailer, "new@cert.gov.bd")
    assert email.verified_address(user(db)) == "old@cert.gov.bd"
    assert confirm(db, code_of(smtp_server, 2)) == "new@cert.gov.bd"
    assert email.verified_address(user(db)) == "new@cert.gov.bd"


def test_a_wrong_code_is_refused_and_recorded(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    ask(db, mailer)
    code = code_of(smtp_server)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    refused = confirm(db, wrong)
    assert isinstance(refused, email.WrongCode)
    assert refused.problems[0].field == "code" and refused.problems[0].message == email.WRONG
    assert isinstance(confirm(db, "not a code"), email.WrongCode)
    assert [r.action for r in actions(db)][-2:] == ["user.email.fail"] * 2
    assert user(db).email is None
    assert confirm(db, code) == "Analyst.One@cert.gov.bd"  # a few slips do not void it


def test_five_wrong_tries_void_the_code(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer, clock: Clock
) -> None:
    ask(db, mailer)
    code = code_of(smtp_server)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(email.TRIES_PER_CODE):
        assert isinstance(confirm(db, wrong), email.WrongCode)
    assert isinstance(confirm(db, code), email.WrongCode)
    clock.advance(minutes=1)
    ask(db, mailer)  # a new code is a fresh start
    assert confirm(db, code_of(smtp_server, 2)) == "Analyst.One@cert.gov.bd"


def test_an_expired_code_is_refused(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer, clock: Clock
) -> None:
    ask(db, mailer)
    code = code_of(smtp_server)
    clock.advance(hours=24)
    refused = confirm(db, code)
    assert isinstance(refused, email.WrongCode) and refused.message == f"code: {email.WRONG}"
    assert user(db).email is None


def test_a_code_works_once(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    ask(db, mailer)
    code = code_of(smtp_server)
    assert confirm(db, code) == "Analyst.One@cert.gov.bd"
    assert isinstance(confirm(db, code), email.WrongCode)


def test_a_newer_code_voids_the_older(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    ask(db, mailer, "first@cert.gov.bd")
    ask(db, mailer, "second@cert.gov.bd")
    assert isinstance(confirm(db, code_of(smtp_server, 1)), email.WrongCode)
    assert confirm(db, code_of(smtp_server, 2)) == "second@cert.gov.bd"


def test_another_users_code_does_not_work_for_me(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    ask(db, mailer, "mine@cert.gov.bd", who="bd.analyst")
    code = code_of(smtp_server)
    assert isinstance(confirm(db, code, who="in.analyst"), email.WrongCode)
    assert user(db, "in.analyst").email is None
    assert confirm(db, code, who="bd.analyst") == "mine@cert.gov.bd"


def test_at_most_five_codes_an_hour(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer, clock: Clock
) -> None:
    for _ in range(email.CODES_PER_HOUR):
        ask(db, mailer)
        clock.advance(minutes=5)
    with pytest.raises(ValidationError) as refused:
        ask(db, mailer)
    assert refused.value.problems[0].field == "email"
    assert refused.value.problems[0].message == email.TOO_MANY
    assert len(smtp_server.wait_for(email.CODES_PER_HOUR)) == email.CODES_PER_HOUR
    ask(db, mailer, who="in.analyst")  # the limit is each user's own
    clock.advance(minutes=36)
    ask(db, mailer)
    assert confirm(db, code_of(smtp_server, 7)) == "Analyst.One@cert.gov.bd"


def test_a_node_without_mail_says_so(db: Database, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        ask(db, None)
    assert refused.value.problems[0].field == "email"
    assert "does not send mail" in refused.value.message
    with db.session() as s:
        assert s.scalars(select(EmailCheck)).all() == []


def test_a_mail_that_cannot_be_sent_stores_nothing(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    smtp_server.refused.add("Analyst.One@cert.gov.bd")
    with pytest.raises(ValidationError) as refused:
        ask(db, mailer)
    assert refused.value.problems[0].field == "email"
    assert refused.value.problems[0].message.startswith(
        "could not send the code to Analyst.One@cert.gov.bd: the mail server refused the recipient"
    )
    with db.session() as s:
        assert s.scalars(select(EmailCheck)).all() == []
    assert actions(db) == []


def test_removing_the_address_stops_mail_and_pending_codes(
    db: Database, world: World, mailer: Mailer, smtp_server: SmtpServer
) -> None:
    ask(db, mailer)
    confirm(db, code_of(smtp_server))
    ask(db, mailer, "other@cert.gov.bd")
    with db.session(write=True) as s:
        email.remove(s, user=registry.get_user(s, username="bd.analyst"))
    me = user(db)
    assert me.email is None and me.email_verified_at is None
    assert email.verified_address(me) is None
    assert isinstance(confirm(db, code_of(smtp_server, 2)), email.WrongCode)
    assert actions(db)[-2].action == "user.email.remove"


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "give an address"),
        ("analyst.cert.gov.bd", "exactly one '@'"),
        ("a@b@cert.gov.bd", "exactly one '@'"),
        ("Analyst <a@cert.gov.bd>", "without a name"),
        ("a@cert.gov.bd, b@cert.gov.bd", "one address alone"),
        ("a@cert.gov.bd;b@cert.gov.bd", "one address alone"),
        ("a@cert.gov.bd,b@cert.gov.bd", "one address alone"),
        ("a b@cert.gov.bd", "a space"),
        ("a\tb@cert.gov.bd", "control character"),
        ("a@cert.gov.bd\r\nBcc: x@example.org", "control character"),
        ("a\u200b@cert.gov.bd", "control character"),
        ("ánalyst@cert.gov.bd", "ASCII"),
        (".a@cert.gov.bd", "cannot carry"),
        ("a..b@cert.gov.bd", "cannot carry"),
        (f"{'a' * 65}@cert.gov.bd", "too long"),
        (f"a@{'b' * 250}.bd", "longer than 254"),
        ("a@localhost", "top-level domain"),
        ("a@10.0.0.1", "top-level domain"),
        ("a@cert..gov.bd", "domain"),
        ("a@-cert.gov.bd", "is not a domain name"),
    ],
)
def test_what_is_not_an_address_is_named(given: str, problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        email.address(given)
    assert refused.value.problems[0].field == "email"
    assert "is not an e-mail address" in refused.value.message
    assert problem in refused.value.message


def test_an_address_is_kept_with_its_domain_in_a_labels() -> None:
    assert email.address("  Name.Surname+rsn@Agency.GOV.bd ") == "Name.Surname+rsn@agency.gov.bd"
    assert email.address("duty@ঢাকা.বাংলা") == "duty@xn--p5bz3fb.xn--54b7fta0cc"
