"""The policies people are told about (figures and wordings), for any identity."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import respond, settings
from backend.services import policies

routes = web.RouteTableDef()


@routes.get("/policies")
async def describe(request: web.Request) -> web.Response:
    return respond(policies.describe(settings(request)))
