"""The small pieces of the backend's script-free HTML pages (the therapist inbox, the staff
console): a page with a strict Content-Security-Policy, forms that carry this browser's CSRF
token in a hidden field, the check of that token and the Origin on every POST, and ids typed in
forms, and the form with which the people of such a page (therapists, staff) ask for a sign-in
link by mail. Who is signed in is backend/api/portal_auth.py."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from aiohttp import web

from backend.api import portal_auth, signin_mail
from backend.api.http import call
from backend.api.middleware import status_of
from backend.api.openapi import HTML
from backend.domain.errors import DomainError
from backend.services.signin import links, sessions
from backend.services.signin.principals import Kind
from backend.services.validation import identifier

CSRF_FIELD = "csrf"
HEADERS = {"Content-Security-Policy": "default-src 'none'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'",
           "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def form_id(value: object, what: str) -> int:
    """An id typed in a form (text): ASCII digits only, then the services' check."""
    text = value if isinstance(value, str) else ""
    return identifier(int(text) if text.isascii() and text.isdigit() and len(text) < 11
                      else None, what)


async def form_text(request: web.Request, name: str) -> str:
    """A text field of the posted form ("" when missing)."""
    value = (await request.post()).get(name)
    return value if isinstance(value, str) else ""


async def require_form(request: web.Request) -> None:
    """The Origin and the CSRF hidden field of a posted form (PermissionDenied otherwise)."""
    portal_auth.require_form(request, await form_text(request, CSRF_FIELD) or None)


def form(request: web.Request, action: str, fields: str, button: str) -> str:
    """A form that posts to `action` with this browser's CSRF token."""
    nonce = portal_auth.browser_nonce(request) or ""
    token = escape(portal_auth.csrf_token(request, nonce)) if nonce else ""
    return (f"<form method=post action='{action}'>"
            f"<input type=hidden name={CSRF_FIELD} value='{token}'>{fields}{button}</form>")


def page(title: str, body: str) -> web.Response:
    html = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
            "</title><meta name=viewport content='width=device-width'></head><body>"
            f"<main><h1>{escape(title)}</h1>{body}</main></body></html>")
    return web.Response(text=html, content_type=HTML, headers=HEADERS)


def again_page(path: str, query: Mapping[str, str], title: str, doing: str) -> web.Response:
    """Coming back from a platform's site (Slack, Microsoft), the browser leaves out the
    SameSite=Strict session cookie: a page that makes the same request again, now same-site,
    with `again=1` (so that it is made once more only)."""
    target = f"{path}?{urlencode({**query, 'again': '1'})}"
    response = page(title, f"<p>{escape(doing)}… <a href='{escape(target)}'>Continue</a></p>")
    response.headers["Refresh"] = f"0;url={target}"
    return response


def refusal(error: DomainError, title: str, back: str) -> web.Response:
    """A refusal as a page a person reads (its code in `data-code`), with a way back."""
    response = page(title, f"<p role=alert data-code='{escape(error.code)}'>"
                           f"{escape(error.message)}</p><p><a href='{back}'>Back</a></p>")
    response.set_status(status_of(error))
    return response


def ensure_browser(request: web.Request, path: str) -> None:
    """A page's forms need the browser cookie (their CSRF token is bound to it): without one,
    redirect to the same page setting it."""
    if portal_auth.browser_nonce(request) is None:
        response = web.HTTPSeeOther(path)
        portal_auth.ensure_browser_cookie(request, response)
        raise response


def sign_in_form(request: web.Request, action: str) -> str:
    """Asks for a link mailed to the address typed (posted to `action`, see `ask_for_link`)."""
    return ("<p>Sign in with the email address the service has for you: we send you a link "
            "that signs this browser in.</p>"
            + form(request, action, "<label>Email address <input type=email name=email "
                                    "required autocomplete=email></label> ",
                   "<button type=submit>Email me a sign-in link</button>"))


async def ask_for_link(request: web.Request, kind: Kind, title: str) -> web.Response:
    """The posted sign-in form: a link for `kind` (the same answer for every address; the mail
    goes out after it, and only to a known address); the link lands on this kind's page."""
    await require_form(request)
    asked = await call(request, links.ask, portal_auth.settings_of(request),
                       await form_text(request, "email"), kind.value,
                       portal_auth.browser_nonce(request), signin_mail.client_of(request),
                       portal_auth.now(request))
    if asked.mail is not None:
        await signin_mail.send_in_background(request, asked.mail)
    return page(title, f"<p id=sign-in-answer>{escape(asked.message)}</p>")


async def sign_out(request: web.Request, back: str) -> web.StreamResponse:
    """The posted sign-out form: ends this browser's session, then back to the page."""
    await require_form(request)
    await call(request, sessions.end, request.cookies.get(portal_auth.SESSION_COOKIE))
    response = web.HTTPSeeOther(back)
    portal_auth.clear_session_cookie(response)
    raise response
