"""Alembic environment: runs migrations on the URL the node was given."""

from __future__ import annotations

from alembic import context

import rsn.models  # noqa: F401  (every feature's tables, for autogenerate)
from rsn.store.db import Base, make_engine
from rsn.store.migrate import include_name

config = context.config
target_metadata = Base.metadata


def run() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
