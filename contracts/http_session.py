"""One lazily created aiohttp session: a connection pool kept for the life of the process.

aiohttp sessions belong to the event loop they were made in, so the session is made on first
use inside the running loop (and made again if that loop is gone, as between tests that each
run their own loop). `close()` at shutdown closes its connections.
"""

from __future__ import annotations

import asyncio

import aiohttp


class SharedSession:
    def __init__(self, timeout_seconds: float | None = None) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.created = 0  # how many sessions were made (tests check the pool is reused)

    def __call__(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._loop = loop
            self.created += 1
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()
