"""The Slack install over HTTP (both databases): an admin signed in to the portal starts "Add to
Slack", the Slack stand-in's consent page sends the browser back with a code, the backend
exchanges it (slack_sdk's oauth.v2.access) and welcomes the admin with the new token; the Slack
channel's routes give the token out and disconnect the workspace; forged, replayed and other
admins' states are refused with a page saying so. The admin's "Disconnect Slack" forgets the
workspace as Slack's uninstall does (its token deleted); a member, another organisation's admin
and a workspace not the organisation's are refused, and with nothing connected it changes
nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from backend.api.app import create_app
from backend.domain.enums import Role
from backend.models import AuditEvent, ChatIdentity, Organisation
from backend.services.portal import PortalSettings
from backend.services.slack.settings import SlackAppSettings
from backend.settings import Settings
from tests.backend import factories
from tests.channels.portal_browser import ORIGIN, Browser, Browsers
from tests.channels.standins import SlackWebApi
from tests.stack import free_port

SERVICE_TOKEN = "slack-install-service-token"
CLIENT_ID, CLIENT_SECRET = "111.222", "slack-client-secret"
KEYS = "slack-install-test-key-0123456789abcdefghij"


class World:
    def __init__(self, browser_factory, slack: SlackWebApi, db) -> None:
        self.open_browser = browser_factory
        self.slack = slack
        self.db = db


@pytest.fixture
async def world(aiohttp_client, aiohttp_server, db) -> AsyncIterator[World]:
    slack = SlackWebApi("xoxb-unused", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    slack_server = await aiohttp_server(slack.app)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN),
        portal_settings=PortalSettings(PORTAL_DEV_LOGIN="true", WEB_ALLOWED_ORIGINS=ORIGIN,
                                       PUBLIC_BASE_URL=base),
        slack_settings=SlackAppSettings(
            SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_TOKEN_KEYS=KEYS,
            SLACK_OAUTH_AUTHORIZE_URL=str(slack_server.make_url("/oauth/v2/authorize")),
            SLACK_API_BASE_URL=str(slack_server.make_url("/api/")), PUBLIC_BASE_URL=base))
    client = await aiohttp_client(app, server_kwargs={"port": port})
    browsers = Browsers()

    async def open_browser(member_id: int) -> Browser:
        return await browsers.signed_in(client, member_id)

    yield World(open_browser, slack, db)
    await browsers.close()


async def start_install(browser: Browser) -> str:
    status, body = await browser.post("/portal/api/slack/install")
    assert status == 200, body
    return body["authorize_url"]


async def consent(browser: Browser, authorize_url: str) -> str:
    """Slack's consent page, then "Allow": where Slack sends the browser back."""
    status, page, _ = await browser.get(authorize_url)
    assert status == 200 and "Allow" in page
    allow = page.split("href='", 1)[1].split("'", 1)[0]
    status, _, answer = await browser.get(str(answer_url(authorize_url, allow)))
    assert status == 302
    return answer.headers["Location"]


def answer_url(authorize_url: str, path: str) -> str:
    parts = urlsplit(authorize_url)
    return f"{parts.scheme}://{parts.netloc}{path}"


async def token_of(browser: Browser, team: str, user: str = "U1", token: str = SERVICE_TOKEN):
    async with browser.session.get(browser.url(f"/slack/workspaces/{team}/token"), headers={
            "Authorization": f"Bearer {token}", "X-Acting-For": f"slack:{team}:{user}"}) as got:
        return got.status, await got.json()


async def test_an_admin_adds_the_app_and_the_workspace_is_the_organisation_s(world):
    admin = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(admin.member_id)
    world.slack.installing = ("TACME", "Acme HQ", "UADMIN")
    world.slack.add_user("TACME", "UADMIN", "admin@acme.example", "Ada Admin")

    status, shown, _ = await browser.get(browser.url("/portal/api/slack"))
    assert status == 200 and '"connected": false' in shown
    authorize_url = await start_install(browser)
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["client_id"] == [CLIENT_ID]
    assert "users:read.email" in query["scope"][0].split(",")
    back = await consent(browser, authorize_url)
    status, _, answer = await browser.get(back)

    assert status == 303 and answer.headers["Location"] == "/portal?slack=connected"
    [exchange] = world.slack.exchanges
    with world.db.reader() as session:
        assert session.get(Organisation, admin.organisation_id).slack_team_id == "TACME"
        stored = session.execute(text("SELECT bot_token_sealed FROM slack_installations")
                                 ).scalar_one()
    assert exchange["token"] not in stored and exchange["token"].split("-")[-1] not in stored
    # The welcome message went to the installing admin with the workspace's own token.
    [welcome] = world.slack.posts_to("DUADMIN")
    assert "connected to Acme" in welcome["text"]
    assert world.slack.tokens_posting_to("DUADMIN") == [exchange["token"]]
    async with browser.session.get(browser.url("/portal/api/slack")) as shown:
        assert (await shown.json())["team_name"] == "Acme HQ"
    status, token = await token_of(browser, "TACME")
    assert status == 200 and token["bot_token"] == exchange["token"]
    assert token["bot_user_id"] == "UBOTTACME"


async def test_a_replayed_or_forged_state_is_refused_with_a_page(world):
    admin = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(admin.member_id)
    world.slack.installing = ("TACME", "Acme HQ", "UADMIN")
    back = await consent(browser, await start_install(browser))
    assert (await browser.get(back))[0] == 303

    status, page, _ = await browser.get(back)  # the same answer again

    assert status == 403 and "used already" in page
    forged = back.replace("state=", "state=x")
    status, page, _ = await browser.get(forged)
    assert status == 403 and "not made here" in page
    assert len(world.slack.exchanges) == 1


async def test_another_admin_cannot_finish_an_install_started_by_someone_else(world):
    admin = factories.register_organisation(world.db, "Acme")
    second = factories.add_member(world.db, admin.organisation_id, role=Role.ADMIN,
                                  email="second@acme.example")
    starter = await world.open_browser(admin.member_id)
    other = await world.open_browser(second.member_id)
    world.slack.installing = ("TACME", "Acme HQ", "UADMIN")
    back = await consent(starter, await start_install(starter))

    status, page, _ = await other.get(back)

    assert status == 403 and "another admin started it" in page
    assert world.slack.exchanges == []
    with world.db.reader() as session:
        assert session.get(Organisation, admin.organisation_id).slack_team_id is None


async def test_signed_out_the_callback_repeats_itself_from_our_page_then_refuses(world):
    admin = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(admin.member_id)
    world.slack.installing = ("TACME", "Acme HQ", "UADMIN")
    back = await consent(browser, await start_install(browser))
    stranger = Browser(browser.client)
    try:
        status, page, answer = await stranger.get(back)
        assert status == 200 and "again=1" in answer.headers["Refresh"]
        status, page, _ = await stranger.get(answer_url(back, answer.headers["Refresh"]
                                                        .split("url=", 1)[1]))
    finally:
        await stranger.close()
    assert status == 403 and "signed-in admin" in page
    assert world.slack.exchanges == []


async def test_a_member_cannot_start_an_install(world):
    admin = factories.register_organisation(world.db, "Acme")
    member = factories.add_member(world.db, admin.organisation_id, email="m@acme.example")
    browser = await world.open_browser(member.member_id)
    status, body = await browser.post("/portal/api/slack/install")
    assert status == 403 and body["error"]["code"] == "not_admin"


async def test_a_workspace_of_another_organisation_is_refused(world):
    acme = factories.register_organisation(world.db, "Acme")
    globex = factories.register_organisation(world.db, "Globex")
    world.slack.installing = ("TSHARED", "Shared", "UADMIN")
    first = await world.open_browser(acme.member_id)
    assert (await first.get(await consent(first, await start_install(first))))[0] == 303
    second = await world.open_browser(globex.member_id)

    status, page, _ = await second.get(await consent(second, await start_install(second)))

    assert status == 403 and "already connected to another organisation" in page
    with world.db.reader() as session:
        assert session.scalar(select(Organisation.slack_team_id).where(
            Organisation.id == globex.organisation_id)) is None


async def test_the_channel_s_routes_check_their_caller_and_uninstall_disconnects(world):
    admin = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(admin.member_id)
    world.slack.installing = ("TACME", "Acme HQ", "UADMIN")
    assert (await browser.get(await consent(browser, await start_install(browser))))[0] == 303

    assert (await token_of(browser, "TACME", token="wrong"))[0] == 401
    async with browser.session.get(browser.url("/slack/workspaces/TACME/token"), headers={
            "Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-For": "slack:TOTHER:U1"}) as got:
        assert got.status == 403
    async with browser.session.post(
            browser.url("/slack/workspaces/TACME/uninstall"), json={"reason": "app_uninstalled"},
            headers={"Authorization": f"Bearer {SERVICE_TOKEN}",
                     "X-Acting-For": "slack:TACME:USLACKBOT"}) as gone:
        assert gone.status == 200 and (await gone.json())["was_installed"] is True

    status, body = await token_of(browser, "TACME")
    assert status == 404 and body["error"]["code"] == "not_installed"
    with world.db.reader() as session:
        assert session.get(Organisation, admin.organisation_id).slack_team_id is None


async def disconnect(browser: Browser, team: str, **sent) -> tuple[int, dict]:
    return await browser.post("/portal/api/slack/disconnect", {"team_id": team}, **sent)


async def test_an_admin_disconnects_the_workspace_and_can_add_it_again(world):
    admin = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(admin.member_id)
    world.slack.installing = ("TACME", "Acme HQ", "UADMIN")
    assert (await browser.get(await consent(browser, await start_install(browser))))[0] == 303
    with world.db.transaction() as session:  # someone of the workspace, linked
        session.add(ChatIdentity(channel="slack", external_id="TACME:U1",
                                 member_id=admin.member_id))

    status, body = await disconnect(browser, "TACME")

    assert status == 200 and body == {"team_id": "TACME", "was_connected": True}
    status, body = await token_of(browser, "TACME")  # the token deleted
    assert status == 404 and body["error"]["code"] == "not_installed"
    async with browser.session.get(browser.url("/portal/api/slack")) as shown:
        assert (await shown.json())["connected"] is False
    with world.db.reader() as session:
        assert session.get(Organisation, admin.organisation_id).slack_team_id is None
        assert session.scalar(text("SELECT count(*) FROM slack_installations")) == 0
        assert session.scalar(select(ChatIdentity.id).where(
            ChatIdentity.external_id == "TACME:U1")) is None
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor == f"member:{admin.member_id}")).all()
    assert "workspace.disconnected" in actions and "slack.uninstalled" in actions
    # Nothing connected now: a clear answer that nothing changed.
    assert await disconnect(browser, "TACME") == (
        200, {"team_id": "TACME", "was_connected": False})
    # Slack's own uninstall event, coming later, finds nothing left.
    async with browser.session.post(
            browser.url("/slack/workspaces/TACME/uninstall"), json={"reason": "app_uninstalled"},
            headers={"Authorization": f"Bearer {SERVICE_TOKEN}",
                     "X-Acting-For": "slack:TACME:USLACKBOT"}) as gone:
        assert gone.status == 200 and (await gone.json())["was_installed"] is False
    # And "Add to Slack" connects it again.
    assert (await browser.get(await consent(browser, await start_install(browser))))[0] == 303
    assert (await token_of(browser, "TACME"))[0] == 200


async def test_only_the_organisation_s_admin_can_disconnect_its_workspace(world):
    acme = factories.register_organisation(world.db, "Acme")
    globex = factories.register_organisation(world.db, "Globex")
    member = factories.add_member(world.db, acme.organisation_id, email="m@acme.example")
    world.slack.installing = ("TACME", "Acme HQ", "UADMIN")
    admin = await world.open_browser(acme.member_id)
    assert (await admin.get(await consent(admin, await start_install(admin))))[0] == 303

    member_browser = await world.open_browser(member.member_id)
    status, body = await disconnect(member_browser, "TACME")
    assert status == 403 and body["error"]["code"] == "not_admin"
    assert "disconnect Slack" in body["error"]["message"]
    other = await world.open_browser(globex.member_id)
    status, body = await disconnect(other, "TACME")
    assert status == 404 and body["error"]["code"] == "not_connected"
    status, body = await disconnect(admin, "TOTHER")  # not the workspace connected now
    assert status == 404 and body["error"]["code"] == "not_connected"
    assert (await disconnect(admin, "TACME", origin="https://evil.example"))[1][
        "error"]["code"] == "bad_origin"
    assert (await disconnect(admin, "TACME", csrf=False))[1]["error"]["code"] == "bad_csrf"

    assert (await token_of(admin, "TACME"))[0] == 200
    with world.db.reader() as session:
        assert session.get(Organisation, acme.organisation_id).slack_team_id == "TACME"
