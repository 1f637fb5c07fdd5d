"""Alembic environment: migrates the database named by DATABASE_URL (or the CLI's URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from backend.models import Base
from backend.settings import get_settings

config = context.config
# Any number that is this project's alone: the PostgreSQL advisory lock every migration run takes.
MIGRATION_LOCK = 7_404_107_201
url = config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # handed over by tests, e.g. inside a PostgreSQL schema
        _run(connection)
        return
    with create_engine(url).connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several backends starting at once (replicas, init containers) migrate one after
            # the other: a later run waits here, then finds the schema current. (SQLite's
            # migration holds the database's write lock anyway.)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK})
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
