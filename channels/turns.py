"""Counting each chat identity's turns per minute, so that one sender cannot flood the bot.

Both counters answer `count(sender)`: how many turns the sender has taken in the current minute,
this one included (a fixed window: the clock's minute). `MemoryTurnCounter` (default) counts in
this process; `RedisTurnCounter` shares the counts between several Rasa servers (INCR + EXPIRE,
atomic in one MULTI), the shape of channels/dedupe.py. When Redis cannot be reached, the turn
is let through (logged): a limit that fails closed would silence everyone, crises included.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class TurnCounter(Protocol):
    async def count(self, sender: str) -> int: ...


class MemoryTurnCounter:
    def __init__(self, max_senders: int = 50_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_senders = max_senders
        self._clock = clock
        self._counts: OrderedDict[str, tuple[int, int]] = OrderedDict()  # sender: (minute, n)

    async def count(self, sender: str) -> int:
        minute = int(self._clock() // WINDOW_SECONDS)
        window, turns = self._counts.pop(sender, (minute, 0))
        turns = turns + 1 if window == minute else 1
        self._counts[sender] = (minute, turns)  # most recent last
        while len(self._counts) > self.max_senders:
            self._counts.popitem(last=False)
        return turns


class RedisTurnCounter:
    def __init__(self, url: str, prefix: str = "turns:",
                 clock: Callable[[], float] = time.time) -> None:
        from redis import asyncio as aioredis  # only needed when configured

        self._redis = aioredis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._clock = clock

    async def count(self, sender: str) -> int:
        key = f"{self._prefix}{sender}:{int(self._clock() // WINDOW_SECONDS)}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                turns, _ = await pipe.incr(key).expire(key, WINDOW_SECONDS * 2).execute()
        except Exception as error:  # redis raises many kinds; none may stop a conversation
            log.warning("Turn counting in Redis failed (%r); the turn is let through.", error)
            return 0
        return int(turns)

    async def close(self) -> None:
        close = getattr(self._redis, "aclose", None) or self._redis.close  # redis 5 / 4
        await close()


def build_turn_counter(redis_url: str | None) -> TurnCounter:
    if redis_url:
        return RedisTurnCounter(redis_url)
    return MemoryTurnCounter()
