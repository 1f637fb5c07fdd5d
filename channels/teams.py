"""Microsoft Teams (Bot Framework) channel for Rasa: POST /webhooks/teams/webhook.

Replaces Rasa 3.6's botframework connector, which fetches Microsoft's OpenID metadata with a
blocking call at start-up, checks only the audience, posts with blocking calls and hard-codes the
token endpoint. Here every activity's JWT is fully verified (see channels/teams_protocol.py)
before anything else happens: an unsigned, forged, expired or misaddressed activity gets 401 and
reaches no conversation. Accepted activities are answered 200 at once and handled in the
background; replies go to the activity's serviceUrl with a cached bot token.

Identity: tenant id + AAD object id ("teams:<tenant>:<aadObjectId>"); the user's email comes from
the connector's member record (GET .../conversations/{id}/members/{userId}).

Settings: credentials.yml keys under `channels.teams.TeamsInput` (the variable's name in lower
case without TEAMS_, e.g. `app_id`), else these environment variables:

| environment variable      | default                      | meaning                         |
|---------------------------|------------------------------|---------------------------------|
| TEAMS_APP_ID              | required                     | bot's app id (token audience)   |
| TEAMS_APP_PASSWORD        | required                     | bot's client secret             |
| TEAMS_APP_TENANT_ID       | none: multi-tenant           | single-tenant bot: its tenant   |
| TEAMS_TOKEN_URL           | see below                    | token endpoint                  |
| TEAMS_OPENID_METADATA_URL | see below                    | where signing keys are listed   |
| TEAMS_ISSUER              | https://api.botframework.com | expected token issuer           |
| TEAMS_ALLOWED_TENANTS     | none: any tenant             | comma-separated tenant ids      |
| TEAMS_BUTTONS             | card                         | card (Adaptive Card), suggested |
| TEAMS_KEY_REFRESH_SECONDS | 60                           | least time between key fetches  |
| TEAMS_KEYS_CACHE_SECONDS  | 86400                        | how long keys are kept          |

TEAMS_TOKEN_URL defaults to https://login.microsoftonline.com/<TEAMS_APP_TENANT_ID or
botframework.com>/oauth2/v2.0/token; TEAMS_OPENID_METADATA_URL to
https://login.botframework.com/v1/.well-known/openidconfiguration.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.dedupe import BackgroundTasks, MemoryDeduplicator
from channels.identity import IdentityClient, Notices, VerifiedUser, metadata_for
from channels.output import WholeMessageOutput
from channels.redaction import redact_card_numbers
from channels.teams_protocol import (
    AuthError,
    HttpSession,
    Ignored,
    SigningKeys,
    TeamsMessage,
    TeamsSettings,
    TokenProvider,
    member_email,
    member_url,
    parse_activity,
    render_replies,
    reply_url,
    tenant_of,
    verify_activity,
)

log = logging.getLogger(__name__)


class TeamsConnector:
    """Calls the Bot Framework connector at an activity's serviceUrl with the bot token."""

    def __init__(self, settings: TeamsSettings, session: HttpSession) -> None:
        self.session = session
        self.tokens = TokenProvider(settings, session)

    async def request(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self.tokens.token()}"}
            async with self.session().request(method, url, json=body,
                                              headers=headers) as answer:
                if answer.status == 401 and attempt == 1:
                    self.tokens.forget()  # revoked or rotated: fetch a new one once
                    continue
                answer.raise_for_status()
                return await answer.json(content_type=None) if answer.content_length else None
        return None


class TeamsOutput(WholeMessageOutput):
    def __init__(self, connector: TeamsConnector, incoming: dict[str, Any], buttons: str):
        self.connector = connector
        self.incoming = incoming
        self.buttons = buttons

    @classmethod
    def name(cls) -> str:
        return "teams"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        for activity in render_replies(dict(message), self.incoming, self.buttons):
            try:
                await self.connector.request("POST", reply_url(self.incoming), activity)
            except (aiohttp.ClientError, RuntimeError, TimeoutError) as error:
                log.error("Reply to Teams conversation failed: %r", error)


class TeamsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "teams"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        settings = TeamsSettings.load(credentials)
        if settings.missing():
            # Rasa still starts (development without Teams); every request is refused.
            log.error("The Teams channel is disabled: set %s (credentials.yml or environment).",
                      ", ".join(settings.missing()))
        return cls(settings)

    def __init__(self, settings: TeamsSettings, identities: IdentityClient | None = None):
        self.settings = settings
        self.session = HttpSession()
        self.keys = SigningKeys(settings.openid_metadata_url, self.session,
                                cache_seconds=settings.keys_cache_seconds,
                                min_refresh_seconds=settings.key_refresh_seconds)
        self.connector = TeamsConnector(settings, self.session)
        self.identities = identities or IdentityClient()
        self.dedupe = MemoryDeduplicator(ttl=3600)
        self.notices = Notices()
        self.tasks = BackgroundTasks()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        teams = Blueprint("teams_webhook", __name__)

        @teams.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @teams.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        return teams

    async def receive(self, request: Request,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if self.settings.missing():
            return response.json({"error": "the Teams channel is not configured"}, status=503)
        try:
            activity = json.loads(request.body or b"")
        except (json.JSONDecodeError, UnicodeDecodeError):
            activity = None
        if not isinstance(activity, dict):
            return response.json({"error": "malformed activity"}, status=400)
        try:
            await verify_activity(request.headers.get("Authorization"), activity, self.keys,
                                  self.settings)
        except AuthError as error:
            log.warning("Refused a Teams activity: %s", error)
            return response.json({"error": "unauthorized"}, status=401)
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as error:
            log.error("Could not fetch the Bot Framework signing keys: %r", error)
            return response.json({"error": "cannot verify now"}, status=503)
        if not self.settings.tenant_allowed(tenant_of(activity)):
            log.warning("Refused a Teams activity from tenant %s (not allowed).",
                        tenant_of(activity))
            return response.json({"error": "tenant not allowed"}, status=403)
        parsed = parse_activity(activity)
        if isinstance(parsed, Ignored):
            log.debug("Ignored a Teams activity: %s", parsed.reason)
        elif await self.dedupe.first_time(parsed.dedupe_key):
            self.tasks.spawn(self.handle(parsed, on_new_message))
        return response.json({}, status=200)

    async def handle(self, incoming: TeamsMessage,
                     on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            email, name = await self.profile(incoming)
            user = VerifiedUser("teams", incoming.external_id, email, name)
            output = TeamsOutput(self.connector, incoming.activity, self.settings.buttons)
            notice = self.notices.due(await self.identities.verify(user), user.identity)
            if notice:
                await output.send_response(user.identity, {"text": notice})
            redacted = redact_card_numbers(incoming.text)
            if redacted.count:
                log.info("Redacted %d card number(s) from a Teams message.", redacted.count)
            await on_new_message(UserMessage(
                redacted.text, output, user.identity, input_channel=self.name(),
                metadata=metadata_for(user)))
        except Exception:
            log.exception("Handling Teams activity %s failed", incoming.dedupe_key)

    async def profile(self, incoming: TeamsMessage) -> tuple[str | None, str | None]:
        try:
            member = await self.connector.request("GET", member_url(incoming.activity))
        except (aiohttp.ClientError, RuntimeError, TimeoutError) as error:
            log.warning("Teams member lookup failed (%r); no verified email.", error)
            return None, None
        return member_email(member, incoming.aad_object_id) if isinstance(member, dict) else (
            None, None)
