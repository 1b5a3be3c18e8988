"""A node's settings: from a TOML file (`rsn serve --config`) or a data directory."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rsn import clock
from rsn.errors import ValidationError

CONFIG_NAME = "rsn.toml"
SMTP_SECURITY = ("starttls", "tls", "none")
DIGEST_HOUR = 7  # UTC: early morning from Dhaka to Jakarta
SQLITE_NAME = "rsn.sqlite3"


@dataclass(frozen=True)
class Settings:
    """Everything a node needs to start; whoever holds this file is a trusted operator."""

    database_url: str
    data_dir: Path = field(default_factory=lambda: Path("."))
    host: str = "127.0.0.1"
    port: int = 8080
    correlation_threshold: int = 20
    workers: int = 1
    node_name: str = "rsn"
    # Moves this node's clock ("365d", "-12h"); empty keeps RSN_CLOCK_OFFSET or none.
    # For tests and rehearsals only: every time window of the node reads this clock.
    clock_offset: str = ""
    # Background jobs: worker threads inside `rsn serve` (0: only `rsn worker` runs jobs),
    # seconds of silence after which a worker is taken for dead and its job is run by
    # another, and modules (dotted names) whose jobs this node runs besides its own.
    job_workers: int = 1
    job_stall_after: float = 30.0
    job_modules: tuple[str, ...] = ()
    # The address users reach this node at, for links in e-mails and webhooks
    # ("https://rsn.example.gov"); empty means http://host:port.
    public_url: str = ""
    # Webhooks go to public https addresses only; these networks (CIDR) or host names
    # may be reached besides, over http too (the demo allows loopback). Their TLS is
    # checked against the system's trusted CAs, or this PEM file's when set.
    webhook_allow: tuple[str, ...] = ()
    webhook_ca_file: str = ""
    webhook_timeout: float = 10.0
    # Mail (verification codes, e-mail subscriptions): off while smtp_host is empty.
    # smtp_security: "starttls", "tls" (implicit, port 465) or "none" (a local relay).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password_file: str = ""
    mail_from: str = ""
    # The hour (UTC, 0-23) at which daily digests go out.
    digest_hour: int = DIGEST_HOUR

    def __post_init__(self) -> None:
        object.__setattr__(self, "job_modules", tuple(self.job_modules))
        object.__setattr__(self, "webhook_allow", tuple(self.webhook_allow))
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise ValidationError.field("config.public_url", "must start with https:// or http://.")
        if self.webhook_timeout <= 0:
            raise ValidationError.field("config.webhook_timeout", "must be more than 0 seconds.")
        if self.smtp_security not in SMTP_SECURITY:
            raise ValidationError.field(
                "config.smtp_security", f"must be one of {', '.join(SMTP_SECURITY)}."
            )
        if self.smtp_host and not self.mail_from:
            raise ValidationError.field("config.mail_from", "is needed when smtp_host is set.")
        if not 0 <= self.digest_hour <= 23:
            raise ValidationError.field("config.digest_hour", "must be an hour from 0 to 23.")
        if self.job_workers < 0:
            raise ValidationError.field("config.job_workers", "must be 0 or more.")
        if self.job_stall_after <= 0:
            raise ValidationError.field("config.job_stall_after", "must be more than 0 seconds.")
        if self.clock_offset:
            try:
                clock.parse_offset(self.clock_offset)
            except ValueError as exc:
                raise ValidationError.field("config.clock_offset", f"{exc}.") from exc

    @classmethod
    def from_file(cls, path: Path) -> Settings:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValidationError.field("config", f"'{path}' cannot be read: {exc}") from exc
        node: dict[str, Any] = raw.get("node", raw)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(node) - known)
        if unknown:
            raise ValidationError.field(
                f"config.{unknown[0]}", f"is not a setting (known: {', '.join(sorted(known))})."
            )
        data_dir = Path(node.get("data_dir", path.parent))
        if not data_dir.is_absolute():
            data_dir = (path.parent / data_dir).resolve()
        url = node.get("database_url") or sqlite_url(data_dir)
        values = {**node, "data_dir": data_dir, "database_url": url}
        return cls(**values)

    @classmethod
    def for_data_dir(cls, data_dir: Path, **overrides: Any) -> Settings:
        """The settings of a node kept in `data_dir`: its rsn.toml, else SQLite inside it."""
        config = data_dir / CONFIG_NAME
        if config.exists():
            return cls.from_file(config)
        return cls(database_url=sqlite_url(data_dir), data_dir=data_dir.resolve(), **overrides)


def base_url(settings: Settings) -> str:
    """Where this node's pages are, for links that leave it (no trailing slash)."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / SQLITE_NAME).resolve()}"
