"""The durable inbox of the webhook channels (Slack, Teams): a message is written here before
the platform gets its 200, marked done once handled, and what a stopped server left undone is
handled again. So an acknowledged message is handled at least once; a message handled twice
keeps its platform id (the actions' idempotency keys), so its changes happen once.

A kept message is leased to the server that received it (its `owner`) for `lease_seconds`.
`claim_undone` hands out the messages nobody is handling: those whose lease ran out (a server
that died and never came back: any server sweeping takes them over) and, when a server starts,
those it owned itself before it stopped (a server's owner name outlives its restarts: host name
and port by default). A message is remembered KEEP_DONE_SECONDS after it was handled, so a late
redelivery is not handled again.

Two stores with the same behaviour (InboxSettings, contracts/settings.py):
- `RedisInbox` (CHAT_INBOX_REDIS_URL), shared by every Rasa server: what one server dropped,
  another takes over. For several servers or any server whose disk does not outlive it.
- `SqliteInbox` (CHAT_INBOX_PATH, the default), a file on this machine, through the standard
  library (the Rasa environment has no database driver of the backend's).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from tenacity import retry, retry_if_exception, stop_after_delay, wait_random

from contracts.settings import InboxSettings

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "chat-inbox.sqlite3"
KEEP_DONE_SECONDS = 24 * 3600
# Slack wants its answer within 3 s: a store slower than this counts as down, and the message
# is handled without it (channels/verified_input.py).
STORE_TIMEOUT_SECONDS = 2

Clock = Callable[[], float]
Undone = list[tuple[str, str]]  # (key, payload), oldest first


class Inbox(Protocol):
    owner: str

    def put(self, channel: str, key: str, payload: str) -> bool:
        """Keep a received message, leased to this server; False if it was kept already (a
        retried delivery)."""

    def done(self, channel: str, key: str) -> None:
        """The message was handled."""

    def claim_undone(self, channel: str, *, at_start: bool = False) -> Undone:
        """Lease to this server the messages nobody is handling (see the module's docstring)."""


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.environ.get('RASA_PORT') or 5005}"


def build_inbox(settings: InboxSettings | None = None) -> Inbox:
    settings = settings or InboxSettings.from_environment()
    owner = settings.owner or default_owner()
    if settings.redis_url:
        return RedisInbox(settings.redis_url, owner, settings.lease_seconds)
    return SqliteInbox(settings.path or DEFAULT_PATH, owner, settings.lease_seconds)


_SCHEMA = """CREATE TABLE IF NOT EXISTS inbox (
    channel TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
    received_at REAL NOT NULL, done_at REAL, owner TEXT, lease_until REAL,
    PRIMARY KEY (channel, key))"""


class SqliteInbox:
    def __init__(self, path: str | Path, owner: str, lease_seconds: float = 300,
                 clock: Clock = time.time) -> None:
        self.path = Path(path)
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._create()

    # Servers opening one new file at once: turning it to WAL needs the file to itself, and
    # SQLite answers "database is locked" at once rather than wait when two try together (a
    # deadlock it avoids), so the loser tries again.
    @retry(retry=retry_if_exception(lambda error: isinstance(error, sqlite3.OperationalError)
                                    and "locked" in str(error)),
           stop=stop_after_delay(STORE_TIMEOUT_SECONDS), wait=wait_random(0.005, 0.05),
           reraise=True)
    def _create(self) -> None:
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)
            columns = {row[1] for row in connection.execute("PRAGMA table_info(inbox)")}
            for column, kind in (("owner", "TEXT"), ("lease_until", "REAL")):
                if column not in columns:  # a file written before leases
                    connection.execute(f"ALTER TABLE inbox ADD COLUMN {column} {kind}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode (claim_undone opens its own transaction)."""
        connection = sqlite3.connect(self.path, timeout=STORE_TIMEOUT_SECONDS,
                                     isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    def put(self, channel: str, key: str, payload: str) -> bool:
        now = self._clock()
        with self._lock, self._connect() as connection:
            inserted = connection.execute(
                "INSERT OR IGNORE INTO inbox (channel, key, payload, received_at, owner, "
                "lease_until) VALUES (?, ?, ?, ?, ?, ?)",
                (channel, key, payload, now, self.owner, now + self.lease_seconds)).rowcount
        return inserted == 1

    def done(self, channel: str, key: str) -> None:
        now = self._clock()
        with self._lock, self._connect() as connection:
            connection.execute("UPDATE inbox SET done_at = ? WHERE channel = ? AND key = ?",
                               (now, channel, key))
            connection.execute("DELETE FROM inbox WHERE done_at < ?", (now - KEEP_DONE_SECONDS,))

    def claim_undone(self, channel: str, *, at_start: bool = False) -> Undone:
        now = self._clock()
        with self._lock, self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")  # one claimer at a time across processes
            try:
                rows = list(connection.execute(
                    "SELECT key, payload FROM inbox WHERE channel = ? AND done_at IS NULL "
                    "AND (lease_until IS NULL OR lease_until <= ? OR (? AND owner = ?)) "
                    "ORDER BY received_at", (channel, now, at_start, self.owner)))
                connection.executemany(
                    "UPDATE inbox SET owner = ?, lease_until = ? WHERE channel = ? AND key = ?",
                    [(self.owner, now + self.lease_seconds, channel, key) for key, _ in rows])
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        return rows


# Keys of one channel share a hash tag ({slack}), so the scripts work on Redis Cluster too.
_PUT = """
if redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[5]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
  return 1
end
return 0
"""
_DONE = """
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
"""
# ARGV: now, lease until, owner, at start ('1' or '0'). Answers key, payload, key, payload...
# in the order the messages were received.
_CLAIM = """
local claimed = {}
local order = {}
local function take(key)
  if not claimed[key] and redis.call('HEXISTS', KEYS[1], key) == 1 then
    claimed[key] = true
    table.insert(order, key)
  end
end
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])) do take(key) end
if ARGV[4] == '1' then
  local owners = redis.call('HGETALL', KEYS[3])
  for i = 1, #owners, 2 do
    if owners[i + 1] == ARGV[3] then take(owners[i]) end
  end
end
local received = {}
for _, key in ipairs(order) do received[key] = tonumber(redis.call('ZSCORE', KEYS[2], key)) end
table.sort(order, function(a, b) return received[a] < received[b] end)
local answer = {}
for _, key in ipairs(order) do
  redis.call('ZADD', KEYS[2], ARGV[2], key)
  redis.call('HSET', KEYS[3], key, ARGV[3])
  table.insert(answer, key)
  table.insert(answer, redis.call('HGET', KEYS[1], key))
end
return answer
"""


class RedisInbox:
    def __init__(self, url: str, owner: str, lease_seconds: float = 300,
                 clock: Clock = time.time, prefix: str = "inbox") -> None:
        import redis  # only needed when configured

        self.owner = owner
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=STORE_TIMEOUT_SECONDS,
                                           socket_connect_timeout=STORE_TIMEOUT_SECONDS)
        self._put = self._redis.register_script(_PUT)
        self._done = self._redis.register_script(_DONE)
        self._claim = self._redis.register_script(_CLAIM)

    def _keys(self, channel: str) -> list[str]:
        tag = f"{self._prefix}:{{{channel}}}"
        return [f"{tag}:payloads", f"{tag}:leases", f"{tag}:owners"]

    def put(self, channel: str, key: str, payload: str) -> bool:
        seen = f"{self._prefix}:{{{channel}}}:seen:{key}"
        lease_until = self._clock() + self.lease_seconds
        kept = self._put(keys=[*self._keys(channel), seen],
                         args=[key, payload, lease_until, self.owner, KEEP_DONE_SECONDS])
        return kept == 1

    def done(self, channel: str, key: str) -> None:
        self._done(keys=self._keys(channel), args=[key])

    def claim_undone(self, channel: str, *, at_start: bool = False) -> Undone:
        now = self._clock()
        flat = self._claim(keys=self._keys(channel),
                           args=[now, now + self.lease_seconds, self.owner,
                                 "1" if at_start else "0"])
        pairs = [item.decode() if isinstance(item, bytes) else str(item) for item in flat]
        return list(zip(pairs[::2], pairs[1::2], strict=True))
