"""Periodic work the serving process does besides answering requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from backend.api.http import DB_KEY, GATEWAY_KEY
from backend.services import idempotency
from backend.services.payments import reconciliation
from backend.settings import Settings

log = logging.getLogger("backend.background")


def retry_policy(settings: Settings) -> reconciliation.RetryPolicy:
    return reconciliation.RetryPolicy(
        grace=timedelta(seconds=settings.payment_sweep_grace_seconds),
        first_delay=timedelta(seconds=settings.payment_retry_first_seconds),
        longest_delay=timedelta(seconds=settings.payment_retry_longest_seconds),
        alert_after=settings.payment_alert_after_tries)


def pending_charge_sweeper(interval_seconds: float,
                           policy: reconciliation.RetryPolicy = reconciliation.DEFAULT_POLICY,
                           ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that runs the reconciliation sweep every `interval_seconds` (charges
    owed and not taken, answers that never came back, refunds not yet given)."""

    async def sweep(app: web.Application) -> None:
        report = await asyncio.to_thread(reconciliation.reconcile, app[DB_KEY],
                                         app[GATEWAY_KEY], policy=policy)
        if report:
            log.info("reconciliation: %s", report)

    return _every(interval_seconds, sweep, "the reconciliation sweep")


def expired_reply_purger(interval_seconds: float = 3600,
                         ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that forgets stored idempotent answers past their expiry."""

    async def purge(app: web.Application) -> None:
        purged = await asyncio.to_thread(idempotency.purge_expired, app[DB_KEY])
        if purged:
            log.info("forgot %d expired idempotent answer(s)", purged)

    return _every(interval_seconds, purge, "purging expired idempotent answers")


def _every(interval_seconds: float, work: Callable[[web.Application], Awaitable[None]],
           name: str) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_seconds)
                try:
                    await work(app)
                except Exception:
                    log.exception("%s failed; will try again", name)

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context
