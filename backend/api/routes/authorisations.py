"""Authorisations and their invites (admins), grants and offers (members), and a member's
anonymous ask for more sessions."""

from __future__ import annotations

from aiohttp import web

from backend.api.answers import Redeemed
from backend.api.http import actor, call, policy, settings
from backend.api.openapi import endpoint
from backend.api.requests import (
    AuthorisationChange,
    ById,
    InviteRequest,
    Join,
    NewAuthorisation,
    Redeem,
    TopUp,
)
from backend.services import authorisations, grants, invites, more_sessions
from backend.services.more_sessions import MoreSessionsAsked
from contracts.answers import (
    Authorisation,
    Authorisations,
    Grant,
    Grants,
    Invite,
    Invites,
    NewInvite,
    Offers,
)

routes = web.RouteTableDef()


@routes.post("/authorisations")
@endpoint("Create an authorisation (admins)", body=NewAuthorisation, answer=Authorisation,
          status=201)
async def create(request: web.Request, body: NewAuthorisation) -> Authorisation:
    return await call(
        request, authorisations.create, actor(request),
        coverage=body.coverage, sessions_per_user=body.sessions_per_user,
        user_limit=body.user_limit, access=body.access, name=body.name, policy=policy(request))


@routes.get("/authorisations")
@endpoint("All authorisations, with usage (small groups withheld)", answer=Authorisations)
async def list_all(request: web.Request) -> Authorisations:
    return Authorisations(authorisations=await call(
        request, authorisations.list_for_admin, actor(request), policy=policy(request)))


@routes.get("/authorisations/{id}")
@endpoint("One authorisation, with usage", path=ById, answer=Authorisation)
async def show(request: web.Request, path: ById) -> Authorisation:
    return await call(request, authorisations.get, actor(request), path.id,
                      policy=policy(request))


@routes.post("/authorisations/{id}/{verb:pause|resume|revoke}")
@endpoint("Pause, resume or revoke an authorisation", path=AuthorisationChange,
          answer=Authorisation)
async def change_status(request: web.Request, path: AuthorisationChange) -> Authorisation:
    return await call(request, authorisations.change_status, actor(request), path.id,
                      path.verb, policy=policy(request))


@routes.post("/authorisations/{id}/top-up")
@endpoint("More sessions per place", path=ById, body=TopUp, answer=Authorisation)
async def top_up(request: web.Request, path: ById, body: TopUp) -> Authorisation:
    return await call(request, authorisations.top_up, actor(request), path.id,
                      body.extra_sessions, policy=policy(request))


@routes.post("/authorisations/{id}/invites")
@endpoint("An invite: its code (shown once) and an email text", path=ById, body=InviteRequest,
          answer=NewInvite, status=201)
async def create_invite(request: web.Request, path: ById, body: InviteRequest) -> NewInvite:
    return await call(request, invites.create, actor(request), path.id, email=body.email,
                      expires_in_days=body.expires_in_days, policy=policy(request))


@routes.get("/authorisations/{id}/invites")
@endpoint("An authorisation's invites and their states", path=ById, answer=Invites)
async def list_invites(request: web.Request, path: ById) -> Invites:
    return Invites(invites=await call(request, invites.list_for_admin, actor(request), path.id))


@routes.post("/invites/{id}/revoke")
@endpoint("Revoke an unredeemed invite", path=ById, answer=Invite)
async def revoke_invite(request: web.Request, path: ById) -> Invite:
    return await call(request, invites.revoke, actor(request), path.id)


@routes.post("/invites/redeem")
@endpoint("Redeem an invite code: the identity becomes a member with a grant", body=Redeem,
          answer=Redeemed, status=201)
async def redeem(request: web.Request, body: Redeem) -> Redeemed:
    redemption = await call(request, invites.redeem, actor(request), body.code, name=body.name,
                            policy=policy(request))
    return Redeemed(member_id=redemption.actor.member_id,
                    organisation_id=redemption.actor.organisation_id, grant=redemption.grant)


@routes.get("/me/grants")
@endpoint("My grants", answer=Grants)
async def my_grants(request: web.Request) -> Grants:
    return Grants(grants=await call(request, grants.list_mine, actor(request)))


@routes.get("/me/offers")
@endpoint("All-members offers I can join", answer=Offers)
async def my_offers(request: web.Request) -> Offers:
    return Offers(offers=await call(request, grants.open_offers, actor(request)))


@routes.post("/me/grants")
@endpoint("Join an all-members offer", body=Join, answer=Grant, status=201)
async def join(request: web.Request, body: Join) -> Grant:
    return await call(request, grants.join, actor(request), body.authorisation_id)


@routes.post("/me/more-sessions")
@endpoint("Ask for more sessions: the admins are told that someone asked, never who (once a "
          "month per person)", answer=MoreSessionsAsked)
async def ask_for_more(request: web.Request) -> MoreSessionsAsked:
    return await call(request, more_sessions.ask, actor(request), settings(request).service_token)
