"""The portal page's API over HTTP (both databases): development sign-in, the session cookie,
identity tokens for the widget, Origin and CSRF checks, and the page and its assets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select

from backend.api import portal_auth
from backend.api.app import create_app
from backend.api.routes import portal as portal_routes
from backend.domain.enums import Role
from backend.models import AuditEvent, PortalSession
from backend.services import actors
from backend.services.portal import PortalSettings
from backend.settings import Settings
from contracts import web_identity
from tests.backend import factories
from tests.channels.portal_browser import ORIGIN, Browser, Browsers

SECRET = "portal-test-secret-long-enough-for-hs256"
SERVICE_TOKEN = "portal-test-service-token"


def portal_settings(**overrides) -> PortalSettings:
    values = {"PORTAL_DEV_LOGIN": "true", "WEB_IDENTITY_SECRET": SECRET,
              "WEB_ALLOWED_ORIGINS": ORIGIN, "RASA_SOCKET_URL": "http://chat.test:5005"}
    values.update(overrides)
    return PortalSettings(**values)


@pytest.fixture
def people(db):
    admin = factories.register_organisation(db, "Northwind Trading")
    member = factories.add_member(db, admin.organisation_id, email="chloe@northwind.example")
    return admin, member


async def client_for(aiohttp_client, db, **overrides):
    app = create_app(db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN),
                     portal_settings=portal_settings(**overrides))
    return await aiohttp_client(app)


@pytest.fixture
async def browser_for(aiohttp_client, db) -> AsyncIterator[Callable]:
    browsers = Browsers()

    async def open_browser(**overrides) -> Browser:
        return browsers.open(await client_for(aiohttp_client, db, **overrides))

    yield open_browser
    await browsers.close()


async def sign_in(browser: Browser, member_id: object):
    return await browser.post("/portal/api/dev-login", {"member_id": member_id})


async def test_the_page_is_public_with_a_strict_content_security_policy(aiohttp_client, db):
    client = await client_for(aiohttp_client, db)

    response = await client.get("/portal")

    assert response.status == 200
    assert response.content_type == "text/html"
    assert 'id="chat-root"' in await response.text()
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self' http://chat.test:5005 ws://chat.test:5005" in policy
    assert response.headers["Cache-Control"] == "no-store"
    browser_cookie = response.cookies[portal_auth.BROWSER_COOKIE]
    assert browser_cookie["httponly"] and browser_cookie["samesite"] == "Lax"


async def test_a_visitor_is_signed_out_and_sees_the_development_choices(browser_for, people):
    admin, member = people
    browser = await browser_for()

    body = await browser.state()

    assert body["signed_in"] is False and body["user"] is None and body["person"] is None
    assert body["dev_login"] is True
    assert {person["member_id"] for person in body["sign_in_choices"]} == {
        admin.member_id, member.member_id}
    assert body["chat"] == {"socket_url": "http://chat.test:5005", "socket_path": "/socket.io"}
    assert len(body["csrf_token"]) == 64


async def test_dev_sign_in_opens_a_server_side_session_and_links_the_web_identity(
        browser_for, db, people):
    _, member = people
    browser = await browser_for()

    status, _ = await sign_in(browser, member.member_id)

    assert status == 200
    body = await browser.state()
    assert body["signed_in"] is True
    assert body["person"] == {"kind": "member", "name": body["user"]["name"],
                              "email": "chloe@northwind.example"}
    assert body["user"]["member_id"] == member.member_id
    assert body["user"]["organisation_name"] == "Northwind Trading"
    # The backend now knows the chat identity the widget will speak as.
    resolved = actors.resolve(db, f"web:{member.member_id}")
    assert (resolved.member_id, resolved.organisation_id) == (member.member_id,
                                                              member.organisation_id)
    with db.reader() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
        row = session.scalar(select(PortalSession))
    assert "portal.signed_in.dev" in actions
    # Only the hash of the cookie's token is stored.
    cookie = browser.cookie(portal_auth.SESSION_COOKIE)
    assert cookie and row.token_hash != cookie and row.method == "dev"


async def test_the_session_cookie_is_strict_http_only_and_secure_on_https(aiohttp_client, db,
                                                                          people):
    _, member = people
    for base_url, secure in (("http://127.0.0.1:8000", False),
                             ("https://portal.example.com", True)):
        client = await client_for(aiohttp_client, db, PUBLIC_BASE_URL=base_url)
        answer = await client.get("/portal/api/session")
        nonce = answer.cookies[portal_auth.BROWSER_COOKIE]
        # (A client does not send a Secure cookie over http: the test hands it over itself.)
        response = await client.post(
            "/portal/api/dev-login", json={"member_id": member.member_id},
            headers={"Origin": ORIGIN, "Cookie": f"{portal_auth.BROWSER_COOKIE}={nonce.value}",
                     portal_auth.CSRF_HEADER: (await answer.json())["csrf_token"]})
        cookie = response.cookies[portal_auth.SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert bool(cookie["secure"]) is secure and bool(nonce["secure"]) is secure


async def test_the_chat_token_names_the_signed_in_member_and_session(browser_for, db, people):
    _, member = people
    browser = await browser_for(WEB_IDENTITY_TTL_SECONDS="90")
    await sign_in(browser, member.member_id)

    status, body = await browser.post("/portal/api/chat-token")

    assert status == 200
    assert body["identity"] == f"web:{member.member_id}" and body["expires_in"] == 90
    identity = web_identity.verify_identity_token(web_identity.TokenConfig(SECRET), body["token"])
    with db.reader() as session:
        public_id = session.scalar(select(PortalSession.public_id))
    assert identity == web_identity.WebIdentity(member.member_id, member.organisation_id,
                                                "chloe@northwind.example", public_id)


async def test_the_token_s_identity_is_accepted_by_the_backend_api(browser_for, people):
    admin, _ = people
    browser = await browser_for()
    await sign_in(browser, admin.member_id)
    _, body = await browser.post("/portal/api/chat-token")
    metadata = web_identity.verify_identity_token(web_identity.TokenConfig(SECRET),
                                                  body["token"]).metadata()

    async with browser.session.get(browser.url("/me"), headers={
            "Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-For": metadata["identity"],
            "X-Verified-Email": metadata["verified_email"]}) as response:
        me = await response.json()

    assert (me["member_id"], me["role"]) == (admin.member_id, Role.ADMIN.value)
    assert (await browser.state())["person"]["kind"] == "admin"


async def test_no_chat_token_without_a_valid_session(browser_for, people):
    browser = await browser_for()

    status, body = await browser.post("/portal/api/chat-token")
    assert status == 403 and body["error"]["code"] == "signed_out"

    # A made-up or signed cookie is no session: only tokens of stored sessions are.
    for forged in ("made-up-session-token", web_identity.sign_claims(
            "another-secret-that-is-long-enough-000", "therapy-portal-session",
            str(people[1].member_id), 3600)):
        browser.session.cookie_jar.update_cookies({portal_auth.SESSION_COOKIE: forged},
                                                  browser.client.make_url("/"))
        status, _ = await browser.post("/portal/api/chat-token")
        assert status == 403


@pytest.mark.parametrize("origin", [None, "http://evil.test", "null"])
async def test_state_changing_calls_need_the_portal_s_origin(browser_for, people, origin):
    _, member = people
    browser = await browser_for()

    for path, body in [("dev-login", {"member_id": member.member_id}), ("chat-token", None),
                       ("logout", None), ("sign-in/email", {"email": "x@example.com"})]:
        status, answer = await browser.post(f"/portal/api/{path}", body, origin=origin)
        assert status == 403, path
        assert answer["error"]["code"] == "bad_origin"
    assert browser.cookie(portal_auth.SESSION_COOKIE) is None


async def test_state_changing_calls_need_the_browser_s_csrf_token(browser_for, people):
    _, member = people
    browser = await browser_for()
    await browser.state()
    other = await browser_for()
    other_token = (await other.state())["csrf_token"]

    for path, body in [("dev-login", {"member_id": member.member_id}), ("chat-token", None),
                       ("logout", None), ("sign-in/email", {"email": "x@example.com"})]:
        status, answer = await browser.post(f"/portal/api/{path}", body, csrf=False)
        assert (status, answer["error"]["code"]) == (403, "bad_csrf"), path
        browser.csrf, mine = other_token, browser.csrf  # another browser's token does not do
        status, answer = await browser.post(f"/portal/api/{path}", body)
        browser.csrf = mine
        assert (status, answer["error"]["code"]) == (403, "bad_csrf"), path
    assert browser.cookie(portal_auth.SESSION_COOKIE) is None


async def test_dev_sign_in_is_refused_when_turned_off(browser_for, people):
    _, member = people
    browser = await browser_for(PORTAL_DEV_LOGIN="false")

    status, body = await sign_in(browser, member.member_id)

    assert status == 403
    assert body["error"]["code"] == "dev_login_off"
    state = await browser.state()
    assert (state["dev_login"], state["sign_in_choices"]) == (False, [])


@pytest.mark.parametrize("member_id, status", [(999_999, 404), ("1", 400), (True, 400), (-3, 400)])
async def test_dev_sign_in_checks_the_member(browser_for, people, member_id, status):
    browser = await browser_for()

    answer_status, _ = await sign_in(browser, member_id)

    assert answer_status == status


async def test_logout_ends_the_session_on_the_server(browser_for, db, people):
    _, member = people
    browser = await browser_for()
    await sign_in(browser, member.member_id)
    cookie = browser.cookie(portal_auth.SESSION_COOKIE)

    status, _ = await browser.post("/portal/api/logout")

    assert status == 200
    assert (await browser.state())["signed_in"] is False
    # The old cookie, kept by someone, no longer signs in.
    browser.session.cookie_jar.update_cookies({portal_auth.SESSION_COOKIE: cookie},
                                              browser.client.make_url("/"))
    assert (await browser.state())["signed_in"] is False
    with db.reader() as session:
        assert session.scalar(select(PortalSession.ended_at)) is not None


async def test_assets_are_served_once_built_and_explained_before(aiohttp_client, db, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setattr(portal_routes, "ASSETS_DIR", tmp_path / "missing")
    client = await client_for(aiohttp_client, db)
    response = await client.get("/portal/assets/portal.js")
    assert response.status == 503
    assert "make web" in (await response.json())["error"]["message"]

    built = tmp_path / "dist"
    built.mkdir()
    (built / "portal.js").write_text("console.log('widget');")
    monkeypatch.setattr(portal_routes, "ASSETS_DIR", built)
    client = await client_for(aiohttp_client, db)
    response = await client.get("/portal/assets/portal.js")
    assert response.status == 200
    assert await response.text() == "console.log('widget');"
