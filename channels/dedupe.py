"""Remembering what was already handled, so that a delivery retried by a platform runs once.

`MemoryDeduplicator` (default) is a bounded TTL set in this process; `RedisDeduplicator` shares the
memory between several Rasa servers (SET NX EX). Both answer `first_time(key)` atomically.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from channels.inbox import STORE_TIMEOUT_SECONDS


class Deduplicator(Protocol):
    async def first_time(self, key: str) -> bool: ...


class TTLSet:
    """Keys remembered for `ttl` seconds, at most `max_items` of them (oldest forgotten first)."""

    def __init__(self, ttl: float, max_items: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def _forget_expired(self, now: float) -> None:
        while self._expiry:
            key, expires = next(iter(self._expiry.items()))
            if expires > now and len(self._expiry) <= self.max_items:
                break
            self._expiry.pop(key)

    def add(self, key: str) -> bool:
        """True if the key was not remembered (and now is), False if it already was."""
        now = self._clock()
        self._forget_expired(now)
        if key in self._expiry:
            return False
        self._expiry[key] = now + self.ttl
        self._forget_expired(now)
        return True

    def discard(self, key: str) -> None:
        self._expiry.pop(key, None)

    def __contains__(self, key: str) -> bool:
        self._forget_expired(self._clock())
        return key in self._expiry

    def __len__(self) -> int:
        return len(self._expiry)


class MemoryDeduplicator:
    def __init__(self, ttl: float = 3600, max_items: int = 10_000) -> None:
        self._seen = TTLSet(ttl, max_items)

    async def first_time(self, key: str) -> bool:
        return self._seen.add(key)

    async def forget(self, key: str) -> None:
        self._seen.discard(key)


class RedisDeduplicator:
    def __init__(self, url: str, ttl: float = 3600, prefix: str = "dedupe:") -> None:
        from redis import asyncio as aioredis  # only needed when configured

        self._redis = aioredis.from_url(url, socket_timeout=STORE_TIMEOUT_SECONDS,
                                        socket_connect_timeout=STORE_TIMEOUT_SECONDS)
        self._ttl = max(1, int(ttl))
        self._prefix = prefix

    async def first_time(self, key: str) -> bool:
        stored = await self._redis.set(self._prefix + key, b"1", nx=True, ex=self._ttl)
        return bool(stored)

    async def forget(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


def build_deduplicator(redis_url: str | None, ttl: float, prefix: str) -> Deduplicator:
    if redis_url:
        return RedisDeduplicator(redis_url, ttl, prefix)
    return MemoryDeduplicator(ttl)


class BackgroundTasks:
    """Keeps references to fire-and-forget tasks (asyncio holds only weak ones)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for the running tasks (a graceful shutdown); returns how
        many were still running after it."""
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        return len(pending)
