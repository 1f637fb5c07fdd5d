"""Single sign-on for the portal: off to the organisation's provider and back
(backend/services/signin/sso.py has the rules; backend/adapters/oidc.py the HTTP)."""

from __future__ import annotations

import logging

from aiohttp import web

from backend.adapters.oidc import OidcClient, ProviderError
from backend.api import portal_auth
from backend.api.http import call
from backend.api.openapi import HTML, endpoint
from backend.api.requests import SsoCallback, SsoStart
from backend.api.routes.portal import redirect, refusal_page
from backend.domain.errors import DomainError
from backend.services.signin import sso

log = logging.getLogger("backend.portal.sso")
routes = web.RouteTableDef()
ATTEMPT_COOKIE = "portal_sso"


def _client(request: web.Request) -> OidcClient:
    return OidcClient(portal_auth.settings_of(request).sso_timeout_seconds)


@routes.get("/portal/sign-in/sso")
@endpoint("Start single sign-on with the provider of the organisation of a work address",
          query=SsoStart, answer=str, status=303, auth="public", content_type=HTML,
          html_refusals=True)
async def start(request: web.Request, query: SsoStart) -> web.Response:
    settings = portal_auth.settings_of(request)
    response = redirect("/portal")  # replaced by the provider's address below
    nonce = portal_auth.ensure_browser_cookie(request, response)
    try:
        config = await call(request, sso.config_for_email, settings, query.email)
        discovery = await _client(request).discover(config.issuer)
        attempt = sso.new_attempt(config.organisation_id, query.email)
        response.headers["Location"] = sso.authorization_url(settings, config, discovery,
                                                             attempt)
    except DomainError as refused:
        return refusal_page(settings, refused.message, "Single sign-on")
    except ProviderError as error:
        log.warning("SSO discovery failed: %s", error)
        return refusal_page(settings, sso.refused("the provider cannot be reached").message,
                            "Single sign-on")
    response.set_cookie(ATTEMPT_COOKIE, sso.attempt_cookie(settings, attempt, nonce),
                        max_age=settings.sso_login_minutes * 60, path="/portal/sign-in/sso",
                        httponly=True, samesite="Lax", secure=settings.secure_cookies)
    return response


@routes.get(sso.CALLBACK_PATH)
@endpoint("The provider sends the browser back here with a code (single sign-on)",
          query=SsoCallback, answer=str, status=303, auth="public", content_type=HTML,
          html_refusals=True)
async def callback(request: web.Request, query: SsoCallback) -> web.Response:
    settings = portal_auth.settings_of(request)
    client = _client(request)
    try:
        attempt = sso.attempt_of(settings, request.cookies.get(ATTEMPT_COOKIE),
                                 portal_auth.browser_nonce(request), query.state)
        if query.error:
            raise sso.refused(f"the provider answered {query.error[:80]}")
        config = await call(request, sso.config_of, settings, attempt.organisation_id)
        discovery = await client.discover(config.issuer)
        answer = await client.exchange(str(discovery.get("token_endpoint", "")),
                                       sso.token_request(settings, config, attempt, query.code))
        jwks = await client.keys(str(discovery.get("jwks_uri", "")))
        claims = sso.verify_id_token(answer.get("id_token"), jwks, config, discovery,
                                     attempt.nonce, portal_auth.now(request))
        started = await call(request, sso.sign_in, settings, config, claims,
                             portal_auth.now(request))
    except DomainError as refused:
        log.info("SSO refused: %s", refused.message)
        return refusal_page(settings, refused.message, "Single sign-on")
    except ProviderError as error:
        log.warning("SSO with the provider failed: %s", error)
        return refusal_page(settings, sso.refused("the provider did not answer").message,
                            "Single sign-on")
    response = redirect("/portal")
    response.del_cookie(ATTEMPT_COOKIE, path="/portal/sign-in/sso")
    portal_auth.set_session_cookie(request, response, started.cookie_token)
    return response
