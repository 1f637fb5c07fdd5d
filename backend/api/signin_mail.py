"""Sending sign-in mails after the answer: a page asking for a link (the portal's, the therapist
inbox's) answers at once and the same way for known and unknown addresses, and the mail goes out
in the background; the server waits for mails still going out when it stops."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from backend.adapters.mail import Mailer
from backend.services.signin import links

log = logging.getLogger("backend.portal")

MAILER_KEY = web.AppKey("portal_mailer", Mailer)
_SENDING_KEY: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("portal_mail_tasks")
STOP_WAIT_SECONDS = 10


def client_of(request: web.Request) -> str:
    """Who asks, for the per-client throttle of sign-in links."""
    return request.remote or "unknown"


async def send_in_background(request: web.Request, mail: links.Mail) -> None:
    mailer = request.app[MAILER_KEY]

    async def send() -> None:
        try:
            await mailer.send(mail)
        except Exception:
            log.exception("could not send a sign-in mail")

    task = asyncio.create_task(send())
    request.app[_SENDING_KEY].add(task)
    task.add_done_callback(request.app[_SENDING_KEY].discard)


async def _finish_sending(app: web.Application) -> None:
    sending: set[asyncio.Task[None]] = app[_SENDING_KEY]
    if sending:
        await asyncio.wait(list(sending), timeout=STOP_WAIT_SECONDS)


def setup(app: web.Application, mailer: Mailer) -> None:
    app[MAILER_KEY] = mailer
    app[_SENDING_KEY] = set()
    app.on_cleanup.append(_finish_sending)
