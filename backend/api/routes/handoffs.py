"""Asking for a person (the answer says when the team answers)."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, settings
from backend.api.openapi import endpoint
from backend.api.requests import HandoffRequest
from backend.services import handoffs
from contracts.answers import Handoff

routes = web.RouteTableDef()


@routes.post("/handoffs")
@endpoint("Ask for a person", body=HandoffRequest, answer=Handoff, status=201)
async def create(request: web.Request, body: HandoffRequest) -> Handoff:
    return await call(request, handoffs.request, actor(request), topic=body.topic,
                      message=body.message, risk_kind=body.risk_kind, reference=body.reference,
                      occurred_at=body.occurred_at, hours=settings(request).office_hours())
