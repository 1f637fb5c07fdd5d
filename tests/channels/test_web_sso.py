"""Single sign-on over OpenID Connect against a local provider stand-in (real RS256 tokens):
the happy path signs the member in; forged or misdirected answers are refused, each by a test."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from sqlalchemy import select

from backend.api.app import create_app
from backend.models import AuditEvent, Member, Organisation, OrganisationSso
from backend.services.portal import PortalSettings
from backend.services.signin import sso
from backend.settings import Settings
from tests.backend import factories
from tests.channels.portal_browser import ORIGIN, Browser, Browsers
from tests.channels.standins import ThreadedServer
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, TENANT, OpenIdProvider, new_key

PUBLIC_BASE_URL = "http://portal.test"
CHLOE = "chloe@northwind.example"


@pytest.fixture
def provider() -> Iterator[OpenIdProvider]:
    stand_in = OpenIdProvider(person={"email": CHLOE, "name": "Chloe Evans"})
    with ThreadedServer(stand_in.app) as server:
        stand_in.issuer = server.url
        yield stand_in


@pytest.fixture
def organisation(db, provider):
    admin = factories.register_organisation(db, "Northwind Trading")
    with db.transaction() as session:
        session.get(Organisation, admin.organisation_id).email_domain = "northwind.example"
    settings = portal_settings()
    sso.configure(db, settings, admin.organisation_id, issuer=provider.issuer,
                  client_id=CLIENT_ID, client_secret=CLIENT_SECRET, allowed_tenant=TENANT)
    return admin.organisation_id


def portal_settings() -> PortalSettings:
    return PortalSettings(WEB_ALLOWED_ORIGINS=ORIGIN, PUBLIC_BASE_URL=PUBLIC_BASE_URL,
                          SIGNIN_ENCRYPTION_KEY="sso-test-encryption-key-long-enough-0000")


@pytest.fixture
async def browser_for(aiohttp_client, db) -> AsyncIterator[Callable]:
    client = await aiohttp_client(create_app(db, Settings(), portal_settings=portal_settings()))
    browsers = Browsers()

    async def open_browser() -> Browser:
        return browsers.open(client)

    yield open_browser
    await browsers.close()


async def to_provider(browser: Browser, email: str = CHLOE) -> str:
    """Start SSO; the address the provider sends the browser back to (on the test server)."""
    status, _, answer = await browser.get(browser.url(f"/portal/sign-in/sso?email={email}"))
    assert status == 303, await answer.text()
    status, _, answer = await browser.get(answer.headers["Location"])
    assert status == 302
    back = answer.headers["Location"]
    assert back.startswith(f"{PUBLIC_BASE_URL}{sso.CALLBACK_PATH}?")
    return browser.url(back.removeprefix(PUBLIC_BASE_URL))


async def test_a_member_signs_in_with_the_organisation_s_provider(browser_for, organisation,
                                                                  provider, db):
    browser = await browser_for()

    status, _, answer = await browser.get(await to_provider(browser))

    assert status == 303 and answer.headers["Location"] == "/portal"
    state = await browser.state()
    assert state["person"] == {"kind": "member", "name": "Chloe Evans", "email": CHLOE}
    assert state["user"]["organisation_id"] == organisation
    # PKCE: the verifier went to the token endpoint and matched the challenge.
    assert provider.exchanges[-1]["code_verifier"]
    with db.reader() as session:
        joined = session.scalar(select(Member).where(Member.email == CHLOE))
        actions = session.scalars(select(AuditEvent.action)).all()
    assert joined.organisation_id == organisation
    assert {"member.joined_by_sso", "portal.signed_in.oidc"} <= set(actions)


FORGERIES = {
    "wrong issuer": {"claims_override": {"iss": "https://evil.example"}},
    "wrong audience": {"claims_override": {"aud": "another-client"}},
    "wrong key": {"signing_key": "new"},
    "wrong nonce": {"claims_override": {"nonce": "not-the-one-we-sent"}},
    "expired": {"claims_override": {"exp": int(time.time()) - 3600,
                                    "iat": int(time.time()) - 7200}},
    "another tenant": {"claims_override": {"tid": "tenant-of-someone-else"}},
    "unverified email": {"claims_override": {"email_verified": False}},
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_forged_id_tokens_are_refused(browser_for, organisation, provider, forgery):
    browser = await browser_for()
    back = await to_provider(browser)
    change = FORGERIES[forgery]
    provider.claims_override = change.get("claims_override", {})
    if change.get("signing_key"):
        provider.signing_key = new_key(provider.key.kid)  # same kid, key not published

    status, page, _ = await browser.get(back)

    assert status == 403 and "Single sign-on did not work" in page
    assert (await browser.state())["signed_in"] is False


async def test_a_callback_with_another_state_is_refused(browser_for, organisation, provider):
    browser = await browser_for()
    back = await to_provider(browser)

    status, page, _ = await browser.get(back.replace("state=", "state=x"))

    assert status == 403 and "does not belong to this sign-in" in page
    assert provider.exchanges == []  # the code was never exchanged


async def test_a_callback_in_another_browser_is_refused(browser_for, organisation, provider):
    back = await to_provider(await browser_for())
    other = await browser_for()
    await other.state()

    status, page, _ = await other.get(back)

    assert status == 403 and "Single sign-on did not work" in page
    assert (await other.state())["signed_in"] is False


async def test_an_address_without_sso_is_told_to_use_a_link(browser_for, organisation):
    browser = await browser_for()

    status, page, _ = await browser.get(browser.url("/portal/sign-in/sso?email=a@else.example"))

    assert status == 403 and "sign-in link by email" in page


def test_the_client_secret_is_stored_encrypted(db, organisation):
    with db.reader() as session:
        row = session.scalar(select(OrganisationSso))
    assert CLIENT_SECRET not in row.client_secret_sealed
    assert portal_settings().sealer.open(row.client_secret_sealed) == CLIENT_SECRET


def test_a_provider_must_be_bounded_to_a_tenant_or_domain(db, provider):
    admin = factories.register_organisation(db)
    with pytest.raises(Exception, match="tenant"):
        sso.configure(db, portal_settings(), admin.organisation_id, issuer=provider.issuer,
                      client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def test_a_multi_tenant_issuer_needs_the_organisation_s_tenant(db, provider):
    admin = factories.register_organisation(db)
    with pytest.raises(Exception, match="multi-tenant"):
        sso.configure(db, portal_settings(), admin.organisation_id,
                      issuer="https://login.microsoftonline.com/{tenantid}/v2.0",
                      client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                      allowed_domain="northwind.example")
