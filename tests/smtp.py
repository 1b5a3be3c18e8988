"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for mail tests.

`smtp_server` is a plain server (the `smtp_security = "none"` of a local relay);
`serving(...)` starts one with STARTTLS, implicit TLS, a password or refused
recipients. The messages arrive parsed, so a test reads headers and text as a
mail client would.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass
class SmtpServer:
    """What a test sees of the server: where it listens and what it received."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)  # each message's RCPT TO
    refused: set[str] = field(default_factory=set)  # addresses RCPT TO answers 550 for
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[EmailMessage]:
        """The first `n` messages, once they have arrived; fails the test after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{len(self.messages)} of {n} mails arrived in {timeout} s")
                self._arrived.wait(left)
            return self.messages[:n]

    def keep(self, envelope: Envelope) -> None:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        # as a mail client stores it: lines end in \n, not the wire's \r\n
        parsed = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._arrived:
            self.recipients.append(list(envelope.rcpt_tos))
            self.messages.append(parsed)
            self._arrived.notify_all()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: Any
    ) -> str:
        if address in self.server.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        self.server.keep(envelope)
        return "250 Message accepted for delivery"


def _password_check(username: str, password: str) -> Any:
    def check(_server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any):  # type: ignore[no-untyped-def]
        ok = isinstance(data, LoginPassword) and data.login == username.encode()
        # handled=False: the server answers 535 itself on a refusal
        return AuthResult(success=ok and data.password == password.encode(), handled=False)

    return check


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(
    *,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    login: tuple[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """A server for the test's duration: STARTTLS required when `starttls` is given,
    TLS from the first byte with `implicit_tls`, and AUTH (over TLS only) with `login`."""
    server = SmtpServer(HOST, free_port())
    options: dict[str, Any] = {}
    if starttls is not None:
        options |= {"tls_context": starttls, "require_starttls": True}
    if implicit_tls is not None:
        options["ssl_context"] = implicit_tls
    if login is not None:
        options |= {"authenticator": _password_check(*login), "auth_required": True}
    controller = Controller(_Handler(server), hostname=HOST, port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on 127.0.0.1 that keeps every message it is given."""
    with serving() as server:
        yield server
