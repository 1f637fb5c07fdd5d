"""Chat identities proven by a channel (Slack, Teams): who they are in the backend."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call
from backend.api.openapi import endpoint
from backend.api.requests import IdentityCheck
from backend.services import identities
from backend.services.identities import IdentityView, WorkspaceView

routes = web.RouteTableDef()


@routes.post("/identities/verify")
@endpoint("Who the acting identity is, as verified by its channel (linking it by email)",
          body=IdentityCheck, answer=IdentityView)
async def verify(request: web.Request, body: IdentityCheck) -> IdentityView:
    return await call(request, identities.verify, actor(request), email=body.email,
                      name=body.name)


@routes.post("/identities/connect-workspace")
@endpoint("Connect the admin's Slack workspace or Teams tenant to the organisation",
          answer=WorkspaceView)
async def connect_workspace(request: web.Request) -> WorkspaceView:
    return await call(request, identities.connect_workspace, actor(request))
