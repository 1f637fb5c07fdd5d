"""The staff console: the service's own team (STAFF_EMAILS, signed in with the link mailed by
this page's form) sees the requests for a person, urgent ones first, takes one, replies into the
member's own chat and closes it. While taken, the assistant is quiet in the member's chat and the
request's thread shows what the member writes, in order with the replies; closing hands the
member back to the assistant. A script-free page like the therapist inbox
(backend/api/pages.py): every form POST needs an allowed Origin and this browser's CSRF token, and
a refusal is a page saying why, with a way back. The rules are the services'
(backend/services/staff.py, backend/domain/handoffs.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape

from aiohttp import web

from backend.api import pages, portal_auth
from backend.api.http import call, settings
from backend.api.openapi import HTML, endpoint
from backend.domain.errors import DomainError, InvalidInput
from backend.services import staff
from backend.services.signin.principals import Kind, Principal
from backend.services.staff import ConsoleItem

routes = web.RouteTableDef()

PATH = "/staff"
TITLE = "Staff console"
VERBS: dict[str, Callable[..., None]] = {"take": staff.take, "close": staff.close}


def _when(value: datetime, request: web.Request) -> str:
    return value.astimezone(settings(request).office_hours().zone).strftime("%a %-d %b, %H:%M")


def _item(item: ConsoleItem, request: web.Request) -> str:
    action = f"{PATH}/handoffs/{item.id}"
    urgent = (f"<strong>Urgent ({escape((item.risk_kind or 'risk').replace('_', ' '))})"
              "</strong> " if item.urgent else "")
    organisation = escape(item.organisation_name or "no organisation")
    taken = (f"; taken by {escape(item.taken_by or '')} {escape(_when(item.taken_at, request))}"
             if item.taken_at is not None else "")
    thread = "".join(f"<li data-author='{reply.author}'>{escape(reply.staff_email or 'Member')}, "
                     f"{escape(_when(reply.created_at, request))}: {escape(reply.text)}</li>"
                     for reply in item.replies)
    if item.status == "open":
        forms = pages.form(request, f"{action}/take", "", "<button type=submit>Take</button>")
    else:
        reply = (pages.form(request, f"{action}/reply",
                            "<label>Reply <textarea name=text rows=3 cols=60 maxlength="
                            f"{staff.MAX_REPLY_LENGTH} required></textarea></label> ",
                            "<button type=submit>Send reply</button>")
                 if item.has_member else
                 "<p>Not a member of any organisation: a reply cannot reach their chat.</p>")
        forms = reply + pages.form(request, f"{action}/close", "",
                                   "<button type=submit>Close and hand back</button>")
    return (f"<li data-handoff='{item.id}'>{urgent}{escape(item.topic)} · "
            f"{escape(item.channel)} · {organisation} · {escape(_when(item.created_at, request))}"
            f"{taken}{f'<ol>{thread}</ol>' if thread else ''}{forms}</li>")


def _sign_in_page(request: web.Request) -> web.Response:
    return pages.page(TITLE, pages.sign_in_form(request, f"{PATH}/sign-in"))


async def _staff(request: web.Request) -> Principal:
    return await portal_auth.require(request, Kind.STAFF)


@routes.get(PATH)
@endpoint("The staff console: requests for a person, urgent ones first, to take, answer, close",
          answer=str, auth="public", content_type=HTML, html_refusals=True)
async def page(request: web.Request) -> web.StreamResponse:
    try:
        return await _console(request)
    except DomainError as refused:
        return pages.refusal(refused, TITLE, "/portal")


async def _console(request: web.Request) -> web.StreamResponse:
    pages.ensure_browser(request, PATH)  # the CSRF token of the forms needs it
    if await portal_auth.signed_in(request) is None:
        return _sign_in_page(request)
    principal = await _staff(request)
    found = await call(request, staff.console)
    office = settings(request).office_hours()
    hours = escape(f"{office.spec}, {office.zone.key}")
    waiting = "".join(_item(item, request) for item in found.open)
    handled = "".join(_item(item, request) for item in found.taken)
    return pages.page(TITLE, (
        f"<p>Signed in as {escape(principal.email or '')}. Office hours: {hours} "
        "(what members are told to expect).</p>"
        f"<h2>Waiting</h2><ul id=open>{waiting or '<li>Nobody is waiting.</li>'}</ul>"
        f"<h2>Being handled</h2><ul id=taken>{handled or '<li>Nothing in hand.</li>'}</ul>"
        + pages.form(request, f"{PATH}/logout", "", "<button type=submit>Sign out</button>")))


@routes.post(PATH + "/sign-in")
@endpoint("Someone of the team asks for a one-time sign-in link by email (the same answer for "
          "every address)", answer=str, auth="public", content_type=HTML, html_refusals=True)
async def ask_for_link(request: web.Request) -> web.Response:
    try:
        return await pages.ask_for_link(request, Kind.STAFF, TITLE)
    except DomainError as refused:
        return pages.refusal(refused, TITLE, PATH)


@routes.post(PATH + "/logout")
@endpoint("Sign out of the staff console", answer=str, status=303, auth="public",
          content_type=HTML)
async def logout(request: web.Request) -> web.StreamResponse:
    return await pages.sign_out(request, PATH)


@routes.post(PATH + "/handoffs/{id}/{verb}")
@endpoint("Someone of the team takes, replies to (form field `text`) or closes a request",
          answer=str, status=303, auth="public", content_type=HTML, html_refusals=True)
async def act(request: web.Request) -> web.StreamResponse:
    try:
        await _act(request)
    except DomainError as refused:
        return pages.refusal(refused, TITLE, PATH)
    raise web.HTTPSeeOther(PATH)


async def _act(request: web.Request) -> None:
    await pages.require_form(request)
    principal = await _staff(request)
    email = principal.email or ""
    verb = request.match_info["verb"]
    handoff_id = pages.form_id(request.match_info["id"], "request id")
    if verb == "reply":
        await call(request, staff.reply, email, handoff_id,
                   await pages.form_text(request, "text"))
    elif verb in VERBS:
        await call(request, VERBS[verb], email, handoff_id)
    else:
        raise InvalidInput("The action must be take, reply or close.")
