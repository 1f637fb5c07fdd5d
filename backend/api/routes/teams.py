"""Microsoft Teams per organisation: "Connect Microsoft Teams" from the portal (Microsoft's admin
consent), Microsoft's redirect back, and the Teams channel's question (is a tenant connected?).
The rules are backend/services/teams/tenants.py (its states: backend/services/install_states.py,
shared with "Add to Slack")."""

from __future__ import annotations

import logging

from aiohttp import web

from backend.api import portal_auth
from backend.api.answers import TeamsConsentStart
from backend.api.http import actor, call
from backend.api.openapi import HTML, endpoint
from backend.api.pages import again_page
from backend.api.requests import TeamsConsentCallback, TeamsTenant
from backend.api.routes.portal import redirect, refusal_page
from backend.domain.errors import DomainError, PermissionDenied
from backend.services.teams import tenants
from backend.services.teams.settings import CALLBACK_PATH, TeamsAppSettings
from backend.services.teams.tenants import TeamsConnection, TenantConnection

log = logging.getLogger("backend.teams")
routes = web.RouteTableDef()
SETTINGS_KEY = web.AppKey("teams_settings", TeamsAppSettings)
TITLE = "Connect Microsoft Teams"
CONNECTED = "/portal?teams=connected"


def _settings(request: web.Request) -> TeamsAppSettings:
    return request.app[SETTINGS_KEY]


def _not_offered() -> PermissionDenied:
    return PermissionDenied("Microsoft Teams is not set up on this service (TEAMS_APP_ID).",
                            code="teams_not_configured")


@routes.get("/portal/api/teams")
@endpoint("The signed-in admin's organisation's Teams tenant, if connected, and whether this "
          "service offers Teams at all", answer=TeamsConnection, auth="portal")
async def connection(request: web.Request) -> TeamsConnection:
    return await call(request, tenants.connection_of, await portal_auth.signed_in(request),
                      _settings(request).enabled)


@routes.post("/portal/api/teams/consent")
@endpoint("Start \"Connect Microsoft Teams\" for the signed-in admin's organisation: the address "
          "of Microsoft's admin-consent page, with a single-use state bound to this admin",
          answer=TeamsConsentStart, auth="portal")
async def consent(request: web.Request) -> TeamsConsentStart:
    portal_auth.require_form(request)
    settings = _settings(request)
    principal = await portal_auth.signed_in(request)
    if not settings.enabled:
        raise _not_offered()
    state = await call(request, tenants.start, principal, portal_auth.now(request),
                       settings.state_minutes)
    return TeamsConsentStart(consent_url=settings.consent_url(state))


@routes.get(CALLBACK_PATH)
@endpoint("Microsoft's admin consent sends the admin's browser back here with the tenant and "
          "the state: the tenant is connected to the organisation (a refusal or a declined "
          "consent is a page saying why)", query=TeamsConsentCallback, answer=str, status=303,
          auth="public", content_type=HTML, html_refusals=True,
          pages=((200, "Coming from Microsoft's site without the session cookie: a page that "
                       "repeats the request from here"),))
async def callback(request: web.Request, query: TeamsConsentCallback) -> web.Response:
    portal = portal_auth.settings_of(request)
    principal = await portal_auth.signed_in(request)
    if principal is None and query.again is None:
        return again_page(CALLBACK_PATH, request.query, TITLE, "Finishing the Teams connection")
    try:
        if not _settings(request).enabled:
            raise _not_offered()
        claimed = await call(request, tenants.claim, query.state, principal,
                             portal_auth.now(request))
        if query.error or query.admin_consent != "True" or not query.tenant:
            said = f": {query.error_description}" if query.error_description else ""
            raise PermissionDenied(
                "Microsoft Teams was not connected: the consent was not given "
                f"({query.error or 'no consent'}{said}). An administrator of your Microsoft "
                "organisation must accept; start again from the portal with "
                f"\"{TITLE}\".", code="teams_declined")
        tenant = await call(request, tenants.connect, claimed, query.tenant)
    except DomainError as refused:
        log.info("Teams connection refused: %s", refused.message)
        return refusal_page(portal, refused.message, TITLE)
    log.info("Teams tenant %s connected to organisation %s", tenant, claimed.organisation_id)
    return redirect(CONNECTED)


@routes.get("/teams/tenants/{tenant_id}")
@endpoint("The Teams channel: whether an organisation connected a tenant (asked as someone "
          "speaking from it)", path=TeamsTenant, answer=TenantConnection)
async def tenant(request: web.Request, path: TeamsTenant) -> TenantConnection:
    return await call(request, tenants.is_connected, actor(request), path.tenant_id)


def setup(app: web.Application, settings: TeamsAppSettings) -> None:
    app[SETTINGS_KEY] = settings
    app.add_routes(routes)
