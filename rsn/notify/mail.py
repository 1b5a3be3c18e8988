"""Mail over SMTP: the one way the node hands a message to a mail server.

Each `send` opens its own connection: mail is rare (a verification code, a
notification, a digest) and a relay may drop idle connections, so there is
nothing to gain from keeping one. TLS is checked against the system's trusted CAs
(`ssl.create_default_context`; `SSL_CERT_FILE` points it at another bundle), and
the password is read from its file at each send, so rotating it needs no restart
and it never sits in the settings, a log line or an error message.

Every failure, whatever layer it came from, is raised as `DeliveryFailed` with a
sentence its reader can act on; a caller's mistake (a line break in a header,
which would let a value add headers of its own) is a `ValueError`.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from rsn import clock
from rsn.config import Settings
from rsn.errors import DeliveryFailed

HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")  # printable ASCII but ':' (RFC 5322 ftext)
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
# Set by the node on every message; a caller's headers may not replace them.
OWN_HEADERS = frozenset({"from", "to", "subject", "date", "message-id"})


@dataclass(frozen=True)
class Mailer:
    """An SMTP server and the account the node sends as, from the node's settings."""

    host: str
    port: int
    security: str
    username: str
    password_file: str
    sender: str
    timeout: float = 10.0

    @classmethod
    def of(cls, settings: Settings) -> Mailer | None:
        """The node's mailer; None when `smtp_host` is empty, which turns mail off."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password_file=settings.smtp_password_file,
            sender=settings.mail_from,
        )

    def send(
        self, to: str, subject: str, text: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        """Hand one plain-text message for `to` to the server; DeliveryFailed says why not."""
        message = self.message(to, subject, text, headers=headers)
        password = self._password()
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, password)
                refused = smtp.send_message(message, to_addrs=[parseaddr(to)[1]])
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(self._reason(exc, to)) from None
        if refused:
            raise DeliveryFailed(f"the mail server refused the recipient {to}.")

    def message(
        self, to: str, subject: str, text: str, *, headers: Mapping[str, str] | None = None
    ) -> EmailMessage:
        """The message as it goes out: UTF-8 plain text with a date and a unique id."""
        extra = dict(headers or {})
        for name, value in {"to": to, "subject": subject, **extra}.items():
            _one_line(name, value)
        clashing = sorted(n for n in extra if n.lower() in OWN_HEADERS)
        if clashing:
            raise ValueError(f"the header {clashing[0]} is set by the mailer, not by its caller")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(clock.now())
        message["Message-ID"] = make_msgid(domain=self._domain())
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        for name, value in extra.items():
            del message[name]
            message[name] = value
        message.set_content(text, charset="utf-8")
        return message

    def _domain(self) -> str:
        return parseaddr(self.sender)[1].rpartition("@")[2] or self.host

    def _password(self) -> str:
        """The password from its file, read now; the file's final line break is not part of it."""
        if not self.username:
            return ""
        if not self.password_file:
            raise DeliveryFailed("smtp_username is set but smtp_password_file is not.")
        if self.security == "none" and self.host.lower() not in LOOPBACK:
            raise DeliveryFailed(
                f"the SMTP password would cross the network unencrypted to {self.host}; "
                "set smtp_security to starttls or tls."
            )
        try:
            return Path(self.password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DeliveryFailed(
                f"the smtp_password_file '{self.password_file}' cannot be read: {reason}."
            ) from None

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _reason(self, exc: Exception, to: str) -> str:
        """What went wrong, said so that whoever runs the node knows what to look at."""
        where = f"{self.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            answers = "; ".join(f"{c} {_text(m)}" for c, m in exc.recipients.values())
            return f"the mail server refused the recipient {to} ({answers})."
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return f"the mail server {where} refused the username or password ({_answer(exc)})."
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return f"the mail server refused the sender {self.sender} ({_answer(exc)})."
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return f"the mail server {where} cannot do what the settings ask ({exc})."
        if isinstance(exc, smtplib.SMTPResponseException):
            return f"the mail server {where} answered {_answer(exc)}."
        if isinstance(exc, smtplib.SMTPException):
            return f"the conversation with the mail server {where} failed: {exc}."
        return _network_reason(exc, where, self.timeout)


def _network_reason(exc: BaseException, where: str, timeout: float) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the TLS certificate of {where} is not trusted ({exc.verify_message})."
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed ({exc.reason or exc})."
    if isinstance(exc, socket.gaierror):
        return f"the mail server's name in {where} cannot be resolved ({exc.strerror})."
    if isinstance(exc, TimeoutError):
        return f"the mail server {where} did not answer within {timeout:g} seconds."
    if isinstance(exc, ConnectionRefusedError):
        return f"the mail server {where} refused the connection."
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"the mail server {where} cannot be reached ({reason})."


def _one_line(name: str, value: str) -> None:
    """A line break in a header would let its value start headers of its own."""
    if not HEADER_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a header name")
    if "\r" in value or "\n" in value:
        raise ValueError(f"the {name} header may not contain a line break")


def _answer(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
