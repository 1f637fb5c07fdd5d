"""Who a message is from, as the processes tell each other: `<channel>:<id>`.

A channel proves who speaks (a Slack signature, a Bot Framework token, the portal's identity
token; in development the `dev_rest` channel may trust the sender) and names that person with a
chat identity: `slack:<team>:<user>`, `teams:<tenant>:<AAD object id>`, `web:<member id>` or
`dev:<sender>`. The identity travels
- from the channel to the actions in the message metadata (IDENTITY_KEY, VERIFIED_EMAIL_KEY),
- from the actions and channels to the backend in headers: the service credential
  (`Authorization: Bearer …`), ACTING_FOR_HEADER and, when the channel verified an address,
  VERIFIED_EMAIL_HEADER.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SLACK = "slack"
TEAMS = "teams"
WEB = "web"
DEV = "dev"
SEPARATOR = ":"
MAX_LENGTH = 200

# Message metadata keys the actions read (never anything else the client sent).
IDENTITY_KEY = "identity"
VERIFIED_EMAIL_KEY = "verified_email"

AUTHORIZATION_HEADER = "Authorization"
BEARER_SCHEME = "Bearer"
ACTING_FOR_HEADER = "X-Acting-For"
VERIFIED_EMAIL_HEADER = "X-Verified-Email"

INVALID_IDENTITY = "The acting identity must look like 'channel:id', e.g. 'slack:T123:U456'."

_WEB_MEMBER = re.compile(rf"{WEB}{SEPARATOR}(\d{{1,18}})")


@dataclass(frozen=True)
class ChatIdentity:
    """A chat identity a channel has verified, and the email address it verified, if any."""

    channel: str
    external_id: str
    verified_email: str | None = None

    def __str__(self) -> str:
        return f"{self.channel}{SEPARATOR}{self.external_id}"

    @classmethod
    def parse(cls, value: str, verified_email: str | None = None) -> ChatIdentity:
        """`"slack:T123:U456"` -> ChatIdentity("slack", "T123:U456"); ValueError otherwise."""
        channel, separator, external_id = value.strip().partition(SEPARATOR)
        if not separator or not channel or not external_id or len(value) > MAX_LENGTH:
            raise ValueError(INVALID_IDENTITY)
        return cls(channel.lower(), external_id, verified_email or None)

    def metadata(self) -> dict[str, Any]:
        """The message metadata a channel attaches for the actions."""
        metadata: dict[str, Any] = {IDENTITY_KEY: str(self)}
        if self.verified_email:
            metadata[VERIFIED_EMAIL_KEY] = self.verified_email
        return metadata

    def headers(self) -> dict[str, str]:
        """The headers naming this identity to the backend."""
        headers = {ACTING_FOR_HEADER: str(self)}
        if self.verified_email:
            headers[VERIFIED_EMAIL_HEADER] = self.verified_email
        return headers


# --- One builder per channel kind ----------------------------------------------------------


def slack(team_id: str, user_id: str, email: str | None = None) -> ChatIdentity:
    return ChatIdentity(SLACK, f"{team_id}{SEPARATOR}{user_id}", email)


def teams(tenant_id: str, aad_object_id: str, email: str | None = None) -> ChatIdentity:
    return ChatIdentity(TEAMS, f"{tenant_id}{SEPARATOR}{aad_object_id}", email)


def web(member_id: int, email: str | None = None) -> ChatIdentity:
    return ChatIdentity(WEB, str(member_id), email)


def dev(sender: str) -> ChatIdentity:
    return ChatIdentity(DEV, sender)


def web_member_id(value: str) -> int | None:
    """The member id of a `web:<member id>` identity; None for anything else."""
    match = _WEB_MEMBER.fullmatch(value)
    return int(match.group(1)) if match else None


def from_metadata(metadata: Mapping[str, Any]) -> ChatIdentity | None:
    """The identity a channel attached to a message; None when there is none (or a malformed
    one: the actions then act for nobody)."""
    value = metadata.get(IDENTITY_KEY)
    if not isinstance(value, str):
        return None
    try:
        identity = ChatIdentity.parse(value)
    except ValueError:
        return None
    email = metadata.get(VERIFIED_EMAIL_KEY)
    return ChatIdentity(identity.channel, identity.external_id,
                        email if isinstance(email, str) and email else None)


# --- The service credential ----------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    """The header carrying the callers' service credential."""
    return {AUTHORIZATION_HEADER: f"{BEARER_SCHEME} {token}"}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value; None for other schemes."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != BEARER_SCHEME.lower() or not token:
        return None
    return token
