"""Asking for a person, and when the team answers."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, settings
from backend.api.openapi import endpoint
from backend.api.requests import HandoffRequest
from backend.domain.handoffs import ExpectedAnswer
from backend.models.base import utcnow
from backend.services import handoffs, staff
from backend.services.handoffs import HandoffView

routes = web.RouteTableDef()


@routes.post("/handoffs")
@endpoint("Ask for a person", body=HandoffRequest, answer=HandoffView, status=201)
async def create(request: web.Request, body: HandoffRequest) -> HandoffView:
    return await call(request, handoffs.request, actor(request), topic=body.topic,
                      message=body.message, risk_kind=body.risk_kind, reference=body.reference,
                      occurred_at=body.occurred_at, hours=settings(request).office_hours())


@routes.get("/handoffs/expected-answer")
@endpoint("When the team answers someone who asks for a person now (STAFF_OFFICE_HOURS)",
          answer=ExpectedAnswer)
async def expected_answer(request: web.Request) -> ExpectedAnswer:
    return staff.expected_answer(settings(request).office_hours(), utcnow())
