"""Rasa's lock store, chosen by environment variables (endpoints.yml cannot give one a default).

With nothing set, Rasa's in-process lock store: right for one Rasa server. With
RASA_LOCK_STORE_URL=redis://host:6379/1, Rasa's own RedisLockStore, shared by every Rasa server
behind a load balancer, so that the turns of one conversation are handled one at a time, in the
order they arrived, whichever server receives them (contracts/settings.py, LockStoreSettings).

Rasa's RedisLockStore keeps a conversation's ticket queue as one JSON value that each server
reads, changes and writes back. Two servers doing that at the same moment both take ticket 1, or
one deletes the queue the other just joined, and two turns of one conversation run at once (the
later save then drops the other turn's events). So here each read-change-write of a queue holds a
short Redis mutex of its own (redis-py's Lock); the waiting for one's turn stays Rasa's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from contracts.settings import LockStoreSettings, SettingsError

REDIS_SCHEMES = {"redis": False, "rediss": True}
# A queue change takes a millisecond or two; a server that dies holding the mutex frees it here.
MUTEX_SECONDS = 5.0


def redis_lock_store(url: str, key_prefix: str) -> RedisLockStore:
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise SettingsError(f"RASA_LOCK_STORE_URL must look like redis://host:6379/1, not {url!r}.")
    database = parts.path.strip("/") or "0"
    if not database.isdigit():
        raise SettingsError(f"RASA_LOCK_STORE_URL: the database must be a number, "
                            f"not {database!r}.")
    return RedisLockStore(
        host=parts.hostname, port=parts.port or 6379, db=int(database),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_ssl=REDIS_SCHEMES[parts.scheme], key_prefix=key_prefix)


class EnvironmentLockStore(LockStore):
    """Delegates to the lock store the settings choose; Rasa's LockStore does the ticketing, each
    change of a shared queue under its mutex."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        configured = {**(endpoint_config.kwargs if endpoint_config else {}), **kwargs}
        settings = LockStoreSettings.load(configured)
        self.store: LockStore
        self._mutex: Callable[[str], AbstractContextManager[Any]]
        if settings.redis_url:
            store = redis_lock_store(settings.redis_url, settings.key_prefix)
            self.store = store
            self._mutex = lambda conversation_id: store.red.lock(
                f"{store.key_prefix}mutex:{conversation_id}", timeout=MUTEX_SECONDS,
                blocking_timeout=MUTEX_SECONDS)
        else:  # one server, one event loop: a queue change is never interleaved
            self.store = InMemoryLockStore()
            self._mutex = lambda conversation_id: nullcontext()

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self.store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self.store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.store.save_lock(lock)

    # Rasa's read-change-write steps, each under the conversation's mutex.

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # finish_serving, then delete the queue if nobody joined it meanwhile: one step.
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
