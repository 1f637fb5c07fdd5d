"""The organisation's portal page with its live-chat widget, and the small API it calls.

Public paths (a browser calls them, without the service token): the page `GET /portal`, its
built assets under `/portal/assets/` (web/dist, made by `make web`), and `/portal/api/*`. The
portal's session is an HttpOnly, SameSite=Strict cookie; state-changing calls also require an
allowed Origin header (WEB_ALLOWED_ORIGINS), so another site cannot sign someone in or out.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

from backend.api.answers import ChatSocket, PortalSessionAnswer, PortalSignIn
from backend.api.http import call, respond
from backend.api.middleware import error_response
from backend.api.openapi import HTML, endpoint
from backend.api.requests import DevLogin
from backend.domain.errors import PermissionDenied
from backend.services import portal
from backend.services.portal import ChatToken, PortalSettings
from backend.settings import REPO_ROOT
from contracts.web_identity import origin_allowed

log = logging.getLogger("backend.portal")
routes = web.RouteTableDef()

SETTINGS_KEY = web.AppKey("portal_settings", PortalSettings)
COOKIE = "portal_session"
WEB_DIR = REPO_ROOT / "web"
PAGE = WEB_DIR / "portal.html"
ASSETS_DIR = WEB_DIR / "dist"
ASSETS_PREFIX = "/portal/assets"


def _settings(request: web.Request) -> PortalSettings:
    return request.app[SETTINGS_KEY]


def _session_member(request: web.Request) -> int | None:
    return portal.member_of_session(_settings(request), request.cookies.get(COOKIE))


def _require_portal_origin(request: web.Request) -> None:
    if not origin_allowed(request.headers.get("Origin"), _settings(request).allowed_origins):
        raise PermissionDenied("This request must come from the portal page.", code="bad_origin")


def _content_security_policy(settings: PortalSettings) -> str:
    socket = urlsplit(settings.rasa_socket_url)
    websocket_scheme = "wss" if socket.scheme == "https" else "ws"
    connect = f"'self' {socket.scheme}://{socket.netloc} {websocket_scheme}://{socket.netloc}"
    return ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"connect-src {connect}; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")


@routes.get("/portal")
@endpoint("The organisation's portal page with the chat widget", answer=str, auth="public",
          content_type=HTML)
async def page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PAGE, headers={
        "Content-Security-Policy": _content_security_policy(_settings(request)),
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    })


@routes.get("/portal/api/session")
@endpoint("Who is signed in to the portal, and where the chat is", answer=PortalSessionAnswer,
          auth="portal")
async def session(request: web.Request) -> PortalSessionAnswer:
    settings = _settings(request)
    described = await call(request, portal.describe_session, settings, _session_member(request))
    return PortalSessionAnswer(
        signed_in=described.user is not None, user=described.user,
        dev_login=settings.dev_login, sign_in_choices=described.sign_in_choices,
        chat=ChatSocket(socket_url=settings.rasa_socket_url,
                        socket_path=settings.rasa_socket_path))


@routes.post("/portal/api/dev-login")
@endpoint("Development only (PORTAL_DEV_LOGIN): sign in as any member", body=DevLogin,
          answer=PortalSignIn, auth="public")
async def dev_login(request: web.Request, body: DevLogin) -> web.Response:
    _require_portal_origin(request)
    settings = _settings(request)
    user = await call(request, portal.dev_sign_in, settings, body.member_id)
    response = respond(PortalSignIn(signed_in=True, user=user))
    response.set_cookie(
        COOKIE, portal.session_cookie(settings, user.member_id),
        max_age=settings.session_hours * 3600, path="/portal", httponly=True,
        samesite="Strict", secure=settings.public_base_url.startswith("https://"))
    return response


@routes.post("/portal/api/logout")
@endpoint("Sign out of the portal", answer=PortalSignIn, auth="portal")
async def logout(request: web.Request) -> web.Response:
    _require_portal_origin(request)
    response = respond(PortalSignIn(signed_in=False, user=None))
    response.del_cookie(COOKIE, path="/portal")
    return response


@routes.post("/portal/api/chat-token")
@endpoint("A short-lived web identity token for the chat widget", answer=ChatToken,
          auth="portal")
async def chat_token(request: web.Request) -> ChatToken:
    _require_portal_origin(request)
    return await call(request, portal.chat_token, _settings(request), _session_member(request))


async def _assets_not_built(request: web.Request) -> web.Response:
    return error_response(503, "widget_not_built",
                          "The chat widget has not been built: run `make web`.")


def setup(app: web.Application, settings: PortalSettings) -> None:
    """Routes, settings and the built assets (or a clear 503 while they are not built)."""
    app[SETTINGS_KEY] = settings
    app.add_routes(routes)
    if ASSETS_DIR.is_dir():
        app.router.add_static(ASSETS_PREFIX, ASSETS_DIR)
    else:
        log.warning("web/dist is missing: the portal page has no chat widget until `make web`.")
        app.router.add_get(ASSETS_PREFIX + "/{name:.*}", _assets_not_built)
    if settings.dev_login:
        log.warning("PORTAL_DEV_LOGIN is on: anyone can sign in to /portal as any member. "
                    "Development and demos only.")
    if settings.tokens.is_development_secret:
        log.warning("WEB_IDENTITY_SECRET is the development default; set a secret in production.")
    if not settings.session_secret:
        log.warning("PORTAL_SESSION_SECRET is not set: a random key per start, so portal "
                    "sessions end when the backend restarts.")
