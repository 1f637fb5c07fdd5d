"""The one client of the backend's HTTP API, used by the actions and the channels.

Every request carries the service credential and the chat identity it acts for (see
contracts/identity.py). Refusals come back as BackendError with the backend's `error.message`,
which is written for people; an unreachable, slow or failing backend (5xx, a refused credential,
an answer that is not the backend's error format) is BackendUnavailable. All requests of a process
share one connection pool (SESSION), closed at shutdown by `close_shared_session()`. Nothing here
knows a domain rule.

Safe retries: a client made for one user message (`idempotency_scope`: the conversation, the
message's id and the action) sends every POST/PUT/PATCH/DELETE with an `Idempotency-Key` derived
from the scope and the call's place in the sequence, so a redelivered message sends the same keys
and the backend replays its first answers. A keyed call that times out, or that the backend says
is still running (409 in_progress), is asked again with its key until `write_patience_seconds`;
if the outcome is still unknown then, BackendOutcomeUnknown says so (never "nothing changed").
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from contracts.api import IDEMPOTENCY_KEY_HEADER, IN_PROGRESS_CODE
from contracts.http_session import SharedSession
from contracts.identity import ChatIdentity, bearer
from contracts.settings import BackendSettings

log = logging.getLogger(__name__)

SESSION = SharedSession()


async def close_shared_session() -> None:
    await SESSION.close()


class BackendUnavailable(Exception):
    """The backend could not be reached, timed out, or failed on its side."""


class BackendOutcomeUnknown(BackendUnavailable):
    """A change was asked for and the backend did not say, in time, whether it was made."""


class BackendError(Exception):
    """The backend refused the request; `message` can be shown to the person as it is."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


# --- Shapes of the answers the callers read -------------------------------------------------

UNAVAILABLE = "unavailable"
MEMBER_STATUSES = frozenset({"linked", "joined"})


@dataclass(frozen=True)
class IdentityVerification:
    """POST /identities/verify: who a Slack or Teams identity is in the backend."""

    status: str
    member_id: int | None = None
    organisation_id: int | None = None
    role: str | None = None
    # For the person, when they are not (yet) a member: what they can do.
    message: str | None = None

    @property
    def is_member(self) -> bool:
        return self.status in MEMBER_STATUSES

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> IdentityVerification:
        return cls(status=str(body.get("status")), member_id=body.get("member_id"),
                   organisation_id=body.get("organisation_id"), role=body.get("role"),
                   message=body.get("message"))


# --- The client -----------------------------------------------------------------------------


MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRY_PAUSE_SECONDS = 0.5


def idempotency_key(scope: str, sequence: int, method: str, path: str) -> str:
    """The key of a scope's `sequence`-th change: the same for the same message, action and
    call, whichever process or delivery sends it."""
    return hashlib.sha256(f"{scope}\n{sequence}\n{method} {path}".encode()).hexdigest()


class BackendClient:
    def __init__(self, identity: ChatIdentity, settings: BackendSettings | None = None, *,
                 timeout_seconds: float | None = None, session: SharedSession = SESSION,
                 idempotency_scope: str | None = None):
        self.identity = identity
        self.settings = settings or BackendSettings.from_environment()
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds or self.settings.timeout_seconds)
        self._session = session
        self._scope = idempotency_scope
        self._changes = 0  # the changes asked for so far in this scope

    def _headers(self) -> dict[str, str]:
        return {**bearer(self.settings.service_token), **self.identity.headers()}

    async def request(self, method: str, path: str, json: Any = None,
                      params: dict[str, str] | None = None) -> Any:
        if self._scope is None or method.upper() not in MUTATING:
            return await self._send(method, path, json, params, None)
        self._changes += 1
        key = idempotency_key(self._scope, self._changes, method.upper(), path)
        deadline = time.monotonic() + self.settings.write_patience_seconds
        maybe_done = False  # once a try may have reached the backend, only its answer tells
        while True:
            try:
                return await self._send(method, path, json, params, key)
            except (_TimedOut, _StillRunning) as unknown:
                maybe_done, reason = True, str(unknown)
            except BackendUnavailable as error:
                if not maybe_done:
                    raise
                reason = str(error)
            if time.monotonic() + RETRY_PAUSE_SECONDS >= deadline:
                raise BackendOutcomeUnknown(reason)
            log.info("backend %s %s: %s; asking again with the same key", method, path, reason)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _send(self, method: str, path: str, json: Any, params: dict[str, str] | None,
                    key: str | None) -> Any:
        url = f"{self.settings.base_url}{path}"
        headers = self._headers() | ({IDEMPOTENCY_KEY_HEADER: key} if key else {})
        try:
            async with self._session().request(method, url, json=json, params=params,
                                               headers=headers,
                                               timeout=self._timeout) as response:
                body = await _json_or_none(response)
                status = response.status
        except asyncio.TimeoutError as error:
            log.warning("backend %s %s timed out", method, path)
            if key:  # it may have been done: only asking again with the key tells
                raise _TimedOut("timed out") from None
            raise BackendUnavailable(str(error) or type(error).__name__) from None
        except aiohttp.ClientError as error:
            log.warning("backend %s %s unreachable: %r", method, path, error)
            if key and not isinstance(error, aiohttp.ClientConnectorError):
                raise _TimedOut(str(error) or type(error).__name__) from None
            raise BackendUnavailable(str(error) or type(error).__name__) from None
        if status < 400:
            return body
        refusal = body.get("error") if isinstance(body, dict) else None
        if status >= 500 or status == 401 or not isinstance(refusal, dict):
            log.error("backend %s %s failed with %s: %s", method, path, status, body)
            raise BackendUnavailable(f"status {status}")
        if key and status == 409 and refusal.get("code") == IN_PROGRESS_CODE:
            raise _StillRunning("still in progress")
        raise BackendError(status, str(refusal.get("code", "refused")),
                           str(refusal.get("message", "The request was refused.")))

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None) -> Any:
        return await self.request("POST", path, json=json if json is not None else {})

    async def verify_identity(self, name: str | None = None) -> IdentityVerification:
        """Ask who the (Slack or Teams) identity is, linking it to a member when its verified
        email allows."""
        body = {key: value for key, value in (("email", self.identity.verified_email),
                                              ("name", name)) if value}
        answer = await self.post("/identities/verify", body)
        if not isinstance(answer, dict):
            raise BackendUnavailable("identity check answered without a JSON object")
        return IdentityVerification.from_json(answer)


class _TimedOut(Exception):
    """A keyed change whose answer did not come: it may or may not have been made."""


class _StillRunning(Exception):
    """The backend is still handling the first request with this key."""


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    if response.content_type != "application/json":
        return None
    try:
        return await response.json()
    except (ValueError, aiohttp.ContentTypeError):
        return None
