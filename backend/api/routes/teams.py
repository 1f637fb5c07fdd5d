"""Microsoft Teams per organisation: "Connect Microsoft Teams" from the portal (Microsoft's admin
consent, then the admin's sign-in with Microsoft, whose ID token names the tenant connected),
Microsoft's redirects back, the admin's "Disconnect", and the Teams channel's question (is a
tenant connected?). The rules are backend/services/teams/tenants.py (its states:
backend/services/install_states.py, shared with "Add to Slack"; the OpenID Connect flow:
backend/services/signin/openid.py, its HTTP backend/adapters/oidc.py)."""

from __future__ import annotations

import logging

from aiohttp import web

from backend.adapters.oidc import OidcClient, ProviderError
from backend.api import portal_auth
from backend.api.answers import TeamsConsentStart
from backend.api.http import actor, call
from backend.api.openapi import HTML, endpoint
from backend.api.pages import again_page
from backend.api.requests import (
    TeamsConsentCallback,
    TeamsDisconnect,
    TeamsSignInCallback,
    TeamsTenant,
)
from backend.api.routes.portal import redirect, refusal_page
from backend.domain.errors import DomainError, PermissionDenied
from backend.services.signin import openid
from backend.services.teams import tenants
from backend.services.teams.settings import (
    CALLBACK_PATH,
    SIGN_IN_CALLBACK_PATH,
    SIGN_IN_SCOPE,
    TeamsAppSettings,
)
from backend.services.teams.tenants import TeamsConnection, TeamsDisconnected, TenantConnection

log = logging.getLogger("backend.teams")
routes = web.RouteTableDef()
SETTINGS_KEY = web.AppKey("teams_settings", TeamsAppSettings)
TITLE = "Connect Microsoft Teams"
CONNECTED = "/portal?teams=connected"


def _settings(request: web.Request) -> TeamsAppSettings:
    return request.app[SETTINGS_KEY]


def _not_offered() -> PermissionDenied:
    return PermissionDenied("Microsoft Teams is not set up on this service (TEAMS_APP_ID and "
                            "TEAMS_APP_PASSWORD).", code="teams_not_configured")


def _refused(why: str) -> PermissionDenied:
    return PermissionDenied(f"Microsoft Teams was not connected: {why}. Start again from the "
                            f"portal with \"{TITLE}\".", code="teams_sign_in_refused")


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


@routes.post("/portal/api/teams/disconnect")
@endpoint("The signed-in admin disconnects the organisation's Teams tenant (the one the portal "
          "showed): the Teams channel stops serving it within TEAMS_TENANT_CACHE_SECONDS, its "
          "people's chat identities are unlinked; `was_connected` false when nothing was "
          "connected (nothing changes); 404 `not_connected` for a tenant that is not the "
          "organisation's", body=TeamsDisconnect, answer=TeamsDisconnected, auth="portal")
async def disconnect(request: web.Request, body: TeamsDisconnect) -> TeamsDisconnected:
    portal_auth.require_form(request)
    principal = await portal_auth.signed_in(request)
    done = await call(request, tenants.disconnect, principal, body.tenant_id)
    if done.was_connected:
        log.info("Teams tenant %s disconnected from organisation %s", done.tenant_id,
                 principal.organisation_id if principal else None)
    return done


@routes.get(CALLBACK_PATH)
@endpoint("Microsoft's admin consent sends the admin's browser back here with the tenant and "
          "the state: the admin goes on to sign in with Microsoft, whose ID token must name "
          "that tenant (a refusal or a declined consent is a page saying why)",
          query=TeamsConsentCallback, answer=str, status=303, auth="public", content_type=HTML,
          html_refusals=True,
          pages=((200, "Coming from Microsoft's site without the session cookie: a page that "
                       "repeats the request from here"),))
async def callback(request: web.Request, query: TeamsConsentCallback) -> web.Response:
    portal = portal_auth.settings_of(request)
    settings = _settings(request)
    principal = await portal_auth.signed_in(request)
    if principal is None and query.again is None:
        return again_page(CALLBACK_PATH, request.query, TITLE, "Finishing the Teams connection")
    try:
        if not settings.enabled:
            raise _not_offered()
        now = portal_auth.now(request)
        await call(request, tenants.claim, query.state, principal, now)
        if query.error or query.admin_consent != "True" or not query.tenant:
            said = f": {query.error_description}" if query.error_description else ""
            raise PermissionDenied(
                "Microsoft Teams was not connected: the consent was not given "
                f"({query.error or 'no consent'}{said}). An administrator of your Microsoft "
                "organisation must accept; start again from the portal with "
                f"\"{TITLE}\".", code="teams_declined")
        secrets = await call(request, tenants.begin_sign_in, principal, query.tenant, now,
                             settings.state_minutes)
        target = openid.authorization_url(
            settings.authorize_endpoint, client_id=settings.app_id,
            redirect_uri=settings.sign_in_redirect_uri, scope=SIGN_IN_SCOPE,
            state=secrets.state, nonce=secrets.nonce, verifier=secrets.verifier)
    except DomainError as refused:
        log.info("Teams connection refused: %s", refused.message)
        return refusal_page(portal, refused.message, TITLE)
    log.info("Teams consent given for tenant %s; the admin signs in with Microsoft",
             query.tenant)
    return redirect(target)


@routes.get(SIGN_IN_CALLBACK_PATH)
@endpoint("Microsoft's sign-in (after the consent) sends the admin's browser back here with a "
          "code and the state: the ID token, verified, names the tenant (`tid`), which is "
          "connected to the organisation if it is the tenant consented for (a refusal is a page "
          "saying why)", query=TeamsSignInCallback, answer=str, status=303, auth="public",
          content_type=HTML, html_refusals=True,
          pages=((200, "Coming from Microsoft's site without the session cookie: a page that "
                       "repeats the request from here"),))
async def sign_in_callback(request: web.Request, query: TeamsSignInCallback) -> web.Response:
    portal = portal_auth.settings_of(request)
    settings = _settings(request)
    principal = await portal_auth.signed_in(request)
    if principal is None and query.again is None:
        return again_page(SIGN_IN_CALLBACK_PATH, request.query, TITLE,
                          "Finishing the Teams connection")
    client = OidcClient(settings.timeout_seconds)
    try:
        if not settings.enabled:
            raise _not_offered()
        now = portal_auth.now(request)
        sign_in = await call(request, tenants.claim_sign_in, query.state, principal, now)
        if query.error:
            said = f": {query.error_description}" if query.error_description else ""
            raise _refused(f"the sign-in with Microsoft did not complete ({query.error}{said})")
        try:
            form = openid.code_exchange(query.code, redirect_uri=settings.sign_in_redirect_uri,
                                        client_id=settings.app_id,
                                        client_secret=settings.app_password,
                                        verifier=sign_in.verifier)
            answer = await client.exchange(settings.token_endpoint, form)
            jwks = await client.keys(settings.jwks_uri)
            claims = openid.verify(answer.get("id_token"), jwks, issuer=settings.issuer,
                                   client_id=settings.app_id, nonce=sign_in.nonce, now=now)
        except openid.Refused as refusal:
            raise _refused(f"Microsoft's answer was not accepted ({refusal})") from None
        tenant = await call(request, tenants.connect_signed, sign_in, claims)
    except DomainError as refused:
        log.info("Teams connection refused: %s", refused.message)
        return refusal_page(portal, refused.message, TITLE)
    except ProviderError as error:
        log.warning("Teams sign-in with Microsoft failed: %s", error)
        return refusal_page(portal, _refused("Microsoft did not answer").message, TITLE)
    log.info("Teams tenant %s connected to organisation %s (signed in as %s)", tenant,
             sign_in.claimed.organisation_id, claims.get("oid") or claims.get("sub"))
    return redirect(CONNECTED)


@routes.get("/teams/tenants/{tenant_id}")
@endpoint("The Teams channel: whether an organisation connected a tenant (asked as someone "
          "speaking from it)", path=TeamsTenant, answer=TenantConnection)
async def tenant(request: web.Request, path: TeamsTenant) -> TenantConnection:
    return await call(request, tenants.is_connected, actor(request), path.tenant_id)


def setup(app: web.Application, settings: TeamsAppSettings) -> None:
    app[SETTINGS_KEY] = settings
    app.add_routes(routes)
