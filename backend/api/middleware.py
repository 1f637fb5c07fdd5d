"""Authentication of callers and the mapping of refusals to HTTP errors."""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web

from backend.api.http import ACTOR_KEY, DB_KEY
from backend.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
)
from backend.services import actors
from contracts.api import error_answer
from contracts.identity import (
    ACTING_FOR_HEADER,
    AUTHORIZATION_HEADER,
    VERIFIED_EMAIL_HEADER,
    bearer_token,
)

log = logging.getLogger("backend.api")

STATUS_BY_ERROR = {
    InvalidInput: 400,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyAttempts: 429,
}
PUBLIC_PATHS = {"/health", "/openapi.json", "/stripe/webhook", "/offline-checkout",
                "/card-setup/finished", "/portal", "/inbox", "/staff",
                "/teams/consent/callback", "/teams/sign-in/callback"}
# The portal page's assets and API, called by people's browsers (see routes/portal.py), and
# the calendar files at their signed links (routes/calendar.py), and the therapist inbox and the
# staff console (the portal's session cookie, routes/inbox.py and routes/staff.py).
PUBLIC_PREFIXES = ("/portal/", "/calendar/", "/inbox/", "/staff/")


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response(error_answer(code, message), status=status)


def status_of(error: DomainError) -> int:
    """The HTTP status of a refusal."""
    return next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(error, kind)), 422)


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as error:
        status = status_of(error)
        log.info("%s %s refused (%s): %s", request.method, request.path, error.code,
                 error.message)
        return error_response(status, error.code, error.message)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "too_large", "The request body is too large.")
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        return error_response(http_error.status, "http_error", http_error.reason)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal", "Something went wrong on our side. "
                              "It has been logged; please try again later.")


def make_authentication(service_token: str):
    token = service_token.encode()

    @web.middleware
    async def authenticate(request: web.Request, handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
            return await handler(request)
        presented = bearer_token(request.headers.get(AUTHORIZATION_HEADER))
        if presented is None or not hmac.compare_digest(presented.encode(), token):
            return error_response(401, "unauthenticated",
                                  "A valid service credential (Bearer token) is required.")
        acting_for = request.headers.get(ACTING_FOR_HEADER)
        if not acting_for:
            return error_response(400, "no_identity",
                                  f"Name the verified chat identity in {ACTING_FOR_HEADER}.")
        request[ACTOR_KEY] = await asyncio.to_thread(
            actors.resolve, request.app[DB_KEY], acting_for,
            request.headers.get(VERIFIED_EMAIL_HEADER))
        return await handler(request)

    return authenticate
