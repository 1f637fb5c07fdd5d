"""The Slack channel's tokens per workspace, asked from the real backend app over HTTP (both
databases): the installed workspace's own token, the fallback for a workspace without
installation, nothing without a fallback, the last token known while the backend is down, and an
uninstall that reaches the backend and is forgotten at once."""

from __future__ import annotations

from sqlalchemy import select

from backend.api.app import create_app
from backend.models import Organisation
from backend.services.slack.settings import SlackAppSettings
from backend.settings import Settings
from channels.slack_workspaces import Workspaces
from contracts.settings import BackendSettings, SlackSettings
from tests.backend import factories
from tests.backend.test_slack_installs import install

SERVICE_TOKEN = "workspaces-test-service-token"
KEYS = "slack-test-key-0123456789abcdefghijklmnop"  # the key tests/backend/... sealed with


async def workspaces_for(aiohttp_server, db, **slack) -> tuple[Workspaces, object]:
    app = create_app(db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN),
                     slack_settings=SlackAppSettings(SLACK_TOKEN_KEYS=KEYS))
    server = await aiohttp_server(app)
    backend = BackendSettings(url=str(server.make_url("")), service_token=SERVICE_TOKEN)
    settings = SlackSettings.load({"signing_secret": "s", **slack}, {})
    return Workspaces(settings, backend), server


async def test_each_workspace_gets_its_own_token_and_others_the_fallback(aiohttp_server, db):
    acme = factories.register_organisation(db, "Acme")
    install(db, acme, "TACME", "xoxb-acme")
    workspaces, _ = await workspaces_for(aiohttp_server, db, bot_token="xoxb-fallback")

    assert await workspaces.token("TACME", "U1") == "xoxb-acme"
    assert await workspaces.token("TNOBODY", "U1") == "xoxb-fallback"
    assert await workspaces.token("not a team", "U1") is None


async def test_without_a_fallback_an_unknown_workspace_is_not_reached(aiohttp_server, db):
    workspaces, _ = await workspaces_for(aiohttp_server, db)
    assert await workspaces.token("TNOBODY", "U1") is None


async def test_the_last_token_known_serves_while_the_backend_is_down(aiohttp_server, db):
    acme = factories.register_organisation(db, "Acme")
    install(db, acme, "TACME", "xoxb-acme")
    workspaces, server = await workspaces_for(aiohttp_server, db, token_cache_seconds=0)
    assert await workspaces.token("TACME", "U1") == "xoxb-acme"

    await server.close()

    assert await workspaces.token("TACME", "U1") == "xoxb-acme"


async def test_an_uninstall_disconnects_in_the_backend_and_is_forgotten_at_once(aiohttp_server,
                                                                               db):
    acme = factories.register_organisation(db, "Acme")
    install(db, acme, "TACME", "xoxb-acme")
    workspaces, _ = await workspaces_for(aiohttp_server, db, token_cache_seconds=3600)
    assert await workspaces.token("TACME", "U1") == "xoxb-acme"

    await workspaces.uninstalled("TACME", "app_uninstalled")

    assert await workspaces.token("TACME", "U1") is None
    with db.reader() as session:
        assert session.scalar(select(Organisation.slack_team_id).where(
            Organisation.id == acme.organisation_id)) is None
