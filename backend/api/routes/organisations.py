"""Who am I, registering an organisation, its admins."""

from __future__ import annotations

from aiohttp import web

from backend.api.http import actor, call, json_body, respond
from backend.services import grants, organisations

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return respond({"status": "ok"})


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    who = actor(request)
    payload = {
        "identity": who.identity,
        "member_id": who.member_id,
        "organisation_id": who.organisation_id,
        "role": who.role,
        "therapist_id": who.therapist_id,
        "grants": await call(request, grants.list_mine, who) if who.member_id else [],
    }
    return respond(payload)


@routes.post("/organisations")
async def register(request: web.Request) -> web.Response:
    body = await json_body(request)
    linked = await call(request, organisations.register, actor(request),
                        name=body.get("name"), admin_name=body.get("admin_name"),
                        admin_email=body.get("admin_email"),
                        email_domain=body.get("email_domain"))
    return respond({"organisation_id": linked.organisation_id, "member_id": linked.member_id,
                    "role": linked.role}, status=201)


@routes.get("/organisation")
async def describe(request: web.Request) -> web.Response:
    return respond(await call(request, organisations.describe, actor(request)))


@routes.post("/organisation/admins")
async def add_admin(request: web.Request) -> web.Response:
    body = await json_body(request)
    member_id = await call(request, organisations.add_admin, actor(request),
                           name=body.get("name"), email=body.get("email"))
    return respond({"member_id": member_id}, status=201)
