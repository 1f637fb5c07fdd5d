"""Periodic work the serving process does besides answering requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from backend.api.http import DB_KEY, GATEWAY_KEY
from backend.services.payments import charges

log = logging.getLogger("backend.background")


def pending_charge_sweeper(interval_seconds: float):
    """A cleanup context that re-asks the payment provider about charges left pending (the
    provider was unreachable, or the process stopped mid-charge), every `interval_seconds`."""

    async def sweeper(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_seconds)
                try:
                    resumed = await asyncio.to_thread(
                        charges.resume_pending_charges, app[DB_KEY], app[GATEWAY_KEY])
                    if resumed:
                        log.info("resumed %d pending charge(s)", resumed)
                except Exception:
                    log.exception("sweeping pending charges failed; will try again")

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return sweeper
