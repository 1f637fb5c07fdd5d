"""Who am I, registering an organisation, its admins."""

from __future__ import annotations

from aiohttp import web

from backend.api.answers import Health, Registered
from backend.api.http import actor, call
from backend.api.openapi import endpoint
from backend.api.requests import (
    ById,
    CancellationWindow,
    EmailDomain,
    NewAdmin,
    NewOrganisation,
)
from backend.services import grants, more_sessions, organisations, spelling
from contracts import answers
from contracts.answers import Admin, Admins, Me, MoreSessionsRequests, Organisation

routes = web.RouteTableDef()


@routes.get("/health")
@endpoint("Liveness", answer=Health, auth="public")
async def health(request: web.Request) -> Health:
    return Health(status="ok")


@routes.get("/me")
@endpoint("Who the acting identity is (member, admin, therapist or nobody) and its grants",
          answer=Me)
async def me(request: web.Request) -> Me:
    who = actor(request)
    return Me(identity=who.identity, member_id=who.member_id,
              organisation_id=who.organisation_id,
              role=None if who.role is None else spelling.role(who.role),
              therapist_id=who.therapist_id,
              grants=await call(request, grants.list_mine, who) if who.member_id else [])


@routes.post("/organisations")
@endpoint("Register an organisation; the speaker becomes its admin", body=NewOrganisation,
          answer=Registered, status=201)
async def register(request: web.Request, body: NewOrganisation) -> Registered:
    linked = await call(request, organisations.register, actor(request),
                        name=body.name, admin_name=body.admin_name,
                        admin_email=body.admin_email, email_domain=body.email_domain)
    return Registered(organisation_id=linked.organisation_id, member_id=linked.member_id,
                      role=linked.role)


@routes.get("/organisation")
@endpoint("The organisation and its head counts (admins)", answer=Organisation)
async def describe(request: web.Request) -> Organisation:
    return await call(request, organisations.describe, actor(request))


@routes.get("/organisation/admins")
@endpoint("The organisation's admins", answer=Admins)
async def list_admins(request: web.Request) -> Admins:
    return Admins(admins=await call(request, organisations.list_admins, actor(request)))


@routes.post("/organisation/admins/{id}/remove")
@endpoint("Take someone's admin role away (they stay a member); never the last admin's",
          path=ById, answer=Admin)
async def remove_admin(request: web.Request, path: ById) -> Admin:
    return await call(request, organisations.remove_admin, actor(request), path.id)


@routes.post("/organisation/admins")
@endpoint("Make someone an admin", body=NewAdmin, answer=answers.NewAdmin, status=201)
async def add_admin(request: web.Request, body: NewAdmin) -> answers.NewAdmin:
    return answers.NewAdmin(member_id=await call(request, organisations.add_admin, actor(request),
                                                 name=body.name, email=body.email))


@routes.get("/organisation/more-sessions-requests")
@endpoint("How many people asked for more sessions this month (never who)",
          answer=MoreSessionsRequests)
async def more_sessions_requests(request: web.Request) -> MoreSessionsRequests:
    return await call(request, more_sessions.requests, actor(request))


@routes.post("/organisation/cancellation-window")
@endpoint("Set the organisation's cancellation window in hours (1 to 168); it applies to every "
          "cancellation from now on", body=CancellationWindow, answer=Organisation)
async def set_cancellation_window(request: web.Request,
                                  body: CancellationWindow) -> Organisation:
    return await call(request, organisations.set_cancellation_window, actor(request), body.hours)


@routes.post("/organisation/email-domain")
@endpoint("Set the organisation's work email domain: people with a verified address at it, "
          "speaking from its connected Slack workspace or Teams tenant, count as members",
          body=EmailDomain, answer=Organisation)
async def set_email_domain(request: web.Request, body: EmailDomain) -> Organisation:
    return await call(request, organisations.set_email_domain, actor(request), body.email_domain)
