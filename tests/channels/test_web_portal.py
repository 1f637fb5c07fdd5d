"""The portal page's API over HTTP (both databases): development sign-in, the session cookie,
identity tokens for the widget, origin checks, and the page and its assets."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.api.app import create_app
from backend.api.routes import portal as portal_routes
from backend.domain.enums import Role
from backend.models import AuditEvent
from backend.services import actors
from backend.services.portal import PortalSettings
from backend.settings import Settings
from contracts import web_identity
from tests.backend import factories

SECRET = "portal-test-secret-long-enough-for-hs256"
ORIGIN = "http://portal.test"
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


async def sign_in(client, member_id: int):
    return await client.post("/portal/api/dev-login", json={"member_id": member_id},
                             headers={"Origin": ORIGIN})


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


async def test_a_visitor_is_signed_out_and_sees_the_development_choices(aiohttp_client, db,
                                                                         people):
    admin, member = people
    client = await client_for(aiohttp_client, db)

    body = await (await client.get("/portal/api/session")).json()

    assert body["signed_in"] is False and body["user"] is None
    assert body["dev_login"] is True
    assert {person["member_id"] for person in body["sign_in_choices"]} == {
        admin.member_id, member.member_id}
    assert body["chat"] == {"socket_url": "http://chat.test:5005", "socket_path": "/socket.io"}


async def test_dev_sign_in_sets_a_strict_cookie_and_links_the_web_identity(aiohttp_client, db,
                                                                           people):
    _, member = people
    client = await client_for(aiohttp_client, db)

    response = await sign_in(client, member.member_id)

    assert response.status == 200
    cookie = response.cookies[portal_routes.COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/portal"
    body = await (await client.get("/portal/api/session")).json()
    assert body["signed_in"] is True
    assert body["user"]["member_id"] == member.member_id
    assert body["user"]["organisation_name"] == "Northwind Trading"
    assert body["user"]["email"] == "chloe@northwind.example"
    # The backend now knows the chat identity the widget will speak as.
    resolved = actors.resolve(db, f"web:{member.member_id}")
    assert (resolved.member_id, resolved.organisation_id) == (member.member_id,
                                                              member.organisation_id)
    with db.reader() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "portal.dev_signed_in" in actions


async def test_the_chat_token_names_the_signed_in_member(aiohttp_client, db, people):
    _, member = people
    client = await client_for(aiohttp_client, db, WEB_IDENTITY_TTL_SECONDS="90")
    await sign_in(client, member.member_id)

    response = await client.post("/portal/api/chat-token", headers={"Origin": ORIGIN})

    assert response.status == 200
    body = await response.json()
    assert body["identity"] == f"web:{member.member_id}" and body["expires_in"] == 90
    identity = web_identity.verify_identity_token(web_identity.TokenConfig(SECRET), body["token"])
    assert identity == web_identity.WebIdentity(member.member_id, member.organisation_id,
                                                "chloe@northwind.example")


async def test_the_token_s_identity_is_accepted_by_the_backend_api(aiohttp_client, db, people):
    admin, _ = people
    client = await client_for(aiohttp_client, db)
    await sign_in(client, admin.member_id)
    token = (await (await client.post("/portal/api/chat-token",
                                      headers={"Origin": ORIGIN})).json())["token"]
    metadata = web_identity.verify_identity_token(web_identity.TokenConfig(SECRET),
                                                  token).metadata()

    response = await client.get("/me", headers={
        "Authorization": f"Bearer {SERVICE_TOKEN}", "X-Acting-For": metadata["identity"],
        "X-Verified-Email": metadata["verified_email"]})

    body = await response.json()
    assert (body["member_id"], body["role"]) == (admin.member_id, Role.ADMIN.value)


async def test_no_chat_token_without_a_valid_session(aiohttp_client, db, people):
    client = await client_for(aiohttp_client, db)

    response = await client.post("/portal/api/chat-token", headers={"Origin": ORIGIN})
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "signed_out"

    forged = web_identity.sign_claims("another-secret-that-is-long-enough-000",
                                      "therapy-portal-session", str(people[1].member_id), 3600)
    client.session.cookie_jar.update_cookies({portal_routes.COOKIE: forged})
    response = await client.post("/portal/api/chat-token", headers={"Origin": ORIGIN})
    assert response.status == 403


async def test_an_identity_token_is_no_session_cookie(aiohttp_client, db, people):
    _, member = people
    client = await client_for(aiohttp_client, db)
    identity_token = web_identity.issue_identity_token(
        web_identity.TokenConfig(SECRET),
        web_identity.WebIdentity(member.member_id, member.organisation_id, None))
    client.session.cookie_jar.update_cookies({portal_routes.COOKIE: identity_token})

    response = await client.post("/portal/api/chat-token", headers={"Origin": ORIGIN})

    assert response.status == 403


@pytest.mark.parametrize("origin", [None, "http://evil.test", "null"])
async def test_state_changing_calls_need_the_portal_s_origin(aiohttp_client, db, people, origin):
    _, member = people
    client = await client_for(aiohttp_client, db)
    headers = {} if origin is None else {"Origin": origin}

    for path, body in [("dev-login", {"member_id": member.member_id}), ("chat-token", None),
                       ("logout", None)]:
        response = await client.post(f"/portal/api/{path}", json=body, headers=headers)
        assert response.status == 403, path
        assert (await response.json())["error"]["code"] == "bad_origin"
    assert portal_routes.COOKIE not in client.session.cookie_jar.filter_cookies(
        client.make_url("/portal/api/session"))


async def test_dev_sign_in_is_refused_when_turned_off(aiohttp_client, db, people):
    _, member = people
    client = await client_for(aiohttp_client, db, PORTAL_DEV_LOGIN="false")

    response = await sign_in(client, member.member_id)

    assert response.status == 403
    assert (await response.json())["error"]["code"] == "dev_login_off"
    body = await (await client.get("/portal/api/session")).json()
    assert (body["dev_login"], body["sign_in_choices"]) == (False, [])


@pytest.mark.parametrize("member_id, status", [(999_999, 404), ("1", 400), (True, 400), (-3, 400)])
async def test_dev_sign_in_checks_the_member(aiohttp_client, db, people, member_id, status):
    client = await client_for(aiohttp_client, db)

    response = await sign_in(client, member_id)

    assert response.status == status


async def test_logout_ends_the_session(aiohttp_client, db, people):
    _, member = people
    client = await client_for(aiohttp_client, db)
    await sign_in(client, member.member_id)

    response = await client.post("/portal/api/logout", headers={"Origin": ORIGIN})

    assert response.status == 200
    body = await (await client.get("/portal/api/session")).json()
    assert body["signed_in"] is False


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
