"""The quote: what booking a session would do, asked before the member confirms; and what can
pay at all, asked when a booking starts."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, policy
from backend.api.openapi import endpoint
from backend.api.requests import QuoteRequest
from backend.services.bookings.payers import PayersAnswer, what_pays
from backend.services.bookings.quote import Quote, quote

routes = web.RouteTableDef()


@routes.post("/bookings/quote")
@endpoint("What booking this session would do, without booking it (who pays, or why nothing "
          "does and what to do instead)", body=QuoteRequest, answer=Quote)
async def create(request: web.Request, body: QuoteRequest) -> Quote:
    return await call(request, quote, actor(request), therapist_id=body.therapist_id,
                      starts_at=body.starts_at, modality=body.modality, policy=policy(request))


@routes.get("/me/payers")
@endpoint("What can pay for a new session of mine now: each grant and all-members offer, whom "
          "it pays for, or why nothing can and what to do instead", answer=PayersAnswer)
async def payers(request: web.Request) -> PayersAnswer:
    return await call(request, what_pays, actor(request))
