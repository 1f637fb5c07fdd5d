"""Engine and transactions. Every use case runs in exactly one transaction.

SQLite: writes start with BEGIN IMMEDIATE, so two writers queue on the database lock
(busy timeout) instead of failing when a read lock has to be upgraded. PostgreSQL: the default
READ COMMITTED; quotas are kept by guarded UPDATE statements, which it evaluates atomically.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.models import Base

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_engine(url: str, *, begin: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """Opens transactions on the configured database (SQLite file or PostgreSQL)."""

    def __init__(self, url: str, *, schema: str | None = None):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
            self._read_engine = _sqlite_engine(url, begin="BEGIN")
        else:
            options = {"options": f"-csearch_path={schema}"} if schema else {}
            self.engine = create_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args=options
            )
            self._read_engine = self.engine
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A read-write unit of work: commits when the block ends, rolls back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only unit of work (no write lock on SQLite). Objects stay readable after it
        ends; closing the session ends the transaction without expiring them."""
        with self._read_sessions() as session:
            yield session

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()


def changed_rows(session: Session, statement: Executable) -> int:
    """Run a guarded UPDATE (or DELETE) and say how many rows it changed."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError("changed_rows runs UPDATE or DELETE statements")
    return result.rowcount
