"""Therapist search, the search vocabulary, public profiles and free slots."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, json_body, path_id, respond
from backend.domain.errors import InvalidInput
from backend.services import therapists

routes = web.RouteTableDef()


@routes.post("/therapists/search")
async def search(request: web.Request) -> web.Response:
    body = await json_body(request)
    return respond(await call(request, therapists.search, actor(request), body))


@routes.get("/therapists/vocabulary")
async def vocabulary(request: web.Request) -> web.Response:
    return respond(therapists.vocabulary())


@routes.get(r"/therapists/{id:\d+}")
async def profile(request: web.Request) -> web.Response:
    return respond(await call(request, therapists.profile, actor(request), path_id(request)))


@routes.get(r"/therapists/{id:\d+}/slots")
async def slots(request: web.Request) -> web.Response:
    therapist_id = path_id(request)
    raw_days = request.query.get("days", "14")
    if not raw_days.isdigit() or len(raw_days) > 4:
        raise InvalidInput("'days' must be a whole number of days, e.g. 14.")
    found = await call(request, therapists.free_slots, actor(request), therapist_id,
                       days=int(raw_days))
    return respond({"therapist_id": therapist_id, "slots": found})
