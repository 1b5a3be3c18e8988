"""A user's own e-mail address, used only once they have proved they receive its mail.

The node mails a person (notifications, digests) at one address only: the one they
gave and confirmed with a code mailed to it. Giving an address changes nothing yet;
the code coming back makes it theirs (`users.email`, `email_verified_at`), so a
typing error, or someone at an unlocked browser, never points the node's mail at an
address its owner does not read. An earlier verified address stays until then.

A code is 8 digits, typed from the mail or carried by the link in it; only a hash
of it (salted with the user's id) is kept, it works once, for 24 hours, and a newer
code voids older ones. Guessing is bounded twice over: 5 codes an hour per user,
and a code is voided after 5 wrong tries (counted from the audit log's
`user.email.fail` records), so at most 25 guesses an hour meet 10^8 codes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Protocol

import idna
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rsn import audit
from rsn.audit import AuditRecord
from rsn.errors import DeliveryFailed, FieldProblem, ValidationError
from rsn.registry.models import EmailCheck, User
from rsn.store import Database, utcnow

CODE_DIGITS = 8
LIFETIME = timedelta(hours=24)
CODES_PER_HOUR = 5
TRIES_PER_CODE = 5
MAX_LENGTH = 254  # RFC 5321: the longest address a mail server must take
LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")  # RFC 5322 dot-atom
NOT_ALONE = frozenset('<>,;"()')  # what a display name or a list of addresses brings
MAIL_OFF = "this node does not send mail (no smtp_host in its settings); ask its operator."
TOO_MANY = "too many codes asked for; try again in an hour."
WRONG = "the code is wrong, used or expired; ask for a new one."
VERIFY_PATH = "/profile/email/verify"


class Sender(Protocol):
    """What sends the code: `rsn.notify.mail.Mailer`, which the registry may not import."""

    def send(
        self, to: str, subject: str, text: str, *, headers: Mapping[str, str] | None = None
    ) -> None: ...


class WrongCode(ValidationError):
    """A wrong, used or expired code: one message for all, so none of them is told apart.

    `confirm` returns it rather than raising it, so the failure it records commits
    with the caller's transaction; the caller raises it then.
    """

    def __init__(self) -> None:
        super().__init__(FieldProblem("code", WRONG))


def address(text: str) -> str:
    """One plain address, its domain in IDNA A-labels; ValidationError naming what is wrong."""
    given = text.strip()
    problem = _address_problem(given)
    if problem:
        quoted = repr(given[:80] + ("…" if len(given) > 80 else ""))
        raise ValidationError.field("email", f"{quoted} is not an e-mail address: {problem}.")
    local, _, domain = given.partition("@")
    return f"{local}@{_domain(domain)}"


def _address_problem(text: str) -> str | None:
    if not text:
        return "give an address such as name@agency.gov"
    if len(text) > MAX_LENGTH:
        return f"it is longer than {MAX_LENGTH} characters"
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        return "it contains a control character (a line break, a zero-width space)"
    if any(ch in NOT_ALONE for ch in text):
        return "give one address alone, without a name, brackets or a second address"
    if any(ch.isspace() for ch in text):
        return "it contains a space"
    if text.count("@") != 1:
        return "it must contain exactly one '@'"
    if parseaddr(text) != ("", text):
        return "give one address alone, as name@agency.gov"
    local, _, domain = text.partition("@")
    if not local.isascii():
        return "the part before '@' must be in ASCII letters, digits and punctuation"
    if not LOCAL_PART.fullmatch(local) or ".." in local or local[0] == "." or local[-1] == ".":
        return "the part before '@' is empty, too long or has a character mail cannot carry"
    try:
        _domain(domain)
    except ValueError as exc:
        return f"the domain {domain!r} {exc}"
    return None


def _domain(text: str) -> str:
    try:
        encoded = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"is not a domain name ({exc})") from exc
    labels = encoded.split(".")
    if len(labels) < 2 or "" in labels or labels[-1].isdigit():
        raise ValueError("needs a name and a top-level domain, such as agency.gov")
    return encoded


def request_check(
    db: Database, *, user: User, email: str, mailer: Sender | None, base_url: str
) -> str:
    """Mail a code to `email` and return the address as written; it is the user's once
    the code comes back.

    It takes the database, not a session: the mail goes out between a read and a
    write, so no writer of the node waits on a mail server, and a failed mail
    stores nothing.
    """
    if mailer is None:
        raise ValidationError.field("email", MAIL_OFF)
    wanted = address(email)
    with db.session() as session:
        _refuse_if_too_many(session, user)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    try:
        mailer.send(wanted, "Confirm your e-mail address", _letter(user, code, base_url))
    except DeliveryFailed as exc:
        raise ValidationError.field("email", f"could not send the code to {wanted}: {exc}") from exc
    with db.session(write=True) as session:
        _store(session, user=user, email=wanted, code=code)
    return wanted


def _letter(user: User, code: str, base_url: str) -> str:
    return (
        f"Hello {user.display_name},\n\n"
        f"You, or someone signed in as {user.username}, asked {base_url} to send mail\n"
        "to this address. To confirm it, enter this code on your profile page:\n\n"
        f"    {code}\n\n"
        "or open this link while you are signed in:\n\n"
        f"    {base_url}{VERIFY_PATH}?code={code}\n\n"
        f"The code works once, within {LIFETIME.total_seconds() / 3600:g} hours. If you did not "
        "ask for it,\nignore this mail: the node uses the address only once the code is entered.\n"
    )


def _refuse_if_too_many(session: Session, user: User) -> None:
    since = utcnow() - timedelta(hours=1)
    asked = session.scalar(
        select(func.count())
        .select_from(EmailCheck)
        .where(EmailCheck.user_id == user.id, EmailCheck.created > since)
    )
    if (asked or 0) >= CODES_PER_HOUR:
        raise ValidationError.field("email", TOO_MANY)


def _store(session: Session, *, user: User, email: str, code: str) -> None:
    """Keep the code's hash; it is the only live one (checked again under the write lock)."""
    _refuse_if_too_many(session, user)
    now = utcnow()
    _void(session, user, now)
    digest = _digest(user, code)
    same = session.get(EmailCheck, digest)
    if same is not None:  # these 8 digits were this user's once before: the old row gives way
        session.delete(same)
        session.flush()
    session.add(
        EmailCheck(id=digest, user_id=user.id, email=email, created=now, expires_at=now + LIFETIME)
    )
    audit.record(session, actor=user.username, action="user.email.check", item_ids=[user.id])


def _digest(user: User, code: str) -> str:
    """Salted with the user's id: two users' equal codes never share a row."""
    return hashlib.sha256(f"{user.id}:{code}".encode()).hexdigest()


def _void(session: Session, user: User, now: datetime) -> None:
    session.execute(
        update(EmailCheck)
        .where(
            EmailCheck.user_id == user.id,
            EmailCheck.used_at.is_(None),
            EmailCheck.expires_at > now,
        )
        .values(expires_at=now)
    )


def _live(session: Session, user: User, now: datetime) -> list[EmailCheck]:
    """The user's unused, unexpired codes, newest first (one, unless two were asked at once)."""
    query = (
        select(EmailCheck)
        .where(
            EmailCheck.user_id == user.id,
            EmailCheck.used_at.is_(None),
            EmailCheck.expires_at > now,
        )
        .order_by(EmailCheck.created.desc())
    )
    return list(session.scalars(query))


def confirm(session: Session, *, user: User, code: str) -> str | WrongCode:
    """The confirmed address, now the user's; a WrongCode (to raise after commit) otherwise.

    A wrong try is recorded (`user.email.fail`), and the fifth since the live code
    was sent voids it.
    """
    now = utcnow()
    typed = re.sub(r"[\s-]", "", code)
    live = _live(session, user, now)
    digest = _digest(user, typed) if re.fullmatch(r"\d{8}", typed) else ""
    match = next((c for c in live if secrets.compare_digest(c.id, digest)), None)
    if match is None:
        audit.record(session, actor=user.username, action="user.email.fail", item_ids=[user.id])
        if live and _failures(session, user, since=live[0].created) >= TRIES_PER_CODE:
            _void(session, user, now)
        return WrongCode()
    match.used_at = now
    _void(session, user, now)
    user.email, user.email_verified_at = match.email, now
    audit.record(session, actor=user.username, action="user.email.verify", item_ids=[user.id])
    return match.email


def _failures(session: Session, user: User, *, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(AuditRecord)
        .where(
            AuditRecord.action == "user.email.fail",
            AuditRecord.actor == user.username,
            AuditRecord.at >= since,
        )
    )
    return int(session.scalar(query) or 0)


def remove(session: Session, *, user: User) -> None:
    """The node mails the user no more; codes still on their way stop working too."""
    user.email = None
    user.email_verified_at = None
    _void(session, user, utcnow())
    audit.record(session, actor=user.username, action="user.email.remove", item_ids=[user.id])


def pending_address(session: Session, *, user: User) -> str | None:
    """The address a live code was sent to, so the profile can say a code is on its way."""
    live = _live(session, user, utcnow())
    return live[0].email if live else None


def verified_address(user: User) -> str | None:
    """Where the node may mail `user`: their address, only once they have confirmed it."""
    if user.email and user.email_verified_at is not None:
        return user.email
    return None
