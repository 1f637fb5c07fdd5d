"""Rasa's lock store, chosen by environment variables (endpoints.yml cannot give one a default).

With nothing set, Rasa's in-process lock store: right for one Rasa server. With
RASA_LOCK_STORE_URL=redis://host:6379/1, Rasa's own RedisLockStore, shared by every Rasa server
behind a load balancer, so that the turns of one conversation are handled one at a time, in the
order they arrived, whichever server receives them (contracts/settings.py, LockStoreSettings).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from contracts.settings import LockStoreSettings, SettingsError

REDIS_SCHEMES = {"redis": False, "rediss": True}


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
    """Delegates to the lock store the settings choose; Rasa's LockStore does the ticketing."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        configured = {**(endpoint_config.kwargs if endpoint_config else {}), **kwargs}
        settings = LockStoreSettings.load(configured)
        self.store: LockStore = (redis_lock_store(settings.redis_url, settings.key_prefix)
                                 if settings.redis_url else InMemoryLockStore())

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self.store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self.store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.store.save_lock(lock)
