"""Single sign-on in headless Chromium: the portal (the real backend process, started as users
start it) sends the browser to a local OpenID provider stand-in, which signs real RS256 tokens,
and back; the member is signed in. A provider answering with a forged token is refused."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from backend.models import Organisation
from backend.seed import DEMO_DOMAIN, DEMO_ORGANISATION
from tests.channels.standins import ThreadedServer
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, TENANT, OpenIdProvider
from tests.stack import REPO, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENCRYPTION_KEY = "e2e-sso-encryption-key-long-enough-000000"


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    stand_in = OpenIdProvider(person={"email": f"fern@{DEMO_DOMAIN}", "name": "Fern Adeyemi"})
    with ThreadedServer(stand_in.app) as server:
        stand_in.issuer = server.url
        yield stand_in


@pytest.fixture(scope="module")
def sso_stack(stack_factory, provider) -> Stack:
    assert (REPO / "web" / "dist" / "portal.js").exists(), "Build the widget first: make web"
    stack = stack_factory("sso", backend_only=True,
                          backend_env={"SIGNIN_ENCRYPTION_KEY": ENCRYPTION_KEY})
    db = stack.database()
    try:
        with db.transaction() as session:
            organisation_id = session.scalar(select(Organisation.id).where(
                Organisation.name == DEMO_ORGANISATION))
            session.execute(update(Organisation).where(Organisation.id == organisation_id)
                            .values(email_domain=DEMO_DOMAIN))
    finally:
        db.dispose()
    # Configured as an operator does, the secret taken from the environment.
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-m", "backend", "sso-set", "--organisation",
         str(organisation_id), "--issuer", provider.issuer, "--client-id", CLIENT_ID,
         "--client-secret-env", "SSO_SECRET", "--tenant", TENANT],
        cwd=REPO, check=True, capture_output=True, timeout=120,
        env={**os.environ, "DATABASE_URL": stack.database_url, "SSO_SECRET": CLIENT_SECRET,
             "SIGNIN_ENCRYPTION_KEY": ENCRYPTION_KEY})
    return stack


def start_sso(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.backend_url}/portal")
    page.get_by_label("Work address for single sign-on").fill(f"fern@{DEMO_DOMAIN}")
    page.get_by_role("button", name="Sign in with your organisation").click()


def test_a_member_signs_in_over_the_organisation_s_provider(sso_stack: Stack, page: Page,
                                                            provider: OpenIdProvider):
    provider.claims_override = {}

    start_sso(page, sso_stack)

    expect(page.locator("#signed-in-as")).to_contain_text("Signed in as Fern Adeyemi (member")
    assert provider.exchanges[-1]["code_verifier"]  # PKCE


def test_a_forged_id_token_does_not_sign_in(sso_stack: Stack, page: Page,
                                            provider: OpenIdProvider):
    provider.claims_override = {"aud": "someone-else"}
    try:
        start_sso(page, sso_stack)
        expect(page.locator("#sign-in-refused")).to_contain_text("Single sign-on did not work")
    finally:
        provider.claims_override = {}
    page.goto(f"{sso_stack.backend_url}/portal")
    expect(page.get_by_label("Work address for single sign-on")).to_be_visible()
