"""A member's waitlist: searches kept waiting until a time they match is free."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, policy
from backend.api.openapi import endpoint
from backend.api.requests import ById, WatchRequest
from backend.services import waitlist
from contracts.answers import Watch, Watches

routes = web.RouteTableDef()


@routes.post("/me/watches")
@endpoint("Keep a search waiting: the member is told once, with buttons to book, when a time "
          "it matches is free (the search's filters, and perhaps one therapist)",
          body=WatchRequest, answer=Watch, status=201)
async def create(request: web.Request, body: WatchRequest) -> Watch:
    filters = body.filters.filters() if body.filters is not None else {}
    return await call(request, waitlist.watch, actor(request), filters, body.therapist_id,
                      policy=policy(request))


@routes.get("/me/watches")
@endpoint("My searches still waiting", answer=Watches)
async def list_waiting(request: web.Request) -> Watches:
    return Watches(watches=await call(request, waitlist.waiting, actor(request)))


@routes.post("/me/watches/{id}/stop")
@endpoint("Stop waiting for a search", path=ById, answer=Watch)
async def stop(request: web.Request, path: ById) -> Watch:
    return await call(request, waitlist.stop, actor(request), path.id)
