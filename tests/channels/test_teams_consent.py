""""Connect Microsoft Teams" over HTTP (both databases): an admin signed in to the portal starts
it, the Microsoft login stand-in's admin-consent page sends the browser back as Microsoft does
(admin_consent=True&tenant=...&state=..., or error=...&error_description=...), the admin signs in
with Microsoft (OpenID Connect with PKCE; the stand-in signs RS256 ID tokens with the issuer of
the admin's tenant, as Microsoft does), and the tenant of the verified ID token (`tid`) is the
organisation's; the Teams channel's question (is a tenant connected?) is answered from it.
The admin's "Disconnect" clears the tenant (the channel stops serving it once its cached answer
runs out; it can be connected again); a member, another organisation's admin and a tenant not the
organisation's are refused, and with nothing connected it changes nothing.
A `tenant=` edited on the way back from the consent, a forged ID token (key, audience, issuer
for its tenant, nonce, expiry), forged, replayed, expired and other admins' states, a declined
consent and a tenant of another organisation are refused with a page saying so, and nothing
changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.api import portal_auth
from backend.api.app import create_app
from backend.domain.enums import Role
from backend.models import AuditEvent, ChatIdentity, Organisation, TeamsConsentState
from backend.models.base import utcnow
from backend.services.portal import PortalSettings
from backend.services.teams.settings import TeamsAppSettings
from backend.settings import Settings
from channels.teams_tenants import NOT_CONNECTED, Tenants
from contracts.settings import BackendSettings, TeamsSettings
from tests.backend import factories
from tests.channels.portal_browser import ORIGIN, Browser, Browsers
from tests.channels.standins import BotFrameworkLogin
from tests.oidc_provider import new_key
from tests.stack import free_port

SERVICE_TOKEN = "teams-consent-service-token"
APP_ID = "22222222-3333-4444-5555-666666666666"
APP_PASSWORD = "teams-app-secret"
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
    login = BotFrameworkLogin(APP_ID, APP_PASSWORD)
    login_server = await aiohttp_server(login.app)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    login.redirect_uris |= {f"{base}/teams/consent/callback", f"{base}/teams/sign-in/callback"}
    app = create_app(
        db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN),
        portal_settings=PortalSettings(PORTAL_DEV_LOGIN="true", WEB_ALLOWED_ORIGINS=ORIGIN,
                                       PUBLIC_BASE_URL=base),
        teams_settings=TeamsAppSettings(TEAMS_APP_ID=APP_ID, TEAMS_APP_PASSWORD=APP_PASSWORD,
                                        PUBLIC_BASE_URL=base,
                                        TEAMS_LOGIN_URL=str(login_server.make_url("/"))))
    clock = [timedelta(0)]
    app[portal_auth.CLOCK_KEY] = lambda: utcnow() + clock[0]
    client = await aiohttp_client(app, server_kwargs={"port": port})
    browsers = Browsers()

    async def open_browser(member_id: int) -> Browser:
        return await browsers.signed_in(client, member_id)

    yield World(open_browser, login, db, clock)
    await browsers.close()


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


async def to_sign_in(browser: Browser, back: str) -> str:
    """The consent's answer taken, on to Microsoft's sign-in, which signs the admin in at once:
    where it sends the browser back (the code and the sign-in's state)."""
    status, page, answer = await browser.get(back)
    assert status == 303, page
    status, page, signed_in = await browser.get(answer.headers["Location"])
    assert status == 302, page
    return signed_in.headers["Location"]


async def connect_through(browser: Browser) -> tuple[int, str, str | None]:
    """The whole flow: start, Accept, sign in, back (status, page, where it sends the browser)."""
    back = await to_sign_in(browser, await consent(browser, await start_consent(browser)))
    status, page, answer = await browser.get(back)
    return status, page, answer.headers.get("Location")


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
    assert status == 303 and world.tenant_of(admin.organisation_id) is None  # not yet
    parts = urlsplit(answer.headers["Location"])
    query = parse_qs(parts.query)
    assert parts.path == "/organizations/oauth2/v2.0/authorize"
    assert query["client_id"] == [APP_ID] and query["scope"] == ["openid profile"]
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [browser.url("/teams/sign-in/callback")]
    assert query["nonce"] and query["state"]
    status, _, signed_in = await browser.get(answer.headers["Location"])
    assert status == 302
    status, _, answer = await browser.get(signed_in.headers["Location"])

    assert status == 303 and answer.headers["Location"] == "/portal?teams=connected"
    assert world.tenant_of(admin.organisation_id) == ACME_TENANT
    # The code went to the token endpoint with the app's secret and the PKCE verifier.
    exchange = world.login.openid.exchanges[-1]
    assert exchange["client_id"] == APP_ID and exchange["client_secret"] == APP_PASSWORD
    assert exchange["code_verifier"] and exchange["grant_type"] == "authorization_code"
    async with browser.session.get(browser.url("/portal/api/teams")) as shown:
        assert await shown.json() == {"offered": True, "connected": True,
                                      "tenant_id": ACME_TENANT}
    assert await tenant_asked(browser, ACME_TENANT) == (
        200, {"tenant_id": ACME_TENANT, "connected": True})


async def _come_back_spoilt(world, browser, acme, back: str, case: str):
    """Follow `back` (a return address carrying a state) spoilt as `case` says: replayed after a
    first use, forged, expired, or by another admin. (status, page, what the page must say)."""
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
    return status, page, expected


@pytest.mark.parametrize("case", ["replayed", "forged", "expired", "other_admin"])
async def test_a_state_not_good_for_this_admin_now_is_refused_and_nothing_changes(world, case):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    back = await consent(browser, await start_consent(browser))
    status, page, expected = await _come_back_spoilt(world, browser, acme, back, case)

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
    assert (await connect_through(first))[0] == 303
    second = await world.open_browser(globex.member_id)

    status, page, _ = await connect_through(second)

    assert status == 403 and "already connected to another organisation" in page
    assert world.tenant_of(globex.organisation_id) is None
    assert world.tenant_of(acme.organisation_id) == ACME_TENANT
    # Globex's own tenant is still theirs to connect.
    world.login.consenting = GLOBEX_TENANT
    assert (await connect_through(second))[0] == 303
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


async def test_signed_out_the_sign_in_s_callback_repeats_itself_too(world):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    back = await to_sign_in(browser, await consent(browser, await start_consent(browser)))
    stranger = Browser(browser.client)
    try:
        status, _, answer = await stranger.get(back)
        assert status == 200 and "again=1" in answer.headers["Refresh"]
        again = browser.url(answer.headers["Refresh"].split("url=", 1)[1])
        assert (await stranger.get(again))[0] == 403  # not the admin's browser
    finally:
        await stranger.close()
    status, _, answer = await browser.get(again)  # the admin's browser, its cookie along
    assert status == 303 and answer.headers["Location"] == "/portal?teams=connected"
    assert world.tenant_of(acme.organisation_id) == ACME_TENANT


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


async def test_a_tenant_edited_on_the_way_back_from_the_consent_is_refused(world):
    """An admin of Globex's tenant consents, then edits `tenant=` to name Acme's tenant, which
    no organisation here has connected yet: Microsoft's signed sign-in names Globex's tenant."""
    acme = factories.register_organisation(world.db, "Acme")
    globex = factories.register_organisation(world.db, "Globex")
    browser = await world.open_browser(globex.member_id)
    world.login.consenting = GLOBEX_TENANT
    world.login.edit_tenant = ACME_TENANT
    back = await consent(browser, await start_consent(browser))
    assert parse_qs(urlsplit(back).query)["tenant"] == [ACME_TENANT]

    status, page, _ = await browser.get(await to_sign_in(browser, back))

    assert status == 403 and "Microsoft Teams was not connected" in page
    assert ACME_TENANT in page and GLOBEX_TENANT in page
    assert world.tenant_of(globex.organisation_id) is None
    assert world.tenant_of(acme.organisation_id) is None
    assert (await tenant_asked(browser, ACME_TENANT))[1]["connected"] is False
    # Not a tenant at all: refused at once, before any sign-in.
    world.login.edit_tenant = "not-a-tenant"
    status, page, _ = await browser.get(await consent(browser, await start_consent(browser)))
    assert status == 403 and "did not name a tenant" in page
    assert len(world.login.sign_ins) == 1


FORGED = {
    "bad signature": {"signing_key": True},
    "wrong audience": {"aud": "another-app"},
    "issuer of another tenant": {"iss": "{base}/" + GLOBEX_TENANT + "/v2.0"},
    "issuer not Microsoft's": {"iss": "https://evil.example/" + ACME_TENANT + "/v2.0"},
    "wrong nonce": {"nonce": "not-the-one-we-sent"},
    "expired": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    "no tenant": {"tid": None},
    "key of another issuer": {"key_issuer": "https://elsewhere.example/{tenantid}/v2.0"},
}


@pytest.mark.parametrize("forgery", list(FORGED))
async def test_an_id_token_not_signed_as_microsoft_does_is_refused(world, forgery):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    back = await to_sign_in(browser, await consent(browser, await start_consent(browser)))
    change = dict(FORGED[forgery])
    if change.pop("signing_key", False):  # same kid, a key Microsoft does not publish
        world.login.openid.signing_key = new_key(world.login.openid.key.kid)
    world.login.openid.key_issuer = change.pop("key_issuer", None)
    if isinstance(change.get("iss"), str):
        change["iss"] = change["iss"].format(base=world.login.openid.issuer)
    world.login.openid.claims_override = change

    status, page, _ = await browser.get(back)

    assert status == 403 and "Microsoft Teams was not connected" in page, page
    assert world.tenant_of(acme.organisation_id) is None
    assert world.login.openid.exchanges  # the code was exchanged; its token refused


@pytest.mark.parametrize("case", ["replayed", "forged", "other_admin", "expired"])
async def test_the_sign_in_s_state_is_single_use_and_the_admin_s(world, case):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    back = await to_sign_in(browser, await consent(browser, await start_consent(browser)))
    status, page, expected = await _come_back_spoilt(world, browser, acme, back, case)

    assert status == 403 and expected in page and "Microsoft sign-in link" in page
    assert world.tenant_of(acme.organisation_id) is None


async def test_a_sign_in_microsoft_ended_with_an_error_is_refused(world):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    back = await to_sign_in(browser, await consent(browser, await start_consent(browser)))
    state = parse_qs(urlsplit(back).query)["state"][0]

    status, page, _ = await browser.get(browser.url(
        f"/teams/sign-in/callback?error=access_denied&error_description=cancelled&state={state}"))

    assert status == 403 and "did not complete (access_denied: cancelled)" in page
    assert world.tenant_of(acme.organisation_id) is None


async def disconnect(browser: Browser, tenant: str, **sent) -> tuple[int, dict]:
    return await browser.post("/portal/api/teams/disconnect", {"tenant_id": tenant}, **sent)


def channel_tenants(browser: Browser, cache_seconds: float) -> Tenants:
    """The Teams channel's view of the tenants, asking this backend."""
    settings = TeamsSettings.load({"app_id": APP_ID, "app_password": APP_PASSWORD,
                                   "tenant_cache_seconds": cache_seconds}, {})
    return Tenants(settings, BackendSettings(url=browser.url(""), service_token=SERVICE_TOKEN))


async def test_an_admin_disconnects_the_tenant_and_can_connect_it_again(world):
    acme = factories.register_organisation(world.db, "Acme")
    browser = await world.open_browser(acme.member_id)
    world.login.consenting = ACME_TENANT
    assert (await connect_through(browser))[0] == 303
    with world.db.transaction() as session:  # someone of the tenant, linked; a Slack link kept
        session.add(ChatIdentity(channel="teams", external_id=f"{ACME_TENANT}:aad-1",
                                 member_id=acme.member_id))
        session.add(ChatIdentity(channel="slack", external_id=f"{ACME_TENANT}:U1",
                                 member_id=acme.member_id))
    channel = channel_tenants(browser, cache_seconds=0.5)
    assert await channel.refusal(ACME_TENANT, "aad-1") is None

    status, body = await disconnect(browser, ACME_TENANT.upper())  # as Microsoft may spell it

    assert status == 200 and body == {"tenant_id": ACME_TENANT, "was_connected": True}
    assert world.tenant_of(acme.organisation_id) is None
    assert await tenant_asked(browser, ACME_TENANT) == (
        200, {"tenant_id": ACME_TENANT, "connected": False})
    async with browser.session.get(browser.url("/portal/api/teams")) as shown:
        assert await shown.json() == {"offered": True, "connected": False, "tenant_id": None}
    # The channel keeps its answer its cache time, then stops serving the tenant.
    assert await channel.refusal(ACME_TENANT, "aad-1") is None
    await asyncio.sleep(0.6)
    assert await channel.refusal(ACME_TENANT, "aad-1") == NOT_CONNECTED
    with world.db.reader() as session:
        assert session.scalars(select(ChatIdentity.channel).where(
            ChatIdentity.external_id.startswith(ACME_TENANT))).all() == ["slack"]
        [event] = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "workspace.disconnected")).all()
    assert event.organisation_id == acme.organisation_id
    assert event.actor == f"member:{acme.member_id}"
    assert event.details["workspace"] == ACME_TENANT and event.details["unlinked"] == 1

    # Nothing connected now: a clear answer that nothing changed.
    assert await disconnect(browser, ACME_TENANT) == (
        200, {"tenant_id": ACME_TENANT, "was_connected": False})
    # And the tenant is connected again by consent, as the first time.
    assert (await connect_through(browser))[0] == 303
    assert world.tenant_of(acme.organisation_id) == ACME_TENANT
    assert (await tenant_asked(browser, ACME_TENANT))[1]["connected"] is True


async def test_only_the_organisation_s_admin_can_disconnect_its_tenant(world):
    acme = factories.register_organisation(world.db, "Acme")
    globex = factories.register_organisation(world.db, "Globex")
    member = factories.add_member(world.db, acme.organisation_id, email="m@acme.example")
    world.login.consenting = ACME_TENANT
    admin = await world.open_browser(acme.member_id)
    assert (await connect_through(admin))[0] == 303

    member_browser = await world.open_browser(member.member_id)
    status, body = await disconnect(member_browser, ACME_TENANT)
    assert status == 403 and body["error"]["code"] == "not_admin"
    assert "disconnect Microsoft Teams" in body["error"]["message"]
    other = await world.open_browser(globex.member_id)
    status, body = await disconnect(other, ACME_TENANT)  # Globex has none: still not theirs
    assert status == 404 and body["error"]["code"] == "not_connected"
    world.login.consenting = GLOBEX_TENANT
    assert (await connect_through(other))[0] == 303
    status, body = await disconnect(other, ACME_TENANT)
    assert status == 404 and body["error"]["code"] == "not_connected"
    # The admin's own, but not the tenant connected now (a page left open): refused too.
    status, body = await disconnect(admin, "eeeeeeee-0000-1111-2222-333333333333")
    assert status == 404 and body["error"]["code"] == "not_connected"
    # The portal's rules for every POST: its Origin, this browser's CSRF token, signed in.
    assert (await disconnect(admin, ACME_TENANT, origin="https://evil.example"))[1][
        "error"]["code"] == "bad_origin"
    assert (await disconnect(admin, ACME_TENANT, csrf=False))[1]["error"]["code"] == "bad_csrf"
    stranger = Browser(admin.client)
    try:
        assert (await disconnect(stranger, ACME_TENANT))[0] == 403
    finally:
        await stranger.close()

    assert world.tenant_of(acme.organisation_id) == ACME_TENANT
    assert world.tenant_of(globex.organisation_id) == GLOBEX_TENANT
    assert (await tenant_asked(admin, ACME_TENANT))[1]["connected"] is True
    with world.db.reader() as session:
        assert session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "workspace.disconnected")) is None
