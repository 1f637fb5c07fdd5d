"""For the website's chat channel: does the portal session a widget token names still hold?"""

from __future__ import annotations

from aiohttp import web

from backend.api.answers import WebSessionState
from backend.api.http import actor, call
from backend.api.openapi import endpoint
from backend.api.portal_auth import CLOCK_KEY
from backend.api.requests import WebSessionId
from backend.models.base import utcnow
from backend.services.signin import sessions

routes = web.RouteTableDef()


@routes.get("/web-sessions/{id}")
@endpoint("Whether a portal session still holds for the acting web identity (the chat channel "
          "asks before each message and at intervals)", path=WebSessionId,
          answer=WebSessionState)
async def state(request: web.Request, path: WebSessionId) -> WebSessionState:
    now = request.app.get(CLOCK_KEY, utcnow)()
    active = await call(request, sessions.holds_for, path.id, actor(request).member_id, now)
    return WebSessionState(active=active)
