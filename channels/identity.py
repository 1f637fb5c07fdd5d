"""Asks the backend who a verified chat user is (POST /identities/verify), and builds the message
metadata the actions read the identity from.

The channel has already proven the identity (Slack signature, Bot Framework JWT); the backend
links it to a member by workspace + verified email. Settings (environment):

| variable              | default                 | meaning                                     |
|-----------------------|-------------------------|---------------------------------------------|
| BACKEND_URL           | http://127.0.0.1:8000   | where the backend API listens               |
| BACKEND_SERVICE_TOKEN | dev-service-token       | the service credential the backend expects  |
| IDENTITY_TIMEOUT      | 5                       | seconds to wait for the backend             |
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import aiohttp

from channels.dedupe import TTLSet

log = logging.getLogger(__name__)

DEFAULT_BACKEND_URL = "http://127.0.0.1:8000"
DEFAULT_SERVICE_TOKEN = "dev-service-token"
UNAVAILABLE = "unavailable"
MEMBER_STATUSES = {"linked", "joined"}


@dataclass(frozen=True)
class VerifiedUser:
    """A chat user whose identity the channel has proven."""

    channel: str
    external_id: str
    email: str | None = None
    name: str | None = None

    @property
    def identity(self) -> str:
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True)
class Verification:
    status: str
    member_id: int | None = None
    organisation_id: int | None = None
    role: str | None = None
    message: str | None = None

    @property
    def is_member(self) -> bool:
        return self.status in MEMBER_STATUSES


def metadata_for(user: VerifiedUser | None) -> dict[str, Any]:
    """Message metadata for Rasa: the keys bot/actions read the identity from."""
    if user is None:
        return {}
    metadata: dict[str, Any] = {"identity": user.identity}
    if user.email:
        metadata["verified_email"] = user.email
    return metadata


class IdentityClient:
    def __init__(self, backend_url: str | None = None, service_token: str | None = None,
                 timeout: float | None = None) -> None:
        self.backend_url = (backend_url or os.environ.get("BACKEND_URL")
                            or DEFAULT_BACKEND_URL).rstrip("/")
        self._token = (service_token or os.environ.get("BACKEND_SERVICE_TOKEN")
                       or DEFAULT_SERVICE_TOKEN)
        self._timeout = aiohttp.ClientTimeout(
            total=timeout or float(os.environ.get("IDENTITY_TIMEOUT", "5")))
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def verify(self, user: VerifiedUser) -> Verification:
        """The backend's answer; `unavailable` (never an exception) when it cannot be asked."""
        headers = {"Authorization": f"Bearer {self._token}", "X-Acting-For": user.identity}
        body = {key: value for key, value in (("email", user.email), ("name", user.name))
                if value}
        try:
            async with self._client().post(f"{self.backend_url}/identities/verify",
                                           json=body, headers=headers) as response:
                payload = await response.json(content_type=None)
                if response.status != 200:
                    log.warning("Identity check of %s refused (%s): %s", user.identity,
                                response.status, payload)
                    return Verification(UNAVAILABLE)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            log.warning("Identity check of %s failed: %r", user.identity, error)
            return Verification(UNAVAILABLE)
        return Verification(
            status=str(payload.get("status")),
            member_id=payload.get("member_id"),
            organisation_id=payload.get("organisation_id"),
            role=payload.get("role"),
            message=payload.get("message"),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class Notices:
    """Tells each person the backend does not know why, once a day rather than every message."""

    def __init__(self, ttl: float = 24 * 3600) -> None:
        self._told = TTLSet(ttl)

    def due(self, verification: Verification, identity: str) -> str | None:
        if verification.is_member or not verification.message:
            return None
        return verification.message if self._told.add(identity) else None
