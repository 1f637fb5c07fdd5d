"""Therapist search, the search vocabulary, public profiles and free slots."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, policy
from backend.api.openapi import endpoint
from backend.api.requests import ById, SearchFilters, SlotsQuery
from backend.services import search as finding
from backend.services.search.ranking import SearchResult
from contracts.answers import Slots, TherapistProfile, Vocabulary

routes = web.RouteTableDef()


@routes.post("/therapists/search")
@endpoint("Therapists matching the filters, best first, with reasons and next slots",
          body=SearchFilters, answer=SearchResult)
async def search(request: web.Request, body: SearchFilters) -> SearchResult:
    return await call(request, finding.search, actor(request), body.filters(),
                      policy=policy(request))


@routes.get("/therapists/vocabulary")
@endpoint("The words search understands", answer=Vocabulary)
async def vocabulary(request: web.Request) -> Vocabulary:
    return finding.vocabulary()


@routes.get(r"/therapists/{id:\d+}")
@endpoint("A therapist's profile", path=ById, answer=TherapistProfile)
async def profile(request: web.Request, path: ById) -> TherapistProfile:
    return await call(request, finding.profile, actor(request), path.id)


@routes.get(r"/therapists/{id:\d+}/slots")
@endpoint("A therapist's free slots", path=ById, query=SlotsQuery, answer=Slots)
async def slots(request: web.Request, path: ById, query: SlotsQuery) -> Slots:
    found = await call(request, finding.free_slots, actor(request), path.id,
                       days=query.days, policy=policy(request))
    return Slots(therapist_id=path.id, slots=found)
