"""The one client of the backend's HTTP API, used by the actions and the channels.

Every request carries the service credential and the chat identity it acts for (see
contracts/identity.py). Refusals come back as BackendError with the backend's `error.message`,
which is written for people; an unreachable, slow or failing backend (5xx, a refused credential,
an answer that is not the backend's error format) is BackendUnavailable. All requests of a process
share one connection pool (SESSION), closed at shutdown by `close_shared_session()`. Nothing here
knows a domain rule.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from contracts.http_session import SharedSession
from contracts.identity import ChatIdentity, bearer
from contracts.settings import BackendSettings

log = logging.getLogger(__name__)

SESSION = SharedSession()


async def close_shared_session() -> None:
    await SESSION.close()


class BackendUnavailable(Exception):
    """The backend could not be reached, timed out, or failed on its side."""


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


class BackendClient:
    def __init__(self, identity: ChatIdentity, settings: BackendSettings | None = None, *,
                 timeout_seconds: float | None = None, session: SharedSession = SESSION):
        self.identity = identity
        self.settings = settings or BackendSettings.from_environment()
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds or self.settings.timeout_seconds)
        self._session = session

    def _headers(self) -> dict[str, str]:
        return {**bearer(self.settings.service_token), **self.identity.headers()}

    async def request(self, method: str, path: str, json: Any = None,
                      params: dict[str, str] | None = None) -> Any:
        url = f"{self.settings.base_url}{path}"
        try:
            async with self._session().request(method, url, json=json, params=params,
                                               headers=self._headers(),
                                               timeout=self._timeout) as response:
                body = await _json_or_none(response)
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            log.warning("backend %s %s unreachable: %r", method, path, error)
            raise BackendUnavailable(str(error) or type(error).__name__) from None
        if status < 400:
            return body
        refusal = body.get("error") if isinstance(body, dict) else None
        if status >= 500 or status == 401 or not isinstance(refusal, dict):
            log.error("backend %s %s failed with %s: %s", method, path, status, body)
            raise BackendUnavailable(f"status {status}")
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


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    if response.content_type != "application/json":
        return None
    try:
        return await response.json()
    except (ValueError, aiohttp.ContentTypeError):
        return None
