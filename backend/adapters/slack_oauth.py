"""Slack's side of the install, with slack_sdk: the authorize URL (AuthorizeUrlGenerator), the
code exchanged for the workspace's bot token (oauth.v2.access) and the welcome message to the
installing admin (conversations.open + chat.postMessage with the new token). The addresses are
settings (SLACK_OAUTH_AUTHORIZE_URL, SLACK_API_BASE_URL), so tests use a local stand-in."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.web.async_client import AsyncWebClient

from backend.services.slack.installs import Installed
from backend.services.slack.settings import BOT_SCOPES, SlackAppSettings

log = logging.getLogger("backend.slack")

WELCOME = ("Hello! I'm now connected to {organisation} in this workspace. People of your "
           "organisation can send me a direct message to find a therapist and book the sessions "
           "{organisation} pays for; admins can ask me about authorisations, invites and spend.")


class SlackOAuthError(Exception):
    """Slack refused the exchange, or answered something else than a bot install."""


def authorize_url(settings: SlackAppSettings, state: str) -> str:
    generator = AuthorizeUrlGenerator(client_id=settings.client_id,
                                      redirect_uri=settings.redirect_uri,
                                      scopes=list(BOT_SCOPES),
                                      authorization_url=settings.authorize_url)
    return generator.generate(state)


def _client(settings: SlackAppSettings, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=settings.api_url,
                          timeout=int(settings.timeout_seconds))


async def exchange(settings: SlackAppSettings, code: str) -> Installed:
    """The workspace's installation for this code (oauth.v2.access)."""
    try:
        answer = await _client(settings).oauth_v2_access(
            client_id=settings.client_id, client_secret=settings.client_secret, code=code,
            redirect_uri=settings.redirect_uri)
    except SlackApiError as error:
        raise SlackOAuthError(_error(error)) from None
    data: dict[str, Any] = answer.data if isinstance(answer.data, dict) else {}
    team = data.get("team") or {}
    installer = data.get("authed_user") or {}
    token, bot_user = data.get("access_token"), data.get("bot_user_id")
    if data.get("token_type") != "bot" or not (token and bot_user and team.get("id")
                                               and installer.get("id")):
        raise SlackOAuthError("the answer is not a bot installation")
    return Installed(team_id=str(team["id"]), team_name=team.get("name"),
                     bot_user_id=str(bot_user), bot_token=str(token),
                     installer_user_id=str(installer["id"]))


async def welcome(settings: SlackAppSettings, installed: Installed, organisation: str) -> None:
    """A direct message to the admin who installed the app; a failure is only logged."""
    client = _client(settings, installed.bot_token)
    try:
        opened = await client.conversations_open(users=installed.installer_user_id)
        channel = str(opened["channel"]["id"])
        await client.chat_postMessage(channel=channel,
                                      text=WELCOME.format(organisation=organisation))
    except (SlackApiError, KeyError, TypeError) as error:
        detail = _error(error) if isinstance(error, SlackApiError) else repr(error)
        log.warning("The welcome message in workspace %s failed: %s", installed.team_id, detail)


def _error(error: SlackApiError) -> str:
    data = getattr(error.response, "data", None)
    return str(data.get("error")) if isinstance(data, dict) else str(error)
