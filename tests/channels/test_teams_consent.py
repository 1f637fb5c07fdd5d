""""Connect Microsoft Teams" over HTTP (both databases): an admin signed in to the portal starts
it, the Microsoft login stand-in's admin-consent page sends the browser back as Microsoft does
(admin_consent=True&tenant=...&state=..., or error=...&error_description=...), and the tenant is
the organisation's; the Teams channel's question (is a tenant connected?) is answered from it.
Forged, replayed, expired and other admins' states, a declined consent and a tenant of another
organisation are refused with a page saying so, and nothing changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.api import portal_auth
from backend.api.app import create_app
from backend.domain.enums import Role
from backend.models import Organisation, TeamsConsentState
from backend.models.base import utcnow
from backend.services.portal import PortalSettings
from backend.services.teams.settings import TeamsAppSettings
from backend.settings import Settings
from tests.backend import factories
from tests.channels.portal_browser import ORIGIN, Browser
from tests.channels.standins import BotFrameworkLogin
from tests.stack import free_port

SERVICE_TOKEN = "teams-consent-service-token"
APP_ID = "22222222-3333-4444-5555-666666666666"
ACME_TENANT = "aaaaaaaa-0000-1111-2222-333333333333"
GLOBEX_TENANT = "bbbbbbbb-0000-1111-2222-333333333333"


class World:
    def __init__(self, open_browser, login: BotFrameworkLogin, db, clock: list) -> None:
        self.open_browser = open_browser
        self.login = login
        self.db = db
        self.clock = clock

    def tenant_of(self, organisation_id: int) -> str | None:
        with self.db.reader() as session:
            return session.scalar(select(Organisation.teams_tenant_id).where(
                Organisation.id == organisation_id))


@pytest.fixture
async def world(aiohttp_client, aiohttp_server, db) -> AsyncIterator[World]:
    login = BotFrameworkLogin(APP_ID, "unused-password")
    login_server = await aiohttp_server(login.app)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    login.redirect_uris.add(f"{base}/teams/consent/callback")
    app = create_app(
        db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN),
        portal_settings=PortalSettings(PORTAL_DEV_LOGIN="true", WEB_ALLOWED_ORIGINS=ORIGIN,
                                       PUBLIC_BASE_URL=base),
        teams_settings=TeamsAppSettings(TEAMS_APP_ID=APP_ID, PUBLIC_BASE_URL=base,
                                        TEAMS_LOGIN_URL=str(login_server.make_url("/"))))
    clock = [timedelta(0)]
    app[portal_auth.CLOCK_KEY] = lambda: utcnow() + clock[0]
    client = await aiohttp_client(app, server_kwargs={"port": port})
    opened: list[Browser] = []

    async def open_browser(member_id: int) -> Browser:
        browser = Browser(client)
        opened.append(browser)
        status, _ = await browser.post("/portal/api/dev-login", {"member_id": member_id})
        assert status == 200
        await browser.state()
        return browser

    yield World(open_browser, login, db, clock)
    for browser in opened:
        await browser.close()


async def start_consent(browser: Browser) -> str:
    status, body = await browser.post("/portal/api/teams/consent")
    assert status == 200, body
    return body["consent_url"]


async def consent(browser: Browser, consent_url: str, answer: str = "accept") -> str:
    """Microsoft's consent page, then "Accept" (or "Cancel"): where Microsoft sends the browser
    back."""
    status, page, _ = await browser.get(consent_url)
    assert status == 200 and "Accept" in page, page
    link = page.split(f"id={answer} href='", 1)[1].split("'", 1)[0]
    parts = urlsplit(consent_url)
    status, _, sent_back = await browser.get(f"{parts.scheme}://{parts.netloc}{link}")
    assert status == 302
    return sent_back.headers["Location"]


async def tenant_asked(browser: Browser, tenant: str, user: str = "aad-1",
                       token: str = SERVICE_TOKEN) -> tuple[int, dict]:
    async with browser.session.get(browser.url(f"/teams/tenants/{tenant}"), headers={
            "Authorization": f"Bearer {token}",
            "X-Acting-For": f"teams:{tenant}:{user}"}) as got:
        return got.status, await got.json()


async def test_an_admin_connects_the_organisation_s_tenant_through_microsoft_s_consent(world):
    admin = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(admin.member_id)
    world.login.consenting = ACME_TENANT
    async with browser.session.get(browser.url("/portal/api/teams")) as shown:
        assert await shown.json() == {"offered": True, "connected": False, "tenant_id": None}
    assert (await tenant_asked(browser, ACME_TENANT))[1]["connected"] is False

    consent_url = await start_consent(browser)
    parts = urlsplit(consent_url)
    query = parse_qs(parts.query)
    assert parts.path == "/organizations/v2.0/adminconsent"
    assert query["client_id"] == [APP_ID]
    assert query["scope"] == ["https://api.botframework.com/.default"]
    assert query["redirect_uri"] == [browser.url("/teams/consent/callback")]
    with world.db.reader() as session:  # only the state's hash is kept
        assert session.scalar(select(TeamsConsentState.state_hash)) != query["state"][0]
    back = await consent(browser, consent_url)
    assert parse_qs(urlsplit(back).query)["admin_consent"] == ["True"]
    status, _, answer = await browser.get(back)

    assert status == 303 and answer.headers["Location"] == "/portal?teams=connected"
    assert world.tenant_of(admin.organisation_id) == ACME_TENANT
    async with browser.session.get(browser.url("/portal/api/teams")) as shown:
        assert await shown.json() == {"offered": True, "connected": True,
                                      "tenant_id": ACME_TENANT}
    assert await tenant_asked(browser, ACME_TENANT) == (
        200, {"tenant_id": ACME_TENANT, "connected": True})


@pytest.mark.parametrize("case", ["replayed", "forged", "expired", "other_admin"])
async def test_a_state_not_good_for_this_admin_now_is_refused_and_nothing_changes(world, case):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    back = await consent(browser, await start_consent(browser))
    finisher, expected = browser, {"forged": "not made here", "expired": "it has expired",
                                   "other_admin": "another admin started it"}.get(case)
    if case == "replayed":
        assert (await browser.get(back))[0] == 303
        with world.db.transaction() as session:  # so that a replay would show
            session.get(Organisation, acme.organisation_id).teams_tenant_id = None
        expected = "used already"
    elif case == "forged":
        back = back.replace("state=", "state=x")
    elif case == "expired":
        world.clock[0] = timedelta(minutes=11)
    else:
        second = factories.add_member(world.db, acme.organisation_id, role=Role.ADMIN,
                                      email="second@acme.example")
        finisher = await world.open_browser(second.member_id)

    status, page, _ = await finisher.get(back)

    assert status == 403 and expected in page and "Connect Microsoft Teams" in page
    assert world.tenant_of(acme.organisation_id) is None


async def test_a_declined_consent_gets_a_clear_page(world):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    back = await consent(browser, await start_consent(browser), answer="cancel")
    assert "error=access_denied" in back

    status, page, _ = await browser.get(back)

    assert status == 403 and "not connected" in page and "User declined" in page
    assert "administrator of your Microsoft organisation" in page
    assert world.tenant_of(acme.organisation_id) is None


async def test_a_tenant_connected_to_another_organisation_is_refused(world):
    acme = factories.register_organisation(world.db, "Acme")
    globex = factories.register_organisation(world.db, "Globex")
    world.login.consenting = ACME_TENANT
    first = await world.open_browser(acme.member_id)
    assert (await first.get(await consent(first, await start_consent(first))))[0] == 303
    second = await world.open_browser(globex.member_id)

    status, page, _ = await second.get(await consent(second, await start_consent(second)))

    assert status == 403 and "already connected to another organisation" in page
    assert world.tenant_of(globex.organisation_id) is None
    assert world.tenant_of(acme.organisation_id) == ACME_TENANT
    # Globex's own tenant is still theirs to connect.
    world.login.consenting = GLOBEX_TENANT
    assert (await second.get(await consent(second, await start_consent(second))))[0] == 303
    assert world.tenant_of(globex.organisation_id) == GLOBEX_TENANT


async def test_signed_out_the_callback_repeats_itself_from_our_page_then_refuses(world):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    back = await consent(browser, await start_consent(browser))
    stranger = Browser(browser.client)
    try:
        status, _, answer = await stranger.get(back)
        assert status == 200 and "again=1" in answer.headers["Refresh"]
        status, page, _ = await stranger.get(browser.url(
            answer.headers["Refresh"].split("url=", 1)[1]))
    finally:
        await stranger.close()
    assert status == 403 and "signed-in admin" in page
    assert world.tenant_of(acme.organisation_id) is None


async def test_a_member_cannot_start_and_the_channel_s_question_checks_its_caller(world):
    acme = factories.register_organisation(world.db, "Acme")
    member = factories.add_member(world.db, acme.organisation_id, email="m@acme.example")
    browser = await world.open_browser(member.member_id)
    status, body = await browser.post("/portal/api/teams/consent")
    assert status == 403 and body["error"]["code"] == "not_admin"
    assert (await tenant_asked(browser, ACME_TENANT, token="wrong"))[0] == 401
    async with browser.session.get(browser.url(f"/teams/tenants/{ACME_TENANT}"), headers={
            "Authorization": f"Bearer {SERVICE_TOKEN}",
            "X-Acting-For": f"teams:{GLOBEX_TENANT}:aad-1"}) as got:
        assert got.status == 403


async def test_without_a_teams_app_nothing_is_offered(aiohttp_client, db):
    acme = factories.register_organisation(db, "Acme")
    app = create_app(db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN),
                     portal_settings=PortalSettings(PORTAL_DEV_LOGIN="true",
                                                    WEB_ALLOWED_ORIGINS=ORIGIN),
                     teams_settings=TeamsAppSettings(TEAMS_APP_ID=""))
    browser = Browser(await aiohttp_client(app))
    try:
        assert (await browser.post("/portal/api/dev-login", {"member_id": acme.member_id}))[0] \
            == 200
        await browser.state()
        async with browser.session.get(browser.url("/portal/api/teams")) as shown:
            assert (await shown.json())["offered"] is False
        status, body = await browser.post("/portal/api/teams/consent")
        assert status == 403 and body["error"]["code"] == "teams_not_configured"
    finally:
        await browser.close()
