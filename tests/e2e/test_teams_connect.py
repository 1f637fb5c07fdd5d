""""Connect Microsoft Teams" in headless Chromium: the admin signs in to the portal (the real
backend process, started as users start it), presses the button, accepts on the Microsoft login
stand-in's admin-consent page (served from another site, http://localhost, so the browser comes
back cross-site as it does from login.microsoftonline.com), is signed in with Microsoft by the
stand-in (OpenID Connect, an ID token signed as Microsoft signs them, naming the admin's
tenant), and is back on the portal with that tenant connected; "Disconnect" beside it asks first
(dismissed: nothing changes), then disconnects it, and it can be connected again. A declined
consent, and a `tenant=` edited on the way back from the consent, end on a page saying so."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.models import Organisation
from backend.seed import DEMO_ORGANISATION
from tests.channels.standins import BotFrameworkLogin, ThreadedServer
from tests.e2e.test_slack_install import sign_in_as_admin
from tests.stack import REPO, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP_ID = "33333333-4444-5555-6666-777777777777"
APP_PASSWORD = "e2e-teams-app-secret"
TENANT = "cccccccc-0000-1111-2222-333333333333"
OTHER_TENANT = "dddddddd-0000-1111-2222-333333333333"


@pytest.fixture(scope="module")
def login() -> Iterator[tuple[BotFrameworkLogin, str]]:
    stand_in = BotFrameworkLogin(APP_ID, APP_PASSWORD)
    with ThreadedServer(stand_in.app) as server:
        yield stand_in, f"http://localhost:{server.port}"


@pytest.fixture(scope="module")
def teams_stack(stack_factory, login) -> Stack:
    assert (REPO / "web" / "dist" / "portal.js").exists(), "Build the widget first: make web"
    stand_in, login_url = login
    stack = stack_factory("teams-connect", backend_only=True, backend_env={
        "PORTAL_DEV_LOGIN": "true", "TEAMS_APP_ID": APP_ID, "TEAMS_APP_PASSWORD": APP_PASSWORD,
        "TEAMS_LOGIN_URL": login_url})
    stand_in.redirect_uris |= {f"{stack.backend_url}/teams/consent/callback",
                               f"{stack.backend_url}/teams/sign-in/callback"}
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


def test_a_tenant_edited_on_the_way_back_is_refused(teams_stack: Stack, page: Page, login):
    stand_in, _ = login
    stand_in.consenting, stand_in.edit_tenant = TENANT, OTHER_TENANT
    sign_in_as_admin(page, teams_stack)

    try:
        page.get_by_role("button", name="Connect Microsoft Teams").click()
        expect(page.locator("h1")).to_contain_text("Permissions requested")
        page.get_by_role("link", name="Accept").click()

        expect(page.locator("#sign-in-refused")).to_contain_text(
            f"Microsoft signed you in with an account of the tenant {TENANT}")
    finally:
        stand_in.edit_tenant = None
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
    # Back from another site the session cookie (SameSite=Strict) stayed behind; the consent's
    # callback asked again from its own page, which carried it. (The sign-in's callback is
    # reached by redirects from that page, the stand-in signing in at once, so Chromium sends
    # the cookie there; without it, it would ask again the same way:
    # tests/channels/test_teams_consent.py.)
    log = teams_stack.log("backend")
    assert re.search(r"/teams/consent/callback\?\S*&again=1 HTTP", log)
    assert re.search(r"/teams/sign-in/callback\?\S* HTTP/1.1\" 303", log)
    assert stand_in.consents[-1]["tenant"] == "organizations"
    assert stand_in.sign_ins[-1]["scope"] == "openid profile"
    assert stand_in.openid.exchanges[-1]["code_verifier"]  # PKCE


def test_the_admin_disconnects_the_tenant_after_confirming(teams_stack: Stack, page: Page,
                                                            login):
    stand_in, _ = login
    stand_in.consenting = TENANT
    sign_in_as_admin(page, teams_stack)
    if tenant_of_demo(teams_stack) is None:  # run on its own: connect first
        page.get_by_role("button", name="Connect Microsoft Teams").click()
        page.get_by_role("link", name="Accept").click()
        expect(page.locator("#teams-tenant")).to_contain_text(TENANT)
    questions: list[str] = []

    def answer(accept: bool):
        def on_dialog(dialog) -> None:
            questions.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()
        return on_dialog

    page.once("dialog", answer(False))
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#teams-tenant")).to_contain_text(TENANT)
    assert len(questions) == 1 and TENANT in questions[0]
    assert tenant_of_demo(teams_stack) == TENANT

    page.once("dialog", answer(True))
    page.get_by_role("button", name="Disconnect", exact=True).click()

    expect(page.locator("#teams-status")).to_contain_text("Microsoft Teams is disconnected")
    assert page.url.endswith("/portal?teams=disconnected")
    expect(page.get_by_role("button", name="Connect Microsoft Teams")).to_be_visible()
    expect(page.locator("#teams-tenant")).to_have_count(0)
    assert tenant_of_demo(teams_stack) is None
    assert "POST /portal/api/teams/disconnect HTTP/1.1\" 200" in teams_stack.log("backend")
    # Connected again, as the first time.
    page.get_by_role("button", name="Connect Microsoft Teams").click()
    page.get_by_role("link", name="Accept").click()
    expect(page.locator("#teams-tenant")).to_contain_text(TENANT)
    assert tenant_of_demo(teams_stack) == TENANT
