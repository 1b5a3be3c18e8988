"""Schema changes, always through Alembic: the app never calls `create_all`."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config

# Tables the migrations create by hand for one store only (full-text search); the
# models do not describe them, so autogenerate must leave them alone.
UNMODELLED = ("report_fts", "report_search")


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic filter: compare everything but the store-specific search tables."""
    return not (type_ == "table" and name is not None and name.startswith(UNMODELLED))


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("rsn.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the newest by default)."""
    command.upgrade(alembic_config(url), revision)
