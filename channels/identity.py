"""Who a verified Slack or Teams user is in the backend, and what strangers are told.

The channel has already proven the identity (Slack signature, Bot Framework JWT); the backend
links it to a member by workspace + verified email (POST /identities/verify, asked through the
shared backend client with the shorter IDENTITY_TIMEOUT, see contracts/settings.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from channels.dedupe import TTLSet
from contracts.backend_client import (
    UNAVAILABLE,
    BackendClient,
    BackendError,
    BackendUnavailable,
    IdentityVerification,
)
from contracts.identity import ChatIdentity
from contracts.settings import BackendSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifiedUser:
    """A chat user whose identity (and email, when there is one) the channel has proven."""

    identity: ChatIdentity
    name: str | None = None


class IdentityClient:
    def __init__(self, settings: BackendSettings | None = None) -> None:
        self.settings = settings or BackendSettings.from_environment()

    async def verify(self, user: VerifiedUser) -> IdentityVerification:
        """The backend's answer; `unavailable` (never an exception) when it cannot be asked."""
        client = BackendClient(user.identity, self.settings,
                               timeout_seconds=self.settings.identity_timeout_seconds)
        try:
            return await client.verify_identity(user.name)
        except (BackendError, BackendUnavailable) as error:
            log.warning("Identity check of %s failed: %s", user.identity, error)
            return IdentityVerification(UNAVAILABLE)


class Notices:
    """Tells each person the backend does not know why, once a day rather than every message."""

    def __init__(self, ttl: float = 24 * 3600) -> None:
        self._told = TTLSet(ttl)

    def due(self, verification: IdentityVerification, identity: str) -> str | None:
        if verification.is_member or not verification.message:
            return None
        return verification.message if self._told.add(identity) else None
