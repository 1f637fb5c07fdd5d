"""The small pieces of the backend's script-free HTML pages (the therapist inbox, the staff
console): a page with a strict Content-Security-Policy, forms that carry this browser's CSRF
token in a hidden field, the check of that token and the Origin on every POST, and ids typed in
forms. Who is signed in is backend/api/portal_auth.py."""

from __future__ import annotations

from html import escape

from aiohttp import web

from backend.api import portal_auth
from backend.api.middleware import status_of
from backend.api.openapi import HTML
from backend.domain.errors import DomainError
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
