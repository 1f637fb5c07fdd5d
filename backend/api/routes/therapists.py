"""Therapist search, the search vocabulary, public profiles and free slots."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, json_body, path_id, policy, respond
from backend.domain.errors import InvalidInput
from backend.services import search as finding

routes = web.RouteTableDef()


@routes.post("/therapists/search")
async def search(request: web.Request) -> web.Response:
    body = await json_body(request)
    return respond(await call(request, finding.search, actor(request), body,
                              policy=policy(request)))


@routes.get("/therapists/vocabulary")
async def vocabulary(request: web.Request) -> web.Response:
    return respond(finding.vocabulary())


@routes.get(r"/therapists/{id:\d+}")
async def profile(request: web.Request) -> web.Response:
    return respond(await call(request, finding.profile, actor(request), path_id(request)))


@routes.get(r"/therapists/{id:\d+}/slots")
async def slots(request: web.Request) -> web.Response:
    therapist_id = path_id(request)
    raw_days = request.query.get("days", "14")
    if not raw_days.isdigit() or len(raw_days) > 4:
        raise InvalidInput("'days' must be a whole number of days, e.g. 14.")
    found = await call(request, finding.free_slots, actor(request), therapist_id,
                       days=int(raw_days), policy=policy(request))
    return respond({"therapist_id": therapist_id, "slots": found})
