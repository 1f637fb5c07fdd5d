"""The dispatcher process: builds its parts from the settings (its composition root) and runs
the loop, with `GET /health` (the state counts) on DISPATCHER_HOST:DISPATCHER_PORT so `make run`
and the tests see when it is ready."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import aiohttp
from aiohttp import web

from backend.clock import build_clock
from backend.db import Database
from backend.dispatcher.loop import Dispatcher
from backend.dispatcher.rasa import RasaConversations
from backend.services.outbox import deliveries, schedule
from backend.services.outbox.deliveries import RetryPolicy
from backend.settings import Settings

log = logging.getLogger("backend.dispatcher")


def build(settings: Settings, db: Database, session: aiohttp.ClientSession) -> Dispatcher:
    clock = build_clock(settings.dev_clock_file)
    rules = schedule.ScheduleRules.from_settings(settings)
    return Dispatcher(
        db, RasaConversations(settings.rasa_url, settings.rasa_api_token, session), clock,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        lease_seconds=settings.dispatcher_lease_seconds,
        retry=RetryPolicy(settings.dispatcher_max_attempts, settings.dispatcher_retry_seconds,
                          settings.dispatcher_retry_max_seconds),
        poll_seconds=settings.dispatcher_poll_seconds,
        schedule=lambda now: schedule.raise_due(db, now, rules),
        schedule_seconds=settings.dispatcher_schedule_seconds,
    )


def health_app(db: Database) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok",
                                  "deliveries": await asyncio.to_thread(deliveries.counts, db)})

    app = web.Application()
    app.router.add_get("/health", health)
    return app


async def serve(settings: Settings) -> None:
    db = Database(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(health_app(db), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.dispatcher_host, settings.dispatcher_port).start()
    async with aiohttp.ClientSession() as session:
        dispatcher = build(settings, db, session)
        log.info("dispatcher %s pushing to Rasa at %s (health on http://%s:%d/health)",
                 dispatcher.worker, settings.rasa_url, settings.dispatcher_host,
                 settings.dispatcher_port)
        if not settings.rasa_api_token:
            log.warning("RASA_API_TOKEN is not set: Rasa's HTTP API is off and nothing can be "
                        "pushed (`make run` sets one).")
        try:
            await dispatcher.run(stop)
        finally:
            await runner.cleanup()
            db.dispose()
