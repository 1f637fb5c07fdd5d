"""The organisation's portal page with its live-chat widget, and the small API it calls.

Public paths (a browser calls them, without the service token): the page `GET /portal`, its
built assets under `/portal/assets/` (web/dist, made by `make web`), the sign-in link
`GET /portal/sign-in?token=...` and `/portal/api/*`. Who is signed in, the cookies and the
checks of every state-changing call (allowed Origin and CSRF token) live in
backend/api/portal_auth.py.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlsplit

from aiohttp import web

from backend.adapters.mail import Mailer, build_mailer
from backend.api import portal_auth, signin_mail
from backend.api.answers import (
    ChatSocket,
    PortalSessionAnswer,
    PortalSignIn,
    SignedInPerson,
    SignInLinkAsked,
)
from backend.api.http import call, respond
from backend.api.middleware import error_response
from backend.api.openapi import HTML, endpoint
from backend.api.requests import DevLogin, EmailSignIn, SignInLinkQuery
from backend.domain.errors import PermissionDenied
from backend.services import portal
from backend.services.portal import ChatToken, PortalSettings
from backend.services.signin import links, sessions
from backend.services.signin.principals import Kind
from backend.settings import REPO_ROOT

log = logging.getLogger("backend.portal")
routes = web.RouteTableDef()

WEB_DIR = REPO_ROOT / "web"
PAGE = WEB_DIR / "portal.html"
ASSETS_DIR = WEB_DIR / "dist"
ASSETS_PREFIX = "/portal/assets"
HOMES = {Kind.THERAPIST: "/inbox", Kind.STAFF: "/staff"}
# The session cookie's name (kept here for the tests and pages that read it).
COOKIE = portal_auth.SESSION_COOKIE


def _settings(request: web.Request) -> PortalSettings:
    return portal_auth.settings_of(request)


def _content_security_policy(settings: PortalSettings) -> str:
    socket = urlsplit(settings.rasa_socket_url)
    websocket_scheme = "wss" if socket.scheme == "https" else "ws"
    connect = f"'self' {socket.scheme}://{socket.netloc} {websocket_scheme}://{socket.netloc}"
    return ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"connect-src {connect}; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")


def _page_headers(settings: PortalSettings) -> dict[str, str]:
    return {"Content-Security-Policy": _content_security_policy(settings),
            "Cache-Control": "no-store", "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff"}


@routes.get("/portal")
@endpoint("The organisation's portal page with the chat widget", answer=str, auth="public",
          content_type=HTML)
async def page(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(PAGE, headers=_page_headers(_settings(request)))
    portal_auth.ensure_browser_cookie(request, response)
    return response


@routes.get("/portal/api/session")
@endpoint("Who is signed in to the portal, and where the chat is", answer=PortalSessionAnswer,
          auth="portal")
async def session(request: web.Request) -> web.Response:
    settings = _settings(request)
    principal = await portal_auth.signed_in(request)
    choices = await call(request, portal.sign_in_choices, settings)
    person = None if principal is None else SignedInPerson(
        kind=principal.kind.value, name=principal.name, email=principal.email)
    response = web.Response()
    nonce = portal_auth.ensure_browser_cookie(request, response)
    answer = respond(PortalSessionAnswer(
        signed_in=principal is not None, person=person, user=portal.user_of(principal),
        dev_login=settings.dev_login, sign_in_choices=choices,
        csrf_token=portal_auth.csrf_token(request, nonce),
        chat=ChatSocket(socket_url=settings.rasa_socket_url,
                        socket_path=settings.rasa_socket_path)))
    answer.cookies.update(response.cookies)
    return answer


@routes.post("/portal/api/sign-in/email")
@endpoint("Ask for a one-time sign-in link by email (the same answer for every address)",
          body=EmailSignIn, answer=SignInLinkAsked, status=202, auth="public")
async def ask_for_link(request: web.Request, body: EmailSignIn) -> SignInLinkAsked:
    portal_auth.require_form(request)
    asked = await call(request, links.ask, _settings(request), body.email, body.kind,
                       portal_auth.browser_nonce(request), signin_mail.client_of(request),
                       portal_auth.now(request))
    if asked.mail is not None:
        # Sent after answering, so known and unknown addresses take the same time.
        await signin_mail.send_in_background(request, asked.mail)
    return SignInLinkAsked(message=asked.message)


def redirect(location: str) -> web.Response:
    return web.Response(status=303, text="", content_type=HTML, headers={"Location": location})


def refusal_page(settings: PortalSettings, message: str,
                 what: str = "Sign-in link") -> web.Response:
    """A refused sign-in, said plainly on a page of its own, with the way back."""
    text, title = html.escape(message), html.escape(what)
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}'
            f'</title><link rel="stylesheet" href="{ASSETS_PREFIX}/portal.css"></head><body>'
            f'<main id="main"><h1>{title}: not accepted</h1><p id="sign-in-refused">{text}'
            f'</p><p><a href="/portal">Back to the portal</a></p></main></body></html>')
    return web.Response(text=body, status=403, content_type="text/html",
                        headers=_page_headers(settings))


@routes.get(links.LINK_PATH)
@endpoint("Follow a sign-in link from the mail: signs this browser in, once, and goes on to "
          "the portal (a refusal is a page saying why)", query=SignInLinkQuery, answer=str,
          status=303, auth="public", content_type=HTML, html_refusals=True)
async def follow_link(request: web.Request, query: SignInLinkQuery) -> web.Response:
    settings = _settings(request)
    try:
        started = await call(request, links.redeem, settings, query.token,
                             portal_auth.browser_nonce(request), portal_auth.now(request))
    except PermissionDenied as refused:
        log.info("sign-in link refused (%s)", refused.code)
        return refusal_page(settings, refused.message)
    # A therapist's place is the inbox, staff's the console; a member's the portal.
    home = HOMES.get(started.principal.kind, "/portal")
    response = redirect(home)
    portal_auth.set_session_cookie(request, response, started.cookie_token)
    return response


@routes.post("/portal/api/dev-login")
@endpoint("Development only (PORTAL_DEV_LOGIN): sign in as any member", body=DevLogin,
          answer=PortalSignIn, auth="public")
async def dev_login(request: web.Request, body: DevLogin) -> web.Response:
    portal_auth.require_form(request)
    started = await call(request, portal.dev_sign_in, _settings(request), body.member_id)
    response = respond(PortalSignIn(signed_in=True, user=portal.user_of(started.principal)))
    portal_auth.set_session_cookie(request, response, started.cookie_token)
    return response


@routes.post("/portal/api/logout")
@endpoint("Sign out: the session ends here, on every page and in the chat", answer=PortalSignIn,
          auth="portal")
async def logout(request: web.Request) -> web.Response:
    portal_auth.require_form(request)
    await call(request, sessions.end, request.cookies.get(portal_auth.SESSION_COOKIE),
               portal_auth.now(request))
    response = respond(PortalSignIn(signed_in=False, user=None))
    portal_auth.clear_session_cookie(response)
    return response


@routes.post("/portal/api/chat-token")
@endpoint("A short-lived web identity token for the chat widget", answer=ChatToken,
          auth="portal")
async def chat_token(request: web.Request) -> ChatToken:
    portal_auth.require_form(request)
    return portal.chat_token(_settings(request), await portal_auth.signed_in(request))


async def _assets_not_built(request: web.Request) -> web.Response:
    return error_response(503, "widget_not_built",
                          "The chat widget has not been built: run `make web`.")


def setup(app: web.Application, settings: PortalSettings, mailer: Mailer | None = None) -> None:
    """Routes, settings, the mailer and the built assets (or a clear 503 while not built)."""
    app[portal_auth.SETTINGS_KEY] = settings
    signin_mail.setup(app, mailer or build_mailer(settings))
    app.add_routes(routes)
    if ASSETS_DIR.is_dir():
        app.router.add_static(ASSETS_PREFIX, ASSETS_DIR)
    else:
        log.warning("web/dist is missing: the portal page has no chat widget until `make web`.")
        app.router.add_get(ASSETS_PREFIX + "/{name:.*}", _assets_not_built)
    if settings.dev_login:
        log.warning("PORTAL_DEV_LOGIN is on: anyone can sign in to /portal as any member. "
                    "Development and demos only.")
    if not settings.smtp_host:
        log.warning("SMTP_HOST is not set: sign-in mails are written to this log instead "
                    "(development only).")
    if settings.tokens.is_development_secret:
        log.warning("WEB_IDENTITY_SECRET is the development default; set a secret in production.")
    if not settings.session_secret:
        log.warning("PORTAL_SESSION_SECRET is not set: a random key per start, so pages opened "
                    "before a restart must be reloaded.")
