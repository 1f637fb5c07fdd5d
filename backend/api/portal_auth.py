"""Who is signed in to the website, for every page and API of the portal (the one place).

    principal = await signed_in(request)               # Principal | None
    principal = await require(request, Kind.ADMIN)     # or PermissionDenied (403)
    therapist_id = await signed_in_therapist(request)  # int | None, for the therapist inbox
    require_form(request)                              # Origin + CSRF token of every POST

The session cookie (HttpOnly, SameSite=Strict, Secure on https) names a server-side session
(backend/services/signin/sessions.py). The browser cookie (HttpOnly, SameSite=Lax, so that it
comes along when a person opens a sign-in link from their mail) holds a random nonce: sign-in links
are bound to it, and the CSRF token a page sends in X-CSRF-Token is an HMAC of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from backend.api.http import DB_KEY
from backend.domain.errors import PermissionDenied
from backend.models.base import utcnow
from backend.services.signin import sessions, tokens
from backend.services.signin.principals import Kind, Principal
from backend.services.signin.settings import PortalSettings
from contracts.web_identity import origin_allowed

SETTINGS_KEY = web.AppKey("portal_settings", PortalSettings)
# The clock of the sign-in rules (tests replace it to move time).
CLOCK_KEY: web.AppKey[Callable[[], datetime]] = web.AppKey("portal_clock")
_PRINCIPAL_KEY = web.RequestKey("portal_principal", object)
SESSION_COOKIE = "portal_session"
BROWSER_COOKIE = "portal_browser"
CSRF_HEADER = "X-CSRF-Token"
BROWSER_COOKIE_DAYS = 365


def settings_of(request: web.Request) -> PortalSettings:
    return request.app[SETTINGS_KEY]


def now(request: web.Request) -> datetime:
    return request.app.get(CLOCK_KEY, utcnow)()


async def signed_in(request: web.Request) -> Principal | None:
    """The person this request's session cookie signs in, or None."""
    if _PRINCIPAL_KEY not in request:
        request[_PRINCIPAL_KEY] = await asyncio.to_thread(
            sessions.principal_of, request.app[DB_KEY], settings_of(request),
            request.cookies.get(SESSION_COOKIE), now(request))
    principal = request[_PRINCIPAL_KEY]
    return principal if isinstance(principal, Principal) else None


async def require(request: web.Request, *kinds: Kind) -> Principal:
    """The signed-in person if of one of these kinds; otherwise a 403 that says why."""
    principal = await signed_in(request)
    if principal is None:
        raise PermissionDenied("Sign in to see this page.", code="signed_out")
    if principal.kind not in kinds:
        raise PermissionDenied("This page is not for your kind of account.", code="wrong_kind")
    return principal


async def signed_in_therapist(request: web.Request) -> int | None:
    """The id of the therapist signed in to this request, or None."""
    principal = await signed_in(request)
    if principal is None or principal.kind is not Kind.THERAPIST:
        return None
    return principal.therapist_id


def browser_nonce(request: web.Request) -> str | None:
    nonce = request.cookies.get(BROWSER_COOKIE)
    return nonce if tokens.well_formed(nonce) else None


def ensure_browser_cookie(request: web.Request, response: web.StreamResponse) -> str:
    """The browser's nonce, set on the response if the browser has none yet."""
    nonce = browser_nonce(request)
    if nonce is None:
        nonce = tokens.new_token()
        response.set_cookie(BROWSER_COOKIE, nonce, max_age=BROWSER_COOKIE_DAYS * 86400,
                            path="/", httponly=True, samesite="Lax",
                            secure=settings_of(request).secure_cookies)
    return nonce


def csrf_token(request: web.Request, nonce: str) -> str:
    return tokens.csrf_token(settings_of(request).csrf_key, nonce)


def require_form(request: web.Request, submitted: str | None = None) -> None:
    """Every state-changing call: from an allowed page (Origin) of this browser (CSRF token, in
    the X-CSRF-Token header, or `submitted` with a script-free page's form)."""
    settings = settings_of(request)
    if not origin_allowed(request.headers.get("Origin"), settings.allowed_origins):
        raise PermissionDenied("This request must come from the portal page.", code="bad_origin")
    if not tokens.csrf_matches(settings.csrf_key, browser_nonce(request),
                               submitted or request.headers.get(CSRF_HEADER)):
        raise PermissionDenied("This form has expired; reload the page and try again.",
                               code="bad_csrf")


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = settings_of(request)
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_hours * 3600, path="/",
                        httponly=True, samesite="Strict", secure=settings.secure_cookies)


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")
