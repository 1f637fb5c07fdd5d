"""The therapist inbox: a page listing requested sessions to confirm or decline and ended
sessions to mark completed, with a form per answer (no script needed).

Who is signed in is asked of ONE function, `signed_in_therapist(request)`: for now the
development sign-in (PORTAL_DEV_LOGIN: choose any therapist), kept in an HttpOnly, SameSite=Strict
cookie signed like the portal's; the web sign-in by email link replaces what it reads. Answers
go through the same services as the API (`bookings.confirm` charges the card as always); every
form POST needs an allowed Origin (WEB_ALLOWED_ORIGINS), so another site cannot answer for a
therapist.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from backend.api.http import call, gateway, policy
from backend.api.openapi import HTML, endpoint
from backend.api.routes import calendar
from backend.api.routes.portal import SETTINGS_KEY
from backend.domain.errors import InvalidInput, PermissionDenied
from backend.models.base import utcnow
from backend.services import bookings, inbox
from backend.services.bookings.views import BookingView
from backend.services.portal import PortalSettings
from backend.services.validation import identifier
from contracts import web_identity

routes = web.RouteTableDef()

COOKIE = "inbox_session"
AUDIENCE = "therapist-inbox"
PATH = "/inbox"
ANSWERS = {"confirm": bookings.confirm, "decline": bookings.decline,
           "complete": bookings.complete}


def _settings(request: web.Request) -> PortalSettings:
    return request.app[SETTINGS_KEY]


def signed_in_therapist(request: web.Request) -> int | None:
    """The therapist this browser is signed in as, or None."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        claims = web_identity.read_claims(_settings(request).session_key, AUDIENCE, cookie)
        return int(claims["sub"])
    except (web_identity.InvalidWebToken, KeyError, ValueError):
        return None


def _form_id(value: object, what: str) -> int:
    """An id typed in a form (text): ASCII digits only, then the services' check."""
    text = value if isinstance(value, str) else ""
    return identifier(int(text) if text.isascii() and text.isdigit() and len(text) < 11
                      else None, what)


def _require_origin(request: web.Request) -> None:
    if not web_identity.origin_allowed(request.headers.get("Origin"),
                                       _settings(request).allowed_origins):
        raise PermissionDenied("This request must come from the inbox page.", code="bad_origin")


def _page(title: str, body: str) -> web.Response:
    html = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
            "</title><meta name=viewport content='width=device-width'></head><body>"
            f"<main><h1>{escape(title)}</h1>{body}</main></body></html>")
    return web.Response(text=html, content_type=HTML, headers={
        "Content-Security-Policy": "default-src 'none'; form-action 'self'; "
                                   "frame-ancestors 'none'; base-uri 'none'",
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _when(booking: BookingView, request: web.Request) -> str:
    local = booking.starts_at.astimezone(policy(request).zone)
    return local.strftime("%a %-d %b %Y, %H:%M")


def _row(booking: BookingView, verbs: tuple[str, ...], request: web.Request) -> str:
    forms = "".join(
        f"<form method=post action='{PATH}/bookings/{booking.id}/{verb}'>"
        f"<button type=submit name=verb value={verb}>{verb.capitalize()}</button></form>"
        for verb in verbs)
    who = escape(booking.member_name or "a member")
    return (f"<li data-booking='{booking.id}'>{escape(_when(booking, request))}: {who}, "
            f"{escape(booking.modality.value.replace('_', ' '))} {forms}</li>")


def _sign_in_page(request: web.Request, choices: list[inbox.TherapistChoice]) -> web.Response:
    if not _settings(request).dev_login:
        return _page("Therapist inbox", "<p>Sign in with the link sent to your email.</p>")
    options = "".join(f"<option value={choice.id}>{escape(choice.name)}</option>"
                      for choice in choices)
    return _page("Therapist inbox", (
        "<p>Development sign-in (PORTAL_DEV_LOGIN): choose a therapist.</p>"
        f"<form method=post action='{PATH}/dev-login'><select name=therapist_id>{options}"
        "</select> <button type=submit>Sign in</button></form>"))


@routes.get(PATH)
@endpoint("The therapist inbox page: requested sessions to answer, ended ones to complete",
          answer=str, auth="public", content_type=HTML)
async def page(request: web.Request) -> web.StreamResponse:
    therapist_id = signed_in_therapist(request)
    if therapist_id is None:
        return _sign_in_page(request, await call(request, inbox.sign_in_choices))
    found = await call(request, inbox.inbox, therapist_id, utcnow())
    requested = "".join(_row(b, ("confirm", "decline"), request) for b in found.requested)
    ended = "".join(_row(b, ("complete",), request) for b in found.to_complete)
    return _page(f"Inbox of {found.therapist_name}", (
        "<h2>Requested sessions</h2>"
        f"<ul id=requested>{requested or '<li>Nothing to answer.</li>'}</ul>"
        "<h2>Sessions to mark completed</h2>"
        f"<ul id=to-complete>{ended or '<li>Nothing to complete.</li>'}</ul>"
        f"<form method=post action='{PATH}/logout'><button type=submit>Sign out</button></form>"))


@routes.post(PATH + "/dev-login")
@endpoint("Development only (PORTAL_DEV_LOGIN): sign in to the inbox as any therapist",
          answer=str, status=303, auth="public", content_type=HTML)
async def dev_login(request: web.Request) -> web.StreamResponse:
    _require_origin(request)
    settings = _settings(request)
    if not settings.dev_login:
        raise PermissionDenied("Development sign-in is turned off on this server "
                               "(PORTAL_DEV_LOGIN).", code="dev_login_off")
    form = await request.post()
    therapist_id = _form_id(form.get("therapist_id"), "therapist id")
    await call(request, inbox.require_therapist_exists, therapist_id)
    response = web.HTTPSeeOther(PATH)
    response.set_cookie(
        COOKIE, web_identity.sign_claims(settings.session_key, AUDIENCE, str(therapist_id),
                                         settings.session_hours * 3600),
        max_age=settings.session_hours * 3600, path=PATH, httponly=True, samesite="Strict",
        secure=settings.public_base_url.startswith("https://"))
    raise response


@routes.post(PATH + "/logout")
@endpoint("Sign out of the therapist inbox", answer=str, status=303, auth="public",
          content_type=HTML)
async def logout(request: web.Request) -> web.StreamResponse:
    _require_origin(request)
    response = web.HTTPSeeOther(PATH)
    response.del_cookie(COOKIE, path=PATH)
    raise response


@routes.post(PATH + "/bookings/{id}/{verb}")
@endpoint("The signed-in therapist confirms, declines or completes a session from the inbox",
          answer=str, status=303, auth="public", content_type=HTML)
async def answer(request: web.Request) -> web.StreamResponse:
    _require_origin(request)
    therapist_id = signed_in_therapist(request)
    if therapist_id is None:
        raise PermissionDenied("Please sign in to the inbox first.", code="not_signed_in")
    verb = request.match_info["verb"]
    if verb not in ANSWERS:
        raise InvalidInput("The answer must be confirm, decline or complete.")
    extra = {"calendar_link": calendar.links(request)} if verb == "confirm" else {}
    booking_id = _form_id(request.match_info["id"], "booking id")
    await call(request, ANSWERS[verb], inbox.actor_for(therapist_id), booking_id,
               gateway=gateway(request), **extra)
    raise web.HTTPSeeOther(PATH)
