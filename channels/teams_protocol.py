"""Microsoft Teams (Bot Framework) without Rasa: JWT validation, bot tokens, activities, cards.

Incoming activities carry `Authorization: Bearer <JWT>` signed by the Bot Framework. A token is
accepted only when: it is RS256-signed by a key published at the OpenID metadata's `jwks_uri`
(fetched with aiohttp, cached, fetched again when an unknown key id appears, at most every
`min_refresh_seconds`); that key is endorsed for the activity's channel; the issuer is the Bot
Framework's; the audience is our app id; it has not expired (5 minutes of clock skew); and its
`serviceurl` claim is the activity's serviceUrl (so replies and our bot token only ever go where
the signed token says).

Replies go to `{serviceUrl}/v3/conversations/{id}/activities/{replyToId}` with a bot token from
the (single- or multi-tenant) token endpoint, client-credentials grant, cached until it expires.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm

from contracts import identity
from contracts.identity import ChatIdentity, bearer_token
from contracts.settings import TeamsSettings

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
ALLOWED_ALGORITHMS = ("RS256",)
CLOCK_SKEW_SECONDS = 300
PAYLOAD_KEY = "rasa_payload"
# The whole answer to a message in a team channel or group chat: the bot talks in private only.
POINTER = ("I talk one to one only, to keep what you ask private: please open a personal chat "
           "with me (Chat → New chat → Therapy Sessions) and send your message there.")

_AT_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


class AuthError(Exception):
    """The activity is not provably from the Bot Framework for this bot (-> 401)."""


async def _get_json(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url) as response:
        response.raise_for_status()
        body = await response.json(content_type=None)
    if not isinstance(body, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return body


@dataclass(frozen=True)
class SigningKey:
    key: Any
    endorsements: tuple[str, ...] | None


class SigningKeys:
    """The Bot Framework's token signing keys, from its OpenID metadata, cached."""

    def __init__(self, metadata_url: str, session: Callable[[], aiohttp.ClientSession], *,
                 cache_seconds: float = 24 * 3600, min_refresh_seconds: float = 60,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.metadata_url = metadata_url
        self._session = session
        self._cache_seconds = cache_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def get(self, kid: str) -> SigningKey | None:
        if self._stale() or (kid not in self._keys and self._may_refresh()):
            async with self._lock:
                if self._stale() or (kid not in self._keys and self._may_refresh()):
                    await self._fetch()
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self._cache_seconds

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._min_refresh

    async def _fetch(self) -> None:
        session = self._session()
        metadata = await _get_json(session, self.metadata_url)
        jwks = await _get_json(session, str(metadata["jwks_uri"]))
        keys: dict[str, SigningKey] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") != "RSA" or not jwk.get("kid"):
                continue
            endorsements = jwk.get("endorsements")
            keys[jwk["kid"]] = SigningKey(
                RSAAlgorithm.from_jwk(jwk),
                tuple(endorsements) if isinstance(endorsements, list) else None)
        self._keys = keys
        self._fetched_at = self._clock()
        self.fetches += 1


async def verify_activity(authorization: str | None, activity: dict[str, Any],
                          keys: SigningKeys, settings: TeamsSettings) -> dict[str, Any]:
    """The token's claims, or AuthError with the reason (for logs, never for the caller)."""
    token = bearer_token(authorization)
    if token is None or not token.strip():
        raise AuthError("no bearer token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise AuthError(f"malformed token: {error}") from None
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise AuthError(f"algorithm {header.get('alg')!r} not allowed")
    kid = header.get("kid")
    signing_key = await keys.get(str(kid)) if kid else None
    if signing_key is None:
        raise AuthError(f"unknown signing key {kid!r}")
    channel = activity.get("channelId")
    if signing_key.endorsements is not None and channel not in signing_key.endorsements:
        raise AuthError(f"key {kid} is not endorsed for channel {channel!r}")
    try:
        claims = jwt.decode(token, signing_key.key, algorithms=list(ALLOWED_ALGORITHMS),
                            audience=settings.app_id, issuer=settings.issuer,
                            leeway=CLOCK_SKEW_SECONDS,
                            options={"require": ["exp", "iss", "aud"]})
    except jwt.PyJWTError as error:
        raise AuthError(f"token rejected: {error}") from None
    claimed = str(claims.get("serviceurl") or claims.get("serviceUrl") or "").rstrip("/")
    actual = str(activity.get("serviceUrl") or "").rstrip("/")
    if not claimed or claimed != actual:
        raise AuthError(f"serviceUrl {actual!r} does not match the token's {claimed!r}")
    return claims


class TokenProvider:
    """Bot tokens (client credentials) for calling the connector, cached until they expire."""

    def __init__(self, settings: TeamsSettings, session: Callable[[], aiohttp.ClientSession],
                 *, clock: Callable[[], float] = time.monotonic,
                 scope: str = BOT_FRAMEWORK_SCOPE) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._scope = scope
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def token(self) -> str:
        if self._token and self._clock() < self._expires_at:
            return self._token
        async with self._lock:
            if not self._token or self._clock() >= self._expires_at:
                await self._fetch()
        assert self._token is not None
        return self._token

    def forget(self) -> None:
        """Drop the cached token (after the connector refused it)."""
        self._token = None

    async def _fetch(self) -> None:
        form = {"grant_type": "client_credentials", "client_id": self._settings.app_id,
                "client_secret": self._settings.app_password, "scope": self._scope}
        async with self._session().post(self._settings.token_url, data=form) as response:
            body = await response.json(content_type=None)
            if response.status != 200 or "access_token" not in body:
                raise RuntimeError(f"token endpoint answered {response.status}: "
                                   f"{body.get('error') if isinstance(body, dict) else body}")
        lifetime = float(body.get("expires_in", 3600))
        # Renew a little early (5 minutes, or a tenth of a short lifetime).
        self._expires_at = self._clock() + lifetime - min(300.0, lifetime / 10)
        self._token = str(body["access_token"])
        self.fetches += 1


# ---------------------------------------------------------------------------------------------
# Activities


@dataclass(frozen=True)
class TeamsMessage:
    dedupe_key: str
    text: str
    tenant_id: str
    aad_object_id: str
    activity: dict[str, Any]
    # Said in a team channel or group chat, not the personal scope: others read the answer.
    shared: bool = False

    def identity(self, email: str | None) -> ChatIdentity:
        return identity.teams(self.tenant_id, self.aad_object_id, email)


@dataclass(frozen=True)
class Ignored:
    reason: str


def tenant_of(activity: dict[str, Any]) -> str | None:
    conversation = activity.get("conversation") or {}
    tenant = ((activity.get("channelData") or {}).get("tenant") or {}).get("id")
    return conversation.get("tenantId") or tenant


def clean_text(text: str) -> str:
    without_mentions = _AT_MENTION.sub(" ", text)
    return " ".join(html.unescape(_TAG.sub(" ", without_mentions)).split())


def parse_activity(activity: dict[str, Any]) -> TeamsMessage | Ignored:
    if activity.get("type") != "message":
        return Ignored(f"activity type {activity.get('type')!r}")
    value = activity.get("value")
    if isinstance(value, dict) and isinstance(value.get(PAYLOAD_KEY), str):
        text = value[PAYLOAD_KEY]  # an Adaptive Card button (Action.Submit)
    else:
        text = clean_text(str(activity.get("text") or ""))
    tenant = tenant_of(activity)
    aad = (activity.get("from") or {}).get("aadObjectId")
    conversation = (activity.get("conversation") or {}).get("id")
    if not (tenant and aad and conversation and activity.get("id")):
        return Ignored("message without tenant, AAD user, conversation or id")
    if not text:
        return Ignored("empty message")
    scope = (activity.get("conversation") or {}).get("conversationType")
    return TeamsMessage(f"activity:{conversation}:{activity['id']}", text, str(tenant), str(aad),
                        activity, shared=scope != "personal")


def reply_url(activity: dict[str, Any]) -> str:
    base = str(activity["serviceUrl"]).rstrip("/")
    conversation = quote(str(activity["conversation"]["id"]), safe="")
    activity_id = quote(str(activity["id"]), safe="")
    return f"{base}/v3/conversations/{conversation}/activities/{activity_id}"


def member_url(activity: dict[str, Any]) -> str:
    base = str(activity["serviceUrl"]).rstrip("/")
    conversation = quote(str(activity["conversation"]["id"]), safe="")
    member = quote(str(activity["from"]["id"]), safe="")
    return f"{base}/v3/conversations/{conversation}/members/{member}"


def member_email(member: dict[str, Any], aad_object_id: str) -> tuple[str | None, str | None]:
    """(email, name) from the connector's TeamsChannelAccount, if it is the same AAD user."""
    if member.get("aadObjectId") != aad_object_id:
        return None, None
    email = member.get("email") or member.get("userPrincipalName")
    return (str(email).lower() if email and "@" in str(email) else None,
            member.get("name") or member.get("givenName"))


def adaptive_card(text: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": text, "wrap": True}] if text else [],
            "actions": [{"type": "Action.Submit", "title": _title(b),
                         "data": {PAYLOAD_KEY: _payload(b)}} for b in buttons],
        },
    }


def _title(button: dict[str, Any]) -> str:
    return str(button.get("title") or button.get("payload"))


def _payload(button: dict[str, Any]) -> str:
    return str(button.get("payload") or button.get("title"))


def render_replies(message: dict[str, Any], incoming: dict[str, Any],
                   buttons_style: str = "card") -> list[dict[str, Any]]:
    """Bot Framework activities answering `incoming` for one Rasa bot message."""
    base = {
        "type": "message",
        "from": incoming.get("recipient"),
        "recipient": incoming.get("from"),
        "conversation": incoming.get("conversation"),
        "replyToId": incoming.get("id"),
    }
    text = str(message.get("text") or "")
    buttons = [b for b in (message.get("buttons") or message.get("quick_replies") or [])
               if b.get("payload") or b.get("title")]
    activity: dict[str, Any] = dict(base)
    if buttons and buttons_style == "card":
        activity["attachments"] = [adaptive_card(text, buttons)]
        activity["summary"] = text[:200]
    else:
        activity.update(text=text, textFormat="markdown")
        if buttons:
            activity["suggestedActions"] = {
                "to": [str((incoming.get("from") or {}).get("id"))],
                "actions": [{"type": "imBack", "title": _title(b), "value": _payload(b)}
                            for b in buttons]}
    if message.get("image"):
        activity.setdefault("attachments", []).append(
            {"contentType": "image/png", "contentUrl": str(message["image"])})
    replies = [activity] if (text or buttons or message.get("image")) else []
    custom = message.get("custom")
    if isinstance(custom, dict) and (custom.get("attachments") or custom.get("text")):
        replies.append({**base, **{k: custom[k] for k in ("text", "attachments")
                                   if k in custom}})
    return replies


# ---------------------------------------------------------------------------------------------
# Proactive messages: the conversation reference kept from the person's last activity.

REFERENCE_KEY = "teams_reference"
_REFERENCE_FIELDS = ("serviceUrl", "channelId", "conversation", "recipient", "from")


def conversation_reference(activity: dict[str, Any]) -> dict[str, Any]:
    """What a proactive message needs of an activity (Bot Framework's ConversationReference):
    where the connector is, the conversation, the bot and the person."""
    return {field: activity[field] for field in _REFERENCE_FIELDS if field in activity}


def latest_reference(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The reference of the person's last message in a tracker's events (newest last)."""
    for event in reversed(events):
        if event.get("event") == "user":
            reference = (event.get("metadata") or {}).get(REFERENCE_KEY)
            if isinstance(reference, dict) and reference.get("serviceUrl"):
                return reference
    return None


def proactive_url(reference: dict[str, Any]) -> str:
    base = str(reference["serviceUrl"]).rstrip("/")
    conversation = quote(str(reference["conversation"]["id"]), safe="")
    return f"{base}/v3/conversations/{conversation}/activities"


def proactive_activities(message: dict[str, Any], reference: dict[str, Any],
                         buttons_style: str = "card") -> list[dict[str, Any]]:
    """The activities of one bot message sent unasked into a referenced conversation."""
    activities = render_replies(message, reference, buttons_style)
    for activity in activities:
        activity.pop("replyToId", None)
    return activities
