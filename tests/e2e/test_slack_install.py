""""Add to Slack" in headless Chromium: the admin signs in to the portal (the real backend
process, started as users start it), presses the button, allows the app on the Slack stand-in's
consent page (served from another site, http://localhost, so the browser comes back cross-site
as it does from slack.com), and is back on the portal with the workspace connected, welcomed in
Slack with the new token; "Disconnect Slack" asks first, then forgets the workspace (its token
deleted). A forged state ends on a page saying so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, text

from backend.models import Organisation
from backend.seed import DEMO_ORGANISATION
from tests.channels.standins import SlackWebApi, ThreadedServer
from tests.stack import REPO, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENT_ID, CLIENT_SECRET = "4242.1717", "e2e-slack-client-secret"
TOKEN_KEYS = "e2e-slack-token-key-long-enough-00000000000"


@pytest.fixture(scope="module")
def slack() -> Iterator[tuple[SlackWebApi, str]]:
    stand_in = SlackWebApi("xoxb-unused", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with ThreadedServer(stand_in.app) as server:
        yield stand_in, f"http://localhost:{server.port}"


@pytest.fixture(scope="module")
def install_stack(stack_factory, slack) -> Stack:
    assert (REPO / "web" / "dist" / "portal.js").exists(), "Build the widget first: make web"
    _, slack_url = slack
    return stack_factory("slack-install", backend_only=True, backend_env={
        "PORTAL_DEV_LOGIN": "true", "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_TOKEN_KEYS": TOKEN_KEYS,
        "SLACK_OAUTH_AUTHORIZE_URL": f"{slack_url}/oauth/v2/authorize",
        "SLACK_API_BASE_URL": f"{slack_url}/api/"})


def sign_in_as_admin(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.backend_url}/portal")
    select = page.get_by_label("Sign in as")
    admin = select.locator("option", has_text="admin").first.get_attribute("value")
    select.select_option(admin)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#signed-in-as")).to_contain_text("admin")


def test_an_admin_adds_the_app_to_the_organisation_s_workspace(install_stack: Stack,
                                                              page: Page, slack):
    stand_in, _ = slack
    stand_in.installing = ("TNORTHWINDE2E", "Northwind HQ", "UALICE")
    stand_in.add_user("TNORTHWINDE2E", "UALICE", "alice@northwind.example", "Alice Morgan")
    sign_in_as_admin(page, install_stack)

    page.get_by_role("button", name="Add to Slack").click()
    expect(page.locator("h1")).to_contain_text("Therapy Sessions is requesting permission")
    page.get_by_role("link", name="Allow").click()

    expect(page.locator("#slack-workspace")).to_contain_text("Northwind HQ")
    expect(page.locator("#slack-status")).to_contain_text("Slack is connected")
    assert page.url.endswith("/portal?slack=connected")
    [exchange] = stand_in.exchanges
    [welcome] = stand_in.posts_to("DUALICE")
    assert "Northwind" in welcome["text"]
    assert stand_in.tokens_posting_to("DUALICE") == [exchange["token"]]
    db = install_stack.database()
    try:
        with db.reader() as session:
            team = session.scalar(select(Organisation.slack_team_id).where(
                Organisation.name == DEMO_ORGANISATION))
            stored = session.execute(text("SELECT bot_token_sealed FROM slack_installations")
                                     ).scalar_one()
    finally:
        db.dispose()
    assert team == "TNORTHWINDE2E" and exchange["token"] not in stored
    # Back from another site the session cookie (SameSite=Strict) stayed behind; the callback
    # asked again from its own page, which carried it.
    assert "slack/callback?code=" in install_stack.log("backend")
    assert "&again=1 HTTP" in install_stack.log("backend")


def test_the_admin_disconnects_the_workspace_after_confirming(install_stack: Stack,
                                                              page: Page, slack):
    stand_in, _ = slack
    stand_in.installing = ("TNORTHWINDE2E", "Northwind HQ", "UALICE")
    sign_in_as_admin(page, install_stack)
    expect(page.locator("#slack-workspace, #add-to-slack")).to_be_visible()
    if not page.locator("#slack-workspace").count():  # run on its own: add it first
        page.get_by_role("button", name="Add to Slack").click()
        page.get_by_role("link", name="Allow").click()
    expect(page.locator("#slack-workspace")).to_contain_text("Northwind HQ")
    questions: list[str] = []

    def on_dialog(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", on_dialog)
    page.get_by_role("button", name="Disconnect Slack").click()

    expect(page.locator("#slack-status")).to_contain_text("Slack is disconnected")
    assert len(questions) == 1 and "Northwind HQ" in questions[0]
    expect(page.get_by_role("button", name="Add to Slack")).to_be_visible()
    db = install_stack.database()
    try:
        with db.reader() as session:
            team = session.scalar(select(Organisation.slack_team_id).where(
                Organisation.name == DEMO_ORGANISATION))
            tokens = session.execute(text("SELECT count(*) FROM slack_installations")).scalar()
    finally:
        db.dispose()
    assert team is None and tokens == 0


def test_a_forged_state_ends_on_a_page_saying_so(install_stack: Stack, page: Page):
    sign_in_as_admin(page, install_stack)

    page.goto(f"{install_stack.backend_url}/portal/slack/callback?code=abc&state=forged-state")

    expect(page.locator("#sign-in-refused")).to_contain_text("not valid any more")
    page.get_by_role("link", name="Back to the portal").click()
    expect(page.locator("#signed-in-as")).to_contain_text("admin")
