"""The quote: what booking a session would do, asked before the member confirms."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, json_body, policy, respond
from backend.services.bookings.quote import quote

routes = web.RouteTableDef()


@routes.post("/bookings/quote")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    return respond(await call(request, quote, actor(request),
                              therapist_id=body.get("therapist_id"),
                              starts_at=body.get("starts_at"), modality=body.get("modality"),
                              policy=policy(request)))
