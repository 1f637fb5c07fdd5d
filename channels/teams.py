"""Microsoft Teams (Bot Framework) channel for Rasa: POST /webhooks/teams/webhook.

Replaces Rasa 3.6's botframework connector, which fetches Microsoft's OpenID metadata with a
blocking call at start-up, checks only the audience, posts with blocking calls and hard-codes the
token endpoint. Here every activity's JWT is fully verified (see channels/teams_protocol.py)
before anything else happens: an unsigned, forged, expired or misaddressed activity gets 401 and
reaches no conversation. Accepted activities are answered 200 at once and handled in the
background (channels/verified_input.py); replies go to the activity's serviceUrl with a cached
bot token. Pushes (notifications the dispatcher sends through Rasa) are proactive messages into
the person's last conversation with the bot: its reference (serviceUrl, conversation, bot,
person) is kept with each message's metadata in the tracker (`get_output_channel`).

Private by default: the bot converses only in the personal scope. A message in a team channel or
a group chat is answered there with POINTER alone (message the bot in a personal chat); the bot
does not run, so nothing private is said where colleagues read.

Tenants: the channel serves the tenants organisations connected from the portal ("Connect
Microsoft Teams"; channels/teams_tenants.py asks the backend, cached TEAMS_TENANT_CACHE_SECONDS),
within TEAMS_ALLOWED_TENANTS when the operator sets it. Someone of another tenant is answered in
Teams, saying that their organisation's admin connects Teams from the portal (not a 403, which
the Bot Framework would report as a failed delivery), and nothing is done for them; a message of
theirs that suggests a risk to someone's safety still reaches the bot's crisis answer.

Identity: tenant id + AAD object id ("teams:<tenant>:<aadObjectId>"); the user's email comes from
the connector's member record (GET .../conversations/{id}/members/{userId}).

Settings (contracts/settings.py, TeamsSettings): credentials.yml keys under
`channels.teams.TeamsInput` (the variable's name in lower case without TEAMS_, e.g. `app_id`),
else these environment variables:

| environment variable       | default                      | meaning                         |
|----------------------------|------------------------------|---------------------------------|
| TEAMS_APP_ID               | required                     | bot's app id (token audience)   |
| TEAMS_APP_PASSWORD         | required                     | bot's client secret             |
| TEAMS_APP_TENANT_ID        | none: multi-tenant           | single-tenant bot: its tenant   |
| TEAMS_TOKEN_URL            | see below                    | token endpoint                  |
| TEAMS_OPENID_METADATA_URL  | see below                    | where signing keys are listed   |
| TEAMS_ISSUER               | https://api.botframework.com | expected token issuer           |
| TEAMS_ALLOWED_TENANTS      | none: any connected tenant   | operator's restriction (ids)    |
| TEAMS_TENANT_CACHE_SECONDS | 60                           | how long "connected?" is kept   |
| TEAMS_BUTTONS              | card                         | card (Adaptive Card), suggested |
| TEAMS_KEY_REFRESH_SECONDS  | 60                           | least time between key fetches  |
| TEAMS_KEYS_CACHE_SECONDS   | 86400                        | how long keys are kept          |

TEAMS_TOKEN_URL defaults to https://login.microsoftonline.com/<TEAMS_APP_TENANT_ID or
botframework.com>/oauth2/v2.0/token; TEAMS_OPENID_METADATA_URL to
https://login.botframework.com/v1/.well-known/openidconfiguration.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.admission import scan_for_risk
from channels.dedupe import MemoryDeduplicator
from channels.identity import IdentityClient, VerifiedUser
from channels.output import WholeMessageOutput
from channels.push import PushFailed, PushOutput, build_ledger
from channels.teams_protocol import (
    POINTER,
    REFERENCE_KEY,
    AuthError,
    Ignored,
    SigningKeys,
    TeamsMessage,
    TokenProvider,
    conversation_reference,
    latest_reference,
    member_email,
    member_url,
    parse_activity,
    proactive_activities,
    proactive_url,
    render_replies,
    reply_url,
    verify_activity,
)
from channels.teams_tenants import Tenants
from channels.verified_input import OnNewMessage, Refused, WebhookInput
from contracts.http_session import SharedSession
from contracts.identity import bearer
from contracts.settings import TeamsSettings

log = logging.getLogger(__name__)

MICROSOFT_TIMEOUT_SECONDS = 10


class TeamsConnector:
    """Calls the Bot Framework connector at an activity's serviceUrl with the bot token."""

    def __init__(self, settings: TeamsSettings, session: SharedSession) -> None:
        self.session = session
        self.tokens = TokenProvider(settings, session)

    async def request(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        for attempt in (1, 2):
            async with self.session().request(method, url, json=body,
                                              headers=bearer(await self.tokens.token())) as answer:
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
            except (aiohttp.ClientError, RuntimeError, asyncio.TimeoutError) as error:
                log.error("Reply to Teams conversation failed: %r", error)


class TeamsInput(WebhookInput[TeamsMessage]):
    title = "Teams"
    incoming_type = TeamsMessage

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
        super().__init__(MemoryDeduplicator(ttl=3600), identities)
        self.settings = settings
        self.session = SharedSession(MICROSOFT_TIMEOUT_SECONDS)
        self.keys = SigningKeys(settings.openid_metadata_url, self.session,
                                cache_seconds=settings.keys_cache_seconds,
                                min_refresh_seconds=settings.key_refresh_seconds)
        self.connector = TeamsConnector(settings, self.session)
        self.tenants = Tenants(settings)
        self.pushes = build_ledger("teams")
        self.app: Any = None

    def missing_settings(self) -> list[str]:
        return self.settings.missing()

    async def close(self) -> None:
        await self.session.close()
        await super().close()

    async def accept(self, request: Request) -> TeamsMessage | HTTPResponse:
        try:
            activity = json.loads(request.body or b"")
        except (json.JSONDecodeError, UnicodeDecodeError):
            activity = None
        if not isinstance(activity, dict):
            raise Refused(400, "malformed activity", "not a JSON object")
        try:
            await verify_activity(request.headers.get("Authorization"), activity, self.keys,
                                  self.settings)
        except AuthError as error:
            raise Refused(401, "unauthorized", str(error)) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, ValueError) as error:
            raise Refused(503, "cannot verify now",
                          f"could not fetch the Bot Framework signing keys: {error!r}",
                          logging.ERROR) from None
        parsed = parse_activity(activity)
        if isinstance(parsed, Ignored):
            log.debug("Ignored a Teams activity: %s", parsed.reason)
            return response.json({}, status=200)
        return parsed

    def acknowledge(self, request: Request, incoming: TeamsMessage,
                    first_time: bool) -> HTTPResponse:
        return response.json({}, status=200)

    async def speaker(self, incoming: TeamsMessage) -> VerifiedUser:
        email, name = await self.profile(incoming)
        return VerifiedUser(incoming.identity(email), name)

    async def output_for(self, incoming: TeamsMessage) -> OutputChannel | None:
        output = TeamsOutput(self.connector, incoming.activity, self.settings.buttons)
        if not incoming.shared:
            return output
        await output.send_response("", {"text": POINTER})
        return None

    # --- Pushes: proactive messages into the person's last conversation ---------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        async def remember_app(app: Any, *_: Any) -> None:
            self.app = app  # its agent's tracker store holds the conversation references

        blueprint.listener("after_server_start")(remember_app)
        return blueprint

    async def deliver(self, incoming: TeamsMessage, on_new_message: OnNewMessage) -> None:
        """Serve a connected tenant (else say so: channels/teams_tenants.py); keep the
        conversation reference with each message (in the tracker), for pushes."""
        if await self.refused_tenant(incoming):
            return
        reference = conversation_reference(incoming.activity)

        async def with_reference(message: UserMessage) -> None:
            message.metadata = {**(message.metadata or {}), REFERENCE_KEY: reference}
            await on_new_message(message)

        await super().deliver(incoming, with_reference)

    async def refused_tenant(self, incoming: TeamsMessage) -> bool:
        """True when the tenant is not served and the person has been told why. A message that
        suggests a risk is never refused here: it goes on to the bot's crisis answer."""
        try:
            refusal = await self.tenants.refusal(incoming.tenant_id, incoming.aad_object_id)
            if refusal is None or (await scan_for_risk(
                    incoming.text, self.admission.settings.max_message_chars)).found:
                return False
            log.info("Teams tenant %s is not served; told the sender so", incoming.tenant_id)
            await TeamsOutput(self.connector, incoming.activity, self.settings.buttons
                              ).send_response("", {"text": refusal})
        except Exception:
            log.exception("Handling Teams message %s of tenant %s failed", incoming.dedupe_key,
                          incoming.tenant_id)
        return True

    def get_output_channel(self) -> OutputChannel | None:
        return PushOutput("teams", self.proactive, self.pushes)

    async def proactive(self, recipient_id: str, message: dict[str, Any]) -> None:
        if self.missing_settings():
            raise PushFailed("the Teams channel is not configured")
        reference = await self.reference_of(recipient_id)
        if reference is None:
            raise PushFailed(f"no Teams conversation with {recipient_id} to write into yet")
        for activity in proactive_activities(message, reference, self.settings.buttons):
            await self.connector.request("POST", proactive_url(reference), activity)

    async def reference_of(self, conversation_id: str) -> dict[str, Any] | None:
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None:
            return None
        tracker = await agent.tracker_store.retrieve(conversation_id)
        if tracker is None:
            return None
        return latest_reference([event.as_dict() for event in tracker.events])

    async def profile(self, incoming: TeamsMessage) -> tuple[str | None, str | None]:
        try:
            member = await self.connector.request("GET", member_url(incoming.activity))
        except (aiohttp.ClientError, RuntimeError, asyncio.TimeoutError) as error:
            log.warning("Teams member lookup failed (%r); no verified email.", error)
            return None, None
        return member_email(member, incoming.aad_object_id) if isinstance(member, dict) else (
            None, None)
