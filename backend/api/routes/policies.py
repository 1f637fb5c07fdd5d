"""The policies people are told about (figures and wordings), for any identity."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import settings
from backend.api.openapi import endpoint
from backend.services import policies
from backend.services.policies import Policies

routes = web.RouteTableDef()


@routes.get("/policies")
@endpoint("The figures and wordings people are told", answer=Policies)
async def describe(request: web.Request) -> Policies:
    return policies.describe(settings(request))
