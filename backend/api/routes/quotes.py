"""The quote: what booking a session would do, asked before the member confirms."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, policy
from backend.api.openapi import endpoint
from backend.api.requests import QuoteRequest
from backend.services.bookings.quote import Quote, quote

routes = web.RouteTableDef()


@routes.post("/bookings/quote")
@endpoint("What booking this session would do, without booking it (who pays, or why nothing "
          "does and what to do instead)", body=QuoteRequest, answer=Quote)
async def create(request: web.Request, body: QuoteRequest) -> Quote:
    return await call(request, quote, actor(request), therapist_id=body.therapist_id,
                      starts_at=body.starts_at, modality=body.modality, policy=policy(request))
