"""Chat identities proven by a channel (Slack, Teams): who they are in the backend."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, json_body, respond
from backend.services import identities

routes = web.RouteTableDef()


@routes.post("/identities/verify")
async def verify(request: web.Request) -> web.Response:
    """The acting identity (X-Acting-For) as verified by the channel; body: email, name."""
    body = await json_body(request)
    return respond(await call(request, identities.verify, actor(request),
                              email=body.get("email"), name=body.get("name")))


@routes.post("/identities/connect-workspace")
async def connect_workspace(request: web.Request) -> web.Response:
    return respond(await call(request, identities.connect_workspace, actor(request)))
