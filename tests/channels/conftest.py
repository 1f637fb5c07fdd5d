"""Session-wide stand-ins (Slack Web API, Bot Framework login and connector) and the running
stack with the Slack and Teams channels configured against them, the website widget's channel
and (from tests/stack.py) the development REST channel. The stack allows TURNS_PER_MINUTE turns
a minute per identity (CHAT_TURNS_PER_MINUTE), so that a test can exceed it in a few seconds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from backend.models import Organisation
from backend.seed import DEMO_ORGANISATION
from tests.channels.standins import BotConnector, BotFrameworkLogin, SlackWebApi, ThreadedServer
from tests.e2e.people import STAFF
from tests.stack import Stack

SLACK_SECRET = "stack-slack-signing-secret"
SLACK_TOKEN = "xoxb-stack-token"
DEMO_TEAM = "TNORTHWIND"
TEAMS_APP_ID = "11111111-2222-3333-4444-555555555555"
TEAMS_PASSWORD = "stack-teams-secret"
DEMO_TENANT = "tenant-northwind"
TURNS_PER_MINUTE = 30  # the conversations of test_conversations_slack_live.py stay under it
WEB_SECRET = "channels-stack-web-identity-secret-0123456789"
# "Add to Slack" against the stand-in (tests/channels/test_slack_workspaces_live.py).
SLACK_CLIENT_ID, SLACK_CLIENT_SECRET = "9090.8080", "stack-slack-client-secret"
SLACK_TOKEN_KEYS = "stack-slack-token-key-long-enough-0000000000"


@dataclass
class ChannelWorld:
    stack: Stack
    slack: SlackWebApi
    login: BotFrameworkLogin
    connector: BotConnector
    connector_url: str

    @property
    def slack_webhook(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/slack/webhook"

    @property
    def teams_webhook(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/teams/webhook"


@pytest.fixture(scope="session")
def channel_world(stack_factory) -> Iterator[ChannelWorld]:
    slack = SlackWebApi(SLACK_TOKEN, client_id=SLACK_CLIENT_ID,
                        client_secret=SLACK_CLIENT_SECRET)
    login = BotFrameworkLogin(TEAMS_APP_ID, TEAMS_PASSWORD)
    connector = BotConnector(login)
    servers = [ThreadedServer(app).start() for app in (slack.app, login.app, connector.app)]
    slack_server, login_server, connector_server = servers
    try:
        stack = stack_factory("channels", credentials={
            "channels.slack.SlackInput": {"signing_secret": SLACK_SECRET,
                                          "bot_token": SLACK_TOKEN},
            "channels.teams.TeamsInput": {"app_id": TEAMS_APP_ID,
                                          "app_password": TEAMS_PASSWORD},
            "channels.webchat.WebChatInput": {"socketio_path": "/socket.io"},
        }, rasa_env={
            "CHAT_TURNS_PER_MINUTE": str(TURNS_PER_MINUTE),
            "WEB_IDENTITY_SECRET": WEB_SECRET,
            "SLACK_API_BASE_URL": f"{slack_server.url}/api/",
            "TEAMS_OPENID_METADATA_URL":
                f"{login_server.url}/v1/.well-known/openidconfiguration",
            "TEAMS_TOKEN_URL": f"{login_server.url}/botframework.com/oauth2/v2.0/token",
            "TEAMS_KEY_REFRESH_SECONDS": "0",
            "TEAMS_TENANT_CACHE_SECONDS": "1",
        }, backend_env={
            "PORTAL_DEV_LOGIN": "true", "STAFF_EMAILS": STAFF,
            "SLACK_CLIENT_ID": SLACK_CLIENT_ID,
            "SLACK_CLIENT_SECRET": SLACK_CLIENT_SECRET, "SLACK_TOKEN_KEYS": SLACK_TOKEN_KEYS,
            "SLACK_OAUTH_AUTHORIZE_URL": f"{slack_server.url}/oauth/v2/authorize",
            "SLACK_API_BASE_URL": f"{slack_server.url}/api/",
            # "Connect Microsoft Teams" against the login stand-in's admin consent and
            # sign-in (tests/channels/test_teams_tenants_live.py).
            "TEAMS_APP_ID": TEAMS_APP_ID, "TEAMS_APP_PASSWORD": TEAMS_PASSWORD,
            "TEAMS_LOGIN_URL": login_server.url,
        })
        login.redirect_uris |= {f"{stack.backend_url}/teams/consent/callback",
                                f"{stack.backend_url}/teams/sign-in/callback"}
        db = stack.database()
        with db.transaction() as session:
            session.execute(update(Organisation).where(Organisation.name == DEMO_ORGANISATION)
                            .values(slack_team_id=DEMO_TEAM, teams_tenant_id=DEMO_TENANT))
        db.dispose()
        yield ChannelWorld(stack, slack, login, connector, connector_server.url)
    finally:
        for server in servers:
            server.stop()
