"""A confirmed booking's calendar file, at the signed link the member was sent
(backend/services/outbox/calendar.py): public, like the portal, for calendar apps to fetch."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from backend.api.http import call
from backend.api.openapi import endpoint
from backend.api.portal_auth import SETTINGS_KEY
from backend.models.base import utcnow
from backend.services.outbox import calendar

routes = web.RouteTableDef()
ICS = "text/calendar"


def links(request: web.Request) -> Callable[[int], str]:
    """How this backend links to a booking's calendar file."""
    settings = request.app[SETTINGS_KEY]
    return lambda booking_id: calendar.link(settings.public_base_url, settings.calendar_key,
                                            booking_id)


@routes.get("/calendar/{file}")
@endpoint("A confirmed booking's calendar file (titled \"Private appointment\")", answer=str,
          auth="public", content_type=ICS)
async def calendar_file(request: web.Request) -> web.StreamResponse:
    token = request.match_info["file"].removesuffix(calendar.SUFFIX)
    body = await call(request, calendar.file_for, request.app[SETTINGS_KEY].calendar_key, token,
                      utcnow())
    return web.Response(body=body, content_type=ICS, headers={"Cache-Control": "no-store"})
