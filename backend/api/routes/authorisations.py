"""Authorisations and their invites (admins), grants and offers (members)."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, json_body, path_id, policy, respond
from backend.domain.enums import Access
from backend.services import authorisations, grants, invites

routes = web.RouteTableDef()


@routes.post("/authorisations")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    created = await call(
        request, authorisations.create, actor(request),
        coverage=body.get("coverage"), sessions_per_user=body.get("sessions_per_user"),
        user_limit=body.get("user_limit"), access=body.get("access", Access.INVITE_ONLY.value),
        name=body.get("name"), policy=policy(request),
    )
    return respond(created, status=201)


@routes.get("/authorisations")
async def list_all(request: web.Request) -> web.Response:
    return respond({"authorisations": await call(request, authorisations.list_for_admin,
                                                 actor(request), policy=policy(request))})


@routes.get("/authorisations/{id}")
async def show(request: web.Request) -> web.Response:
    return respond(await call(request, authorisations.get, actor(request), path_id(request),
                              policy=policy(request)))


@routes.post("/authorisations/{id}/{verb:pause|resume|revoke}")
async def change_status(request: web.Request) -> web.Response:
    return respond(await call(request, authorisations.change_status, actor(request),
                              path_id(request), request.match_info["verb"],
                              policy=policy(request)))


@routes.post("/authorisations/{id}/top-up")
async def top_up(request: web.Request) -> web.Response:
    body = await json_body(request)
    return respond(await call(request, authorisations.top_up, actor(request), path_id(request),
                              body.get("extra_sessions"), policy=policy(request)))


@routes.post("/authorisations/{id}/invites")
async def create_invite(request: web.Request) -> web.Response:
    body = await json_body(request)
    created = await call(request, invites.create, actor(request), path_id(request),
                         email=body.get("email"), expires_in_days=body.get("expires_in_days"),
                         policy=policy(request))
    return respond(created, status=201)


@routes.get("/authorisations/{id}/invites")
async def list_invites(request: web.Request) -> web.Response:
    return respond({"invites": await call(request, invites.list_for_admin, actor(request),
                                          path_id(request))})


@routes.post("/invites/{id}/revoke")
async def revoke_invite(request: web.Request) -> web.Response:
    return respond(await call(request, invites.revoke, actor(request), path_id(request)))


@routes.post("/invites/redeem")
async def redeem(request: web.Request) -> web.Response:
    body = await json_body(request)
    redemption = await call(request, invites.redeem, actor(request), body.get("code"),
                            name=body.get("name"), policy=policy(request))
    return respond({"member_id": redemption.actor.member_id,
                    "organisation_id": redemption.actor.organisation_id,
                    "grant": redemption.grant}, status=201)


@routes.get("/me/grants")
async def my_grants(request: web.Request) -> web.Response:
    return respond({"grants": await call(request, grants.list_mine, actor(request))})


@routes.get("/me/offers")
async def my_offers(request: web.Request) -> web.Response:
    return respond({"offers": await call(request, grants.open_offers, actor(request))})


@routes.post("/me/grants")
async def join(request: web.Request) -> web.Response:
    body = await json_body(request)
    authorisation_id = body.get("authorisation_id")
    return respond(await call(request, grants.join, actor(request), authorisation_id),
                   status=201)
