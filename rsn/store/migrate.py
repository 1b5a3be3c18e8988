"""Schema changes, always through Alembic: the app never calls `create_all`."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config

# What the migrations create by hand for one store only (full-text search): SQLite's
# FTS5 tables, PostgreSQL's `tsvector` column on reports and its GIN index. The models
# do not describe them (nothing reads them as columns), so autogenerate leaves them be.
# Nor procrastinate's tables on PostgreSQL (the background jobs' queue): migration 0015
# applies the library's own schema file, and the library reads and writes them.
UNMODELLED = {
    "table": ("report_fts", "report_search", "procrastinate_"),
    "column": ("search_document",),
    "index": ("ix_reports_search_document",),
}


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic filter: compare everything but the store-specific search structures."""
    return name is None or not name.startswith(UNMODELLED.get(type_, ()))


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("rsn.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the newest by default)."""
    command.upgrade(alembic_config(url), revision)
