""""Connect Microsoft Teams" in headless Chromium: the admin signs in to the portal (the real
backend process, started as users start it), presses the button, accepts on the Microsoft login
stand-in's admin-consent page (served from another site, http://localhost, so the browser comes
back cross-site as it does from login.microsoftonline.com), and is back on the portal with the
tenant connected. A declined consent ends on a page saying so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.models import Organisation
from backend.seed import DEMO_ORGANISATION
from tests.channels.standins import BotFrameworkLogin, ThreadedServer
from tests.e2e.test_slack_install import sign_in_as_admin
from tests.stack import REPO, Stack, stack_factory  # noqa: F401  (registers the fixture here)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP_ID = "33333333-4444-5555-6666-777777777777"
TENANT = "cccccccc-0000-1111-2222-333333333333"


@pytest.fixture(scope="module")
def login() -> Iterator[tuple[BotFrameworkLogin, str]]:
    stand_in = BotFrameworkLogin(APP_ID, "unused-password")
    server = ThreadedServer(stand_in.app).start()
    try:
        yield stand_in, f"http://localhost:{server.port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def teams_stack(stack_factory, login) -> Stack:  # noqa: F811
    assert (REPO / "web" / "dist" / "portal.js").exists(), "Build the widget first: make web"
    stand_in, login_url = login
    stack = stack_factory("teams-connect", backend_only=True, backend_env={
        "PORTAL_DEV_LOGIN": "true", "TEAMS_APP_ID": APP_ID, "TEAMS_LOGIN_URL": login_url})
    stand_in.redirect_uris.add(f"{stack.backend_url}/teams/consent/callback")
    return stack


def tenant_of_demo(stack: Stack) -> str | None:
    db = stack.database()
    try:
        with db.reader() as session:
            return session.scalar(select(Organisation.teams_tenant_id).where(
                Organisation.name == DEMO_ORGANISATION))
    finally:
        db.dispose()


def test_a_declined_consent_ends_on_a_page_saying_so(teams_stack: Stack, page: Page, login):
    stand_in, _ = login
    stand_in.consenting = TENANT
    sign_in_as_admin(page, teams_stack)

    page.get_by_role("button", name="Connect Microsoft Teams").click()
    expect(page.locator("h1")).to_contain_text("Permissions requested")
    page.get_by_role("link", name="Cancel").click()

    expect(page.locator("#sign-in-refused")).to_contain_text("consent was not given")
    assert tenant_of_demo(teams_stack) is None


def test_an_admin_connects_the_organisation_s_tenant(teams_stack: Stack, page: Page, login):
    stand_in, _ = login
    stand_in.consenting = TENANT
    sign_in_as_admin(page, teams_stack)

    page.get_by_role("button", name="Connect Microsoft Teams").click()
    expect(page.locator("h1")).to_contain_text("Permissions requested")
    page.get_by_role("link", name="Accept").click()

    expect(page.locator("#teams-status")).to_contain_text("Microsoft Teams is connected")
    expect(page.locator("#teams-tenant")).to_contain_text(TENANT)
    assert page.url.endswith("/portal?teams=connected")
    assert tenant_of_demo(teams_stack) == TENANT
    # Back from another site the session cookie (SameSite=Strict) stayed behind; the callback
    # asked again from its own page, which carried it.
    assert "&again=1 HTTP" in teams_stack.log("backend")
    assert stand_in.consents[-1]["tenant"] == "organizations"
