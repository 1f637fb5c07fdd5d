"""Which bot token speaks in which Slack workspace.

Each workspace that installed the app ("Add to Slack" on the portal) has its own bot token, kept
encrypted by the backend; the channel asks for it (GET /slack/workspaces/<team>/token, with the
service credential, as someone of that workspace) and keeps it SLACK_TOKEN_CACHE_SECONDS. A
workspace the backend does not know (404) is spoken to with SLACK_BOT_TOKEN when one is set (a
single-workspace set-up, development), else not at all: the message is logged and dropped, since
no token can reach the person. When the backend cannot be asked, the last token known is used
(a crisis message is still answered). Slack's app_uninstalled / tokens_revoked events are passed
on to the backend (POST /slack/workspaces/<team>/uninstall) and the token is forgotten here.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from contracts.backend_client import BackendClient, BackendError, BackendUnavailable
from contracts.identity import ChatIdentity, slack
from contracts.settings import BackendSettings, SlackSettings

log = logging.getLogger(__name__)

TEAM_ID = re.compile(r"[TE][A-Z0-9]{1,40}")
# Slack itself, in a workspace: who the channel acts as when Slack tells about the workspace.
SLACK_ITSELF = "USLACKBOT"


class NotInstalled(Exception):
    """No token reaches this workspace."""


@dataclass
class _Known:
    token: str | None  # None: the backend says the workspace has not installed the app
    until: float


class Workspaces:
    def __init__(self, settings: SlackSettings, backend: BackendSettings | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self._known: dict[str, _Known] = {}
        self._clients: dict[str, AsyncWebClient] = {}

    def _client_for_token(self, token: str) -> AsyncWebClient:
        client = self._clients.get(token)
        if client is None:
            if len(self._clients) > 10_000:
                self._clients.clear()
            client = self._clients[token] = AsyncWebClient(token=token,
                                                           base_url=self.settings.api_base_url)
        return client

    async def client(self, team_id: str, user_id: str = SLACK_ITSELF) -> AsyncWebClient:
        """A Web API client with the workspace's token; NotInstalled when there is none."""
        token = await self.token(team_id, user_id)
        if token is None:
            raise NotInstalled(team_id)
        return self._client_for_token(token)

    async def token(self, team_id: str, user_id: str = SLACK_ITSELF) -> str | None:
        if not TEAM_ID.fullmatch(team_id):
            return None
        known = self._known.get(team_id)
        if known is not None and known.until > time.monotonic():
            return known.token or self.settings.bot_token or None
        try:
            answer = await self._backend(team_id, user_id).slack_token(team_id)
            token: str | None = answer.bot_token
        except BackendError as refused:
            if refused.status != 404:
                log.error("The backend refused the token of Slack workspace %s: %s", team_id,
                          refused.code)
            token = None
        except BackendUnavailable as error:
            log.warning("Could not ask the backend for Slack workspace %s's token (%s); using "
                        "the last one known", team_id, error)
            return (known.token if known else None) or self.settings.bot_token or None
        self._known[team_id] = _Known(token, time.monotonic()
                                      + self.settings.token_cache_seconds)
        return token or self.settings.bot_token or None

    def forget(self, team_id: str) -> None:
        self._known.pop(team_id, None)

    async def uninstalled(self, team_id: str, reason: str) -> None:
        """Slack says the app left the workspace: the backend disconnects it (raises when it
        cannot be told, so that Slack delivers the event again)."""
        self.forget(team_id)
        answer = await self._backend(team_id, SLACK_ITSELF).slack_uninstalled(team_id, reason)
        self._known[team_id] = _Known(None, time.monotonic() + self.settings.token_cache_seconds)
        log.info("Slack workspace %s: %s (it was %sinstalled)", team_id, reason,
                 "" if answer.was_installed else "not ")

    def _backend(self, team_id: str, user_id: str) -> BackendClient:
        identity: ChatIdentity = slack(team_id, user_id)
        return BackendClient(identity, self.backend)
