"""The one place the actions talk to the backend: HTTP with aiohttp, timeouts, clear errors.

Every request carries the service credential and the verified identity it acts for. Refusals
come back as BackendError with the backend's `error.message`, which is written for people; an
unreachable or failing backend is BackendUnavailable. Nothing here knows a domain rule.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.actions.identity import Identity

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TOKEN = "dev-service-token"
DEFAULT_TIMEOUT_SECONDS = 10.0


class BackendUnavailable(Exception):
    """The backend could not be reached, timed out, or failed on its side."""


class BackendError(Exception):
    """The backend refused the request; `message` can be shown to the user as it is."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def route_missing(self) -> bool:
        """The route does not exist (yet), as opposed to a thing that was not found."""
        return self.status in (404, 405) and self.code == "http_error"


@dataclass(frozen=True)
class BackendConfig:
    base_url: str
    token: str
    timeout_seconds: float

    @classmethod
    def from_environment(cls) -> BackendConfig:
        return cls(
            base_url=os.environ.get("BACKEND_URL", DEFAULT_URL).rstrip("/"),
            token=os.environ.get("BACKEND_SERVICE_TOKEN", DEFAULT_TOKEN),
            timeout_seconds=float(os.environ.get("BACKEND_TIMEOUT_SECONDS",
                                                 DEFAULT_TIMEOUT_SECONDS)),
        )


class BackendClient:
    def __init__(self, identity: Identity, config: BackendConfig | None = None):
        self.identity = identity
        self.config = config or BackendConfig.from_environment()

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.config.token}",
                   "X-Acting-For": self.identity.identity}
        if self.identity.verified_email:
            headers["X-Verified-Email"] = self.identity.verified_email
        return headers

    async def request(self, method: str, path: str, json: Any = None,
                      params: dict[str, str] | None = None) -> Any:
        url = f"{self.config.base_url}{path}"
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_seconds)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.request(
                    method, url, json=json, params=params, headers=self._headers()) as response:
                body = await _json_or_none(response)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("backend %s %s unreachable: %r", method, path, error)
            raise BackendUnavailable(str(error)) from None
        if status < 400:
            return body
        error = (body or {}).get("error") if isinstance(body, dict) else None
        if status >= 500 or status == 401 or not isinstance(error, dict):
            log.error("backend %s %s failed with %s: %s", method, path, status, body)
            raise BackendUnavailable(f"status {status}")
        raise BackendError(status, str(error.get("code", "refused")),
                           str(error.get("message", "The request was refused.")))

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None) -> Any:
        return await self.request("POST", path, json=json if json is not None else {})


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    if response.content_type != "application/json":
        return None
    try:
        return await response.json()
    except (ValueError, aiohttp.ContentTypeError):
        return None
