"""The `Idempotency-Key` of mutating requests (contracts/api.py): the first answer per caller
and key is stored and replayed (`services/idempotency.py`); a repeat arriving while the first
still runs waits for its answer, up to `wait_seconds`, then is told 409 `in_progress`."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from aiohttp import web

from backend.api.http import DB_KEY
from backend.api.middleware import error_response
from backend.services import idempotency
from contracts.api import IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, IN_PROGRESS_CODE
from contracts.identity import ACTING_FOR_HEADER

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
IN_PROGRESS = ("A request with this Idempotency-Key is still being handled; ask again in a "
               "moment for its answer.")


def make_idempotency(*, ttl: timedelta, wait_seconds: float, stale_after: timedelta,
                     poll_seconds: float = 0.1):
    @web.middleware
    async def idempotent(request: web.Request, handler) -> web.StreamResponse:
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        caller = request.headers.get(ACTING_FOR_HEADER)
        if request.method not in MUTATING or not key or not caller:
            return await handler(request)
        if len(key) > MAX_KEY_LENGTH:
            return error_response(400, "invalid_input",
                                  f"{IDEMPOTENCY_KEY_HEADER} is too long.")
        db = request.app[DB_KEY]
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path_qs}\n".encode() + await request.read()).hexdigest()
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            claim = await asyncio.to_thread(idempotency.begin, db, caller, key, fingerprint,
                                            ttl=ttl, stale_after=stale_after)
            if isinstance(claim, idempotency.StoredAnswer):
                return web.Response(status=claim.status_code, body=claim.body.encode(),
                                    content_type="application/json",
                                    headers={IDEMPOTENT_REPLAYED_HEADER: "true"})
            if claim is idempotency.Claim.FIRST:
                break
            if asyncio.get_running_loop().time() >= deadline:
                return error_response(409, IN_PROGRESS_CODE, IN_PROGRESS)
            await asyncio.sleep(poll_seconds)
        # Shielded: a caller that gives up (its timeout) must not cut the request short, or the
        # change would be made and its answer never stored for the caller's retry.
        return await asyncio.shield(asyncio.ensure_future(
            _run_and_store(request, handler, caller, key)))

    return idempotent


async def _run_and_store(request: web.Request, handler, caller: str,
                         key: str) -> web.StreamResponse:
    answer = None
    try:
        response = await handler(request)
        body = response.body if isinstance(response, web.Response) else None
        if isinstance(body, (bytes, bytearray)) and response.status < 500:
            answer = idempotency.StoredAnswer(response.status, bytes(body).decode())
        return response
    finally:
        await asyncio.to_thread(idempotency.finish, request.app[DB_KEY], caller, key, answer)
