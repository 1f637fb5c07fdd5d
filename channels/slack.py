"""Slack input and output channel for Rasa: POST /webhooks/slack/webhook (Events API and
interactivity share the address).

Every request must carry a valid Slack signature (else 401, nothing else happens). Slack gets its
answer at once; the message is handled in the background (Slack wants an answer within 3 s), as
channels/verified_input.py does for every webhook connector. Deliveries Slack retries
(X-Slack-Retry-Num) are recognised by event id and handled once. Replies go through
chat.postMessage with buttons as Block Kit actions; a click comes back as the button's payload,
said by the person who clicked.

Private by default: the bot converses only in direct messages. A mention in a channel (or a
click on a message there) gets a short public pointer in the channel's thread, POINTER, and is
answered in the person's DM (conversations.open, then chat.postMessage to it); nothing else is
said in the channel. Pushes (notifications the dispatcher sends through Rasa) go to the DM the
same way (`get_output_channel`, channels/push.py).

Per workspace: every call to Slack (users.info, replies, pointers, pushes) carries the bot token
of the workspace of that conversation, which the backend keeps for each workspace that installed
the app (channels/slack_workspaces.py; the team is in the identity "slack:T..:U.."). A workspace
no token reaches is not answered (logged). Slack's app_uninstalled and tokens_revoked events
(signed like every request) disconnect the workspace in the backend.

Settings (contracts/settings.py, SlackSettings): credentials.yml keys under
`channels.slack.SlackInput` (the variable's name in lower case without SLACK_, e.g.
`signing_secret`), else these environment variables:

| environment variable        | default                | meaning                                   |
|-----------------------------|------------------------|-------------------------------------------|
| SLACK_SIGNING_SECRET        | required               | the app's signing secret                  |
| SLACK_BOT_TOKEN             | none                   | token of workspaces without installation  |
| SLACK_API_BASE_URL          | https://slack.com/api/ | Slack Web API address (tests: a stand-in) |
| SLACK_TOKEN_CACHE_SECONDS   | 60                     | how long a workspace's token is kept      |
| SLACK_DEDUPE_REDIS_URL      | none: in memory        | share handled event ids between servers   |
| SLACK_DEDUPE_TTL_SECONDS    | 3600                   | how long handled event ids are kept       |
| SLACK_PROFILE_CACHE_SECONDS | 600                    | how long users.info answers are kept      |
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.dedupe import build_deduplicator
from channels.identity import IdentityClient, VerifiedUser
from channels.output import WholeMessageOutput
from channels.push import PushFailed, PushOutput, build_ledger
from channels.slack_protocol import (
    NO_DIRECT_MESSAGE,
    POINTER,
    Ignored,
    IncomingMessage,
    SignatureError,
    SlackUser,
    UrlVerification,
    WorkspaceGone,
    parse_request,
    render_message,
    user_from_info,
    verify_signature,
)
from channels.slack_workspaces import NotInstalled, Workspaces
from channels.verified_input import Refused, WebhookInput
from contracts.backend_client import BackendError, BackendUnavailable
from contracts.identity import SLACK, ChatIdentity
from contracts.settings import SlackSettings

log = logging.getLogger(__name__)



def slack_error(error: SlackApiError) -> str:
    data = getattr(error.response, "data", None)
    return str(data.get("error")) if isinstance(data, dict) else str(error)


class SlackOutput(WholeMessageOutput):
    """Posts to one Slack conversation (and thread, when the person wrote in one)."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str | None = None):
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts

    @classmethod
    def name(cls) -> str:
        return "slack"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        for post in render_message(dict(message)):
            await self.post(**post)

    async def post(self, **arguments: Any) -> None:
        if self.thread_ts:
            arguments["thread_ts"] = self.thread_ts
        try:
            await self.client.chat_postMessage(channel=self.channel, **arguments)
        except SlackApiError as error:
            log.error("chat.postMessage to %s failed: %s", self.channel, slack_error(error))


class SlackInput(WebhookInput[IncomingMessage]):
    title = "Slack"
    incoming_type = IncomingMessage

    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        settings = SlackSettings.load(credentials)
        if settings.missing():
            # Rasa still starts (development without Slack); every request is refused.
            log.error("The Slack channel is disabled: set %s (credentials.yml or environment).",
                      ", ".join(settings.missing()))
        return cls(settings)

    def __init__(self, settings: SlackSettings, identities: IdentityClient | None = None):
        super().__init__(build_deduplicator(settings.dedupe_redis_url,
                                            settings.dedupe_ttl_seconds, "slack:"), identities)
        self.settings = settings
        self.workspaces = Workspaces(settings, self.identities.settings)
        self._profiles: dict[str, tuple[float, SlackUser | None]] = {}
        self.pushes = build_ledger("slack")

    async def client(self, team_id: str, user_id: str) -> AsyncWebClient | None:
        """The workspace's client; None (logged) when no token reaches the workspace."""
        try:
            return await self.workspaces.client(team_id, user_id)
        except NotInstalled:
            log.warning("Slack workspace %s has not installed the app (or uninstalled it); "
                        "a message of %s is not answered.", team_id, user_id)
            return None

    def missing_settings(self) -> list[str]:
        return self.settings.missing()

    async def accept(self, request: Request) -> IncomingMessage | HTTPResponse:
        body = request.body or b""
        try:
            verify_signature(self.settings.signing_secret,
                             request.headers.get("X-Slack-Request-Timestamp"), body,
                             request.headers.get("X-Slack-Signature"))
        except SignatureError as error:
            raise Refused(401, "invalid signature", str(error)) from None
        try:
            parsed = parse_request(request.headers.get("Content-Type", ""), body)
        except ValueError as error:
            raise Refused(400, "malformed request", f"malformed: {error}") from None
        if isinstance(parsed, UrlVerification):
            return response.json({"challenge": parsed.challenge})
        if isinstance(parsed, WorkspaceGone):
            try:
                await self.workspaces.uninstalled(parsed.team_id, parsed.reason)
            except (BackendError, BackendUnavailable) as error:
                raise Refused(503, "try again", f"could not disconnect {parsed.team_id}: "
                              f"{error}", logging.ERROR) from None
            return response.text("")
        if isinstance(parsed, Ignored):
            log.debug("Ignored a Slack request: %s", parsed.reason)
            return response.text("")
        return parsed

    def acknowledge(self, request: Request, incoming: IncomingMessage,
                    first_time: bool) -> HTTPResponse:
        if first_time:
            return response.text("")
        log.info("Slack delivered %s again (retry %s); already handled.", incoming.dedupe_key,
                 request.headers.get("X-Slack-Retry-Num", "-"))
        return response.text("", headers={"X-Slack-No-Retry": "1"})

    async def speaker(self, incoming: IncomingMessage) -> VerifiedUser | None:
        client = await self.client(incoming.team_id, incoming.user_id)
        if client is None:
            return None
        person = await self.person(client, incoming.team_id, incoming.user_id)
        return None if person is None else VerifiedUser(person.identity, person.name)

    async def output_for(self, incoming: IncomingMessage) -> OutputChannel | None:
        client = await self.client(incoming.team_id, incoming.user_id)
        if client is None:
            return None
        in_channel = SlackOutput(client, incoming.channel_id, incoming.thread_ts)
        if not incoming.shared:
            return in_channel
        try:
            opened = await client.conversations_open(users=incoming.user_id)
            direct = str(opened["channel"]["id"])
        except (SlackApiError, KeyError, TypeError) as error:
            detail = slack_error(error) if isinstance(error, SlackApiError) else repr(error)
            log.warning("conversations.open with %s failed (%s)", incoming.user_id, detail)
            await in_channel.post(text=NO_DIRECT_MESSAGE.format(user=incoming.user_id))
            return None
        await in_channel.post(text=POINTER.format(user=incoming.user_id))
        return SlackOutput(client, direct)

    def get_output_channel(self) -> OutputChannel | None:
        """For pushes (contracts/push.py): a direct message to the person the conversation is
        with; a failure raises, so the push is tried again."""
        return PushOutput("slack", self.direct_message, self.pushes)

    async def direct_message(self, recipient_id: str, message: dict[str, Any]) -> None:
        if self.missing_settings():
            raise PushFailed("the Slack channel is not configured")
        identity = ChatIdentity.parse(recipient_id)
        if identity.channel != SLACK:
            raise ValueError(f"not a Slack conversation: {recipient_id}")
        team, _, user = identity.external_id.partition(":")
        try:
            client = await self.workspaces.client(team, user)
        except NotInstalled:
            raise PushFailed(f"Slack workspace {team} has not installed the app") from None
        opened = await client.conversations_open(users=user)
        channel = str(opened["channel"]["id"])
        for post in render_message(message):
            await client.chat_postMessage(channel=channel, **post)

    async def person(self, client: AsyncWebClient, team_id: str,
                     user_id: str) -> SlackUser | None:
        """users.info, cached for a while (Slack rate-limits it)."""
        key = f"{team_id}:{user_id}"
        cached = self._profiles.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            info = (await client.users_info(user=user_id)).data
        except SlackApiError as error:
            log.warning("users.info for %s failed (%s); no verified email.", key,
                        slack_error(error))
            info = None
        person = user_from_info(team_id, user_id, info if isinstance(info, dict) else None)
        if info is not None:  # failures are not remembered: the next message asks again
            if len(self._profiles) > 10_000:
                self._profiles.clear()
            self._profiles[key] = (time.monotonic() + self.settings.profile_cache_seconds,
                                   person)
        return person
