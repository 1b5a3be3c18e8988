"""The SMTP sender against a real server (aiosmtpd): plain, STARTTLS, TLS, passwords, failures."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import replace
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import trustme

from rsn.config import Settings
from rsn.errors import DeliveryFailed
from rsn.notify.mail import Mailer
from tests.conftest import Clock
from tests.smtp import SmtpServer, free_port, serving

SENDER = "RSN node <rsn@node.example.org>"
TO = "analyst@cert.example.gov"


def mailer(server: SmtpServer, **changes: object) -> Mailer:
    plain = Mailer(
        host=server.host,
        port=server.port,
        security="none",
        username="",
        password_file="",
        sender=SENDER,
        timeout=5.0,
    )
    return replace(plain, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """The server's side of TLS: a certificate for 127.0.0.1 from a CA no system trusts."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test's CA trusted as the system's would be (OpenSSL reads SSL_CERT_FILE)."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    yield


def password_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "smtp-password"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_mail_is_off_without_a_host(tmp_path: Path) -> None:
    assert Mailer.of(Settings(database_url="sqlite://", data_dir=tmp_path)) is None
    settings = Settings(
        database_url="sqlite://",
        data_dir=tmp_path,
        smtp_host="mail.example.org",
        smtp_port=465,
        smtp_security="tls",
        smtp_username="rsn",
        smtp_password_file="/etc/rsn/smtp",
        mail_from=SENDER,
    )
    assert Mailer.of(settings) == Mailer(
        host="mail.example.org",
        port=465,
        security="tls",
        username="rsn",
        password_file="/etc/rsn/smtp",
        sender=SENDER,
    )


def test_a_plain_text_mail_arrives_in_utf8(smtp_server: SmtpServer, clock: Clock) -> None:
    text = "ঢাকা: a report was filed.\nSecond line — with a dash.\n"
    mailer(smtp_server).send(TO, "Nouveau rapport · ঢাকা", text, headers={"X-RSN-Kind": "test"})
    [message] = smtp_server.wait_for(1)
    assert smtp_server.recipients == [[TO]]
    assert message["From"] == SENDER
    assert message["To"] == TO
    assert message["Subject"] == "Nouveau rapport · ঢাকা"
    assert parsedate_to_datetime(message["Date"]) == clock.now
    assert message["Message-ID"].endswith("@node.example.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-RSN-Kind"] == "test"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == text


def test_every_mail_has_its_own_message_id(smtp_server: SmtpServer) -> None:
    sender = mailer(smtp_server)
    sender.send(TO, "one", "one")
    sender.send(TO, "two", "two")
    first, second = smtp_server.wait_for(2)
    assert first["Message-ID"] != second["Message-ID"]


@pytest.mark.parametrize(
    ("to", "subject", "headers"),
    [
        (TO, "Hello\r\nBcc: victim@example.org", {}),
        (TO, "Hello\nBcc: victim@example.org", {}),
        (f"{TO}\r\nBcc: victim@example.org", "Hello", {}),
        (TO, "Hello", {"X-Note": "a\nBcc: victim@example.org"}),
        (TO, "Hello", {"X-Note\nBcc": "victim@example.org"}),
        (TO, "Hello", {"Bcc: victim@example.org\nX": "y"}),
    ],
)
def test_a_line_break_in_a_header_is_refused(
    smtp_server: SmtpServer, to: str, subject: str, headers: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match=r"line break|header name"):
        mailer(smtp_server).send(to, subject, "body", headers=headers)
    assert smtp_server.messages == []


def test_a_caller_does_not_replace_the_mailers_own_headers(smtp_server: SmtpServer) -> None:
    with pytest.raises(ValueError, match="set by the mailer"):
        mailer(smtp_server).send(TO, "Hello", "body", headers={"From": "boss@example.org"})


def test_a_server_that_is_not_there_fails_the_delivery() -> None:
    gone = SmtpServer("127.0.0.1", free_port())
    with pytest.raises(DeliveryFailed, match=r"127\.0\.0\.1:\d+ refused the connection"):
        mailer(gone).send(TO, "Hello", "body")


def test_a_refused_recipient_fails_the_delivery(smtp_server: SmtpServer) -> None:
    smtp_server.refused.add(TO)
    with pytest.raises(DeliveryFailed, match=f"refused the recipient {TO}.*550"):
        mailer(smtp_server).send(TO, "Hello", "body")
    assert smtp_server.messages == []


def test_starttls_with_an_untrusted_certificate_fails(server_tls: ssl.SSLContext) -> None:
    with serving(starttls=server_tls) as server:
        with pytest.raises(DeliveryFailed, match=r"certificate .* is not trusted"):
            mailer(server, security="starttls").send(TO, "Hello", "body")
        assert server.messages == []


def test_starttls_is_required_when_the_settings_ask_for_it(smtp_server: SmtpServer) -> None:
    with pytest.raises(DeliveryFailed, match="STARTTLS"):
        mailer(smtp_server, security="starttls").send(TO, "Hello", "body")
    assert smtp_server.messages == []


def test_starttls_and_a_password_from_its_file(
    server_tls: ssl.SSLContext, trusted: None, tmp_path: Path
) -> None:
    secret = password_file(tmp_path, "s3cret pass\n")
    with serving(starttls=server_tls, login=("rsn", "s3cret pass")) as server:
        sender = mailer(server, security="starttls", username="rsn", password_file=secret)
        sender.send(TO, "Hello", "over TLS")
        [message] = server.wait_for(1)
    assert message.get_content() == "over TLS\n"


def test_a_wrong_password_fails_without_saying_it(
    server_tls: ssl.SSLContext, trusted: None, tmp_path: Path
) -> None:
    secret = password_file(tmp_path, "not the password\n")
    with serving(starttls=server_tls, login=("rsn", "s3cret pass")) as server:
        sender = mailer(server, security="starttls", username="rsn", password_file=secret)
        with pytest.raises(DeliveryFailed, match="refused the username or password") as failed:
            sender.send(TO, "Hello", "body")
    assert "not the password" not in str(failed.value)
    assert failed.value.__cause__ is None and failed.value.__suppress_context__


def test_an_unreadable_password_file_fails_the_delivery(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    missing = str(tmp_path / "absent")
    sender = mailer(smtp_server, host="localhost", username="rsn", password_file=missing)
    with pytest.raises(DeliveryFailed, match=r"smtp_password_file .* cannot be read"):
        sender.send(TO, "Hello", "body")


def test_a_password_never_crosses_the_network_in_clear(tmp_path: Path) -> None:
    secret = password_file(tmp_path, "s3cret")
    sender = Mailer("mail.example.org", 25, "none", "rsn", secret, SENDER)
    with pytest.raises(DeliveryFailed, match="unencrypted"):
        sender.send(TO, "Hello", "body")


def test_implicit_tls(server_tls: ssl.SSLContext, trusted: None) -> None:
    with serving(implicit_tls=server_tls) as server:
        mailer(server, security="tls").send(TO, "Hello", "implicit")
        [message] = server.wait_for(1)
    assert message.get_content() == "implicit\n"


def test_implicit_tls_with_an_untrusted_certificate_fails(server_tls: ssl.SSLContext) -> None:
    with serving(implicit_tls=server_tls) as server:
        with pytest.raises(DeliveryFailed, match="not trusted"):
            mailer(server, security="tls").send(TO, "Hello", "body")
        assert server.messages == []
