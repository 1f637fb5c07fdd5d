"""Asking for a person."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, json_body, respond
from backend.services import handoffs

routes = web.RouteTableDef()


@routes.post("/handoffs")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    created = await call(request, handoffs.request, actor(request), topic=body.get("topic"),
                         message=body.get("message", ""), risk_kind=body.get("risk_kind"),
                         reference=body.get("reference"), occurred_at=body.get("occurred_at"))
    return respond(created, status=201)
