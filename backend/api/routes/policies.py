"""The policies people are told about (figures and wordings): the service's, for any identity,
and those in force for a member's organisation."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, settings
from backend.api.openapi import endpoint
from backend.services import policies
from backend.services.policies import Policies

routes = web.RouteTableDef()


@routes.get("/policies")
@endpoint("The figures and wordings people are told", answer=Policies)
async def describe(request: web.Request) -> Policies:
    return policies.describe(settings(request))


@routes.get("/me/policies")
@endpoint("The policies in force for me: my organisation's own cancellation window, if it set "
          "one", answer=Policies)
async def in_force_for_me(request: web.Request) -> Policies:
    return await call(request, policies.in_force_for, actor(request), settings(request))
