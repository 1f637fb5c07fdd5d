"""The durable inbox of the webhook channels (Slack, Teams): a message is written here before
the platform gets its 200, marked done once handled, and what a stopped server left undone is
handled when it starts again. So an acknowledged message is handled at least once; a message
handled twice keeps its platform id (the actions' idempotency keys), so its changes happen once.

One SQLite file per Rasa server (`CHAT_INBOX_PATH`), through the standard library: the Rasa
environment has no database driver of the backend's, and the inbox belongs to this server.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "chat-inbox.sqlite3"
KEEP_DONE_SECONDS = 24 * 3600

_SCHEMA = """CREATE TABLE IF NOT EXISTS inbox (
    channel TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
    received_at REAL NOT NULL, done_at REAL, PRIMARY KEY (channel, key))"""


class Inbox:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)

    @classmethod
    def from_environment(cls) -> Inbox:
        return cls(os.environ.get("CHAT_INBOX_PATH") or DEFAULT_PATH)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def put(self, channel: str, key: str, payload: str) -> bool:
        """Keep a received message (committed to disk); False if it was kept already."""
        with self._lock, self._connect() as connection:
            inserted = connection.execute(
                "INSERT OR IGNORE INTO inbox (channel, key, payload, received_at) "
                "VALUES (?, ?, ?, ?)", (channel, key, payload, time.time())).rowcount
        return inserted == 1

    def done(self, channel: str, key: str) -> None:
        now = time.time()
        with self._lock, self._connect() as connection:
            connection.execute("UPDATE inbox SET done_at = ? WHERE channel = ? AND key = ?",
                               (now, channel, key))
            connection.execute("DELETE FROM inbox WHERE done_at < ?", (now - KEEP_DONE_SECONDS,))

    def undone(self, channel: str) -> list[tuple[str, str]]:
        """(key, payload) of the messages kept and not handled, oldest first."""
        with self._lock, self._connect() as connection:
            return list(connection.execute(
                "SELECT key, payload FROM inbox WHERE channel = ? AND done_at IS NULL "
                "ORDER BY received_at", (channel,)))
