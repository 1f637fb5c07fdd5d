"""Asking for a person (the answer says when the team answers), and writing to the person of
the team who has the request (the bot relays the member's messages while they have it)."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, settings
from backend.api.openapi import endpoint
from backend.api.requests import HandoffMessage, HandoffRequest
from backend.services import handoffs, staff
from contracts.answers import Handoff

routes = web.RouteTableDef()


@routes.post("/handoffs")
@endpoint("Ask for a person", body=HandoffRequest, answer=Handoff, status=201)
async def create(request: web.Request, body: HandoffRequest) -> Handoff:
    return await call(request, handoffs.request, actor(request), topic=body.topic,
                      message=body.message, risk_kind=body.risk_kind, reference=body.reference,
                      occurred_at=body.occurred_at, hours=settings(request).office_hours())


@routes.post("/handoffs/current/messages")
@endpoint("The member writes to the person of the team who has their request (relayed by the "
          "bot while they have it); 404 when nobody has it", body=HandoffMessage,
          answer=Handoff, status=201)
async def relay(request: web.Request, body: HandoffMessage) -> Handoff:
    return await call(request, staff.relay, actor(request), body.text or "")
