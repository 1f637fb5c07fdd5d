"""The therapist inbox: a page listing requested sessions to confirm or decline and ended
sessions to mark completed, with a form per answer (no script needed).

Who is signed in is the portal's session (backend/api/portal_auth.py): a therapist asks here for
a link mailed to their address (and lands back here), or, in development (PORTAL_DEV_LOGIN),
chooses a therapist here. Answers go through the same services as the API (`bookings.confirm`
charges the card as always); every form POST needs an allowed Origin (WEB_ALLOWED_ORIGINS) and this
browser's CSRF token (a hidden field), so another site cannot answer for a therapist.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from backend.api import pages, portal_auth
from backend.api.http import call, gateway, policy
from backend.api.openapi import HTML, endpoint
from backend.api.routes import calendar
from backend.domain.errors import InvalidInput, PermissionDenied
from backend.models.base import utcnow
from backend.services import bookings, inbox
from backend.services.signin.principals import Kind
from contracts.answers import Booking

routes = web.RouteTableDef()

PATH = "/inbox"
ANSWERS = {"confirm": bookings.confirm, "decline": bookings.decline,
           "complete": bookings.complete}


def _when(booking: Booking, request: web.Request) -> str:
    local = booking.starts_at.astimezone(policy(request).zone)
    return local.strftime("%a %-d %b %Y, %H:%M")


def _row(booking: Booking, verbs: tuple[str, ...], request: web.Request) -> str:
    forms = "".join(
        pages.form(request, f"{PATH}/bookings/{booking.id}/{verb}", "",
                   f"<button type=submit name=verb value={verb}>{verb.capitalize()}</button>")
        for verb in verbs)
    who = escape(booking.member_name or "a member")
    return (f"<li data-booking='{booking.id}'>{escape(_when(booking, request))}: {who}, "
            f"{escape(booking.modality.replace('_', ' '))} {forms}</li>")


def _sign_in_page(request: web.Request, choices: list[inbox.TherapistChoice]) -> web.Response:
    sign_in = pages.sign_in_form(request, f"{PATH}/sign-in")
    if not portal_auth.settings_of(request).dev_login:
        return pages.page("Therapist inbox", sign_in)
    options = "".join(f"<option value={choice.id}>{escape(choice.name)}</option>"
                      for choice in choices)
    return pages.page("Therapist inbox", sign_in + (
        "<p>Development sign-in (PORTAL_DEV_LOGIN): choose a therapist.</p>"
        + pages.form(request, f"{PATH}/dev-login",
                     f"<select name=therapist_id>{options}</select> ",
                     "<button type=submit>Sign in</button>")))


@routes.get(PATH)
@endpoint("The therapist inbox page: requested sessions to answer, ended ones to complete",
          answer=str, auth="public", content_type=HTML)
async def page(request: web.Request) -> web.StreamResponse:
    pages.ensure_browser(request, PATH)  # the CSRF token of the forms needs it
    therapist_id = await portal_auth.signed_in_therapist(request)
    if therapist_id is None:
        return _sign_in_page(request, await call(request, inbox.sign_in_choices))
    found = await call(request, inbox.inbox, therapist_id, utcnow())
    requested = "".join(_row(b, ("confirm", "decline"), request) for b in found.requested)
    ended = "".join(_row(b, ("complete",), request) for b in found.to_complete)
    return pages.page(f"Inbox of {found.therapist_name}", (
        "<h2>Requested sessions</h2>"
        f"<ul id=requested>{requested or '<li>Nothing to answer.</li>'}</ul>"
        "<h2>Sessions to mark completed</h2>"
        f"<ul id=to-complete>{ended or '<li>Nothing to complete.</li>'}</ul>"
        + pages.form(request, f"{PATH}/logout", "", "<button type=submit>Sign out</button>")))


@routes.post(PATH + "/sign-in")
@endpoint("A therapist asks for a one-time sign-in link by email (the same answer for every "
          "address)", answer=str, auth="public", content_type=HTML)
async def ask_for_link(request: web.Request) -> web.Response:
    return await pages.ask_for_link(request, Kind.THERAPIST, "Therapist inbox")


@routes.post(PATH + "/dev-login")
@endpoint("Development only (PORTAL_DEV_LOGIN): sign in to the inbox as any therapist",
          answer=str, status=303, auth="public", content_type=HTML)
async def dev_login(request: web.Request) -> web.StreamResponse:
    await pages.require_form(request)
    settings = portal_auth.settings_of(request)
    if not settings.dev_login:
        raise PermissionDenied("Development sign-in is turned off on this server "
                               "(PORTAL_DEV_LOGIN).", code="dev_login_off")
    form = await request.post()
    therapist_id = pages.form_id(form.get("therapist_id"), "therapist id")
    started = await call(request, inbox.dev_sign_in, settings, therapist_id)
    response = web.HTTPSeeOther(PATH)
    portal_auth.set_session_cookie(request, response, started.cookie_token)
    raise response


@routes.post(PATH + "/logout")
@endpoint("Sign out of the therapist inbox", answer=str, status=303, auth="public",
          content_type=HTML)
async def logout(request: web.Request) -> web.StreamResponse:
    return await pages.sign_out(request, PATH)


@routes.post(PATH + "/bookings/{id}/{verb}")
@endpoint("The signed-in therapist confirms, declines or completes a session from the inbox",
          answer=str, status=303, auth="public", content_type=HTML)
async def answer(request: web.Request) -> web.StreamResponse:
    await pages.require_form(request)
    therapist_id = await portal_auth.signed_in_therapist(request)
    if therapist_id is None:
        raise PermissionDenied("Please sign in to the inbox first.", code="not_signed_in")
    verb = request.match_info["verb"]
    if verb not in ANSWERS:
        raise InvalidInput("The answer must be confirm, decline or complete.")
    extra = {"calendar_link": calendar.links(request)} if verb == "confirm" else {}
    booking_id = pages.form_id(request.match_info["id"], "booking id")
    await call(request, ANSWERS[verb], inbox.actor_for(therapist_id), booking_id,
               gateway=gateway(request), **extra)
    raise web.HTTPSeeOther(PATH)
