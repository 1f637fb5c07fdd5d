"""The widget on an organisation's intranet: the intranet signs its employee's identity with the
organisation's embed key; the backend trades it for a chat identity token (both databases)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest
from sqlalchemy import select

from backend.api.app import create_app
from backend.api.portal_auth import CLOCK_KEY
from backend.api.routes.portal_embed import PATH
from backend.models import EmbedSecret, Member, Organisation
from backend.services.portal import PortalSettings
from backend.services.signin import embed
from backend.settings import Settings
from contracts import web_identity
from tests.backend import factories

SECRET = "embed-test-identity-secret-long-enough-000"
INTRANET = "http://intranet.northwind.test"


def settings() -> PortalSettings:
    return PortalSettings(WEB_IDENTITY_SECRET=SECRET,
                          WEB_ALLOWED_ORIGINS=f"http://portal.test {INTRANET}",
                          SIGNIN_ENCRYPTION_KEY="embed-test-encryption-key-long-enough-00")


class Clock:
    now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def organisation(db) -> int:
    admin = factories.register_organisation(db, "Northwind Trading")
    with db.transaction() as session:
        session.get(Organisation, admin.organisation_id).email_domain = "northwind.example"
    return admin.organisation_id


def signed(key: str, organisation_id: int, **claims) -> str:
    now = datetime.now(timezone.utc)
    values = {"iss": str(organisation_id), "aud": embed.AUDIENCE, "sub": "emp-42",
              "email": "dana@northwind.example", "name": "Dana Reyes", "iat": now,
              "exp": now + timedelta(minutes=10), **claims}
    return jwt.encode(values, key, algorithm="HS256")


@pytest.fixture
async def client(aiohttp_client, db):
    app = create_app(db, Settings(), portal_settings=settings())
    app[CLOCK_KEY] = Clock()
    return await aiohttp_client(app)


async def trade(client, organisation_id, token, origin=INTRANET):
    response = await client.post(PATH, json={"organisation_id": organisation_id, "token": token},
                                 headers={"Origin": origin})
    return response.status, await response.json(), response.headers


async def test_the_intranet_s_token_becomes_a_chat_identity(client, db, organisation):
    key = embed.rotate_key(db, settings(), organisation).key

    status, body, headers = await trade(client, organisation, signed(key, organisation))

    assert status == 200 and headers["Access-Control-Allow-Origin"] == INTRANET
    identity = web_identity.verify_identity_token(web_identity.TokenConfig(SECRET), body["token"])
    with db.reader() as session:
        dana = session.scalar(select(Member).where(Member.email == "dana@northwind.example"))
        stored = session.scalar(select(EmbedSecret.secret_sealed))
    assert (identity.member_id, identity.organisation_id) == (dana.id, organisation)
    assert dana.name == "Dana Reyes" and identity.verified_email == "dana@northwind.example"
    assert key not in stored  # kept encrypted; shown once


@pytest.mark.parametrize("forgery", ["another key", "another organisation", "expired",
                                     "too long-lived", "outside the domain", "another audience",
                                     "no email"])
async def test_forged_or_stretched_tokens_are_refused(client, db, organisation, forgery):
    key = embed.rotate_key(db, settings(), organisation).key
    now = datetime.now(timezone.utc)
    token = {
        "another key": lambda: signed("emb_not-the-organisation-s-key-0000000000", organisation),
        "another organisation": lambda: signed(key, organisation, iss=str(organisation + 1)),
        "expired": lambda: signed(key, organisation, iat=now - timedelta(hours=1),
                                  exp=now - timedelta(minutes=5)),
        "too long-lived": lambda: signed(key, organisation, exp=now + timedelta(days=30)),
        "outside the domain": lambda: signed(key, organisation, email="dana@evil.example"),
        "another audience": lambda: signed(key, organisation, aud="therapy-webchat"),
        "no email": lambda: signed(key, organisation, email=None),
    }[forgery]()

    status, body, headers = await trade(client, organisation, token)

    assert status in (400, 403), body
    assert headers.get("Access-Control-Allow-Origin") == INTRANET  # the page can read why
    with db.reader() as session:
        assert session.scalar(select(Member).where(Member.name == "Dana Reyes")) is None


async def test_only_allowed_origins_may_ask(client, db, organisation):
    key = embed.rotate_key(db, settings(), organisation).key

    status, body, headers = await trade(client, organisation, signed(key, organisation),
                                        origin="http://evil.test")
    preflight = await client.options(PATH, headers={"Origin": "http://evil.test",
                                                    "Access-Control-Request-Method": "POST"})
    allowed = await client.options(PATH, headers={"Origin": INTRANET,
                                                  "Access-Control-Request-Method": "POST"})

    assert (status, body["error"]["code"]) == (403, "bad_origin")
    assert "Access-Control-Allow-Origin" not in headers
    assert preflight.status == 403 and allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == INTRANET


async def test_a_rotated_key_works_for_the_grace_period_only(client, db, organisation):
    clock: Clock = client.app[CLOCK_KEY]
    old = embed.rotate_key(db, settings(), organisation, now=clock.now).key
    new = embed.rotate_key(db, settings(), organisation, now=clock.now)

    assert new.previous_valid_until == clock.now + timedelta(hours=24)
    assert (await trade(client, organisation, signed(old, organisation)))[0] == 200
    assert (await trade(client, organisation, signed(new.key, organisation)))[0] == 200
    clock.now += timedelta(hours=24, minutes=1)
    assert (await trade(client, organisation, signed(old, organisation)))[0] == 403
    # (the new key's token is checked against the real time of its own iat/exp)
