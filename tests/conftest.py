"""Fixtures shared by every test: databases (SQLite and PostgreSQL), the API client, and the
running stacks of processes (tests/stack.py), shared by every module that asks for the same one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from backend.db import Database
from tests.stack import Stack, stack_factory  # noqa: F401  (one factory for the whole session)

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _sqlite(tmp_path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    db.create_all()
    yield db
    db.dispose()


def _postgres() -> Iterator[Database]:
    """A throw-away schema in the test database, so runs never see each other's rows."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(POSTGRES_URL, schema=schema)
    try:
        db.create_all()
        yield db
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request, tmp_path) -> Iterator[Database]:
    """The same test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:
        yield from _postgres()


@pytest.fixture(autouse=True)
def chat_inbox(tmp_path, monkeypatch) -> None:
    """Each test's channels keep their durable inbox (channels/inbox.py) in its own file."""
    monkeypatch.setenv("CHAT_INBOX_PATH", str(tmp_path / "chat-inbox.sqlite3"))


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:
    yield from _sqlite(tmp_path)


@pytest.fixture(scope="module")
def stack(stack_factory) -> Stack:  # noqa: F811
    """The running processes most conversation tests share; a module that needs other settings
    defines its own `stack`. The development REST channel trusts the sender id each test gives
    (DEV_TRUST_SENDER), so a test speaks as new people of its own or as the demo organisation's
    people (whose data the other modules see too)."""
    return stack_factory("conversations", rasa_env={"DEV_TRUST_SENDER": "true"})
