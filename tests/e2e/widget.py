"""The portal's chat widget as a person uses it in headless Chromium (`Widget`, `sign_in`), the
`page` it runs in (fails the test on any script or console error), and the settings of the web
stack (`web_stack` in tests/e2e/conftest.py): the identity secret, the sign-in key, and an
intranet on another origin that embeds the widget."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect, sync_playwright

from tests.mail_server import Inbox

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SECRET = "e2e-web-identity-secret-long-enough-0123456789"
ENCRYPTION_KEY = "e2e-signin-encryption-key-long-enough-0000"
REPLY_TIMEOUT_MS = 60_000


@dataclass
class Intranet:
    """An organisation's own site, on another origin, that embeds the widget."""

    html: str = "<!doctype html><title>Intranet</title><p>Not set up yet.</p>"

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=self.html, content_type="text/html")


@pytest.fixture(name="page")
def checked_page() -> Iterator[Page]:
    """A page that fails its test on a script error, a console error or a failed request (the
    `page` of the modules that import it)."""
    # Per test (a launch takes about a second): Playwright's synchronous API must not be alive
    # while the asyncio tests of this module run their own event loop.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" else None)
        yield page
        browser.close()
    # No script error, no resource refused by the Content-Security-Policy, no failed request.
    assert problems == []


@dataclass
class Widget:
    """Drives the chat widget as a person would: typing, pressing Enter, clicking buttons."""

    page: Page

    @property
    def log(self):
        return self.page.get_by_role("log", name="Conversation")

    def open(self, status: str) -> None:
        self.page.get_by_role("button", name="Chat with the assistant").click()
        expect(self.page.get_by_label("Your message")).to_be_focused()
        expect(self.page.get_by_role("status").filter(has_text="Connected")).to_contain_text(
            status, timeout=REPLY_TIMEOUT_MS)

    def bot_count(self) -> int:
        return self.page.locator(".msg-bot").count()

    def wait_for_reply(self, after: int, pattern: str) -> str:
        """The first new bot message (after `after` of them) matching `pattern`."""
        self.page.wait_for_function(
            """([after, pattern]) => [...document.querySelectorAll('.msg-bot')].slice(after)
                   .some((node) => new RegExp(pattern, 'i').test(node.textContent))""",
            arg=[after, pattern], timeout=REPLY_TIMEOUT_MS)
        texts = self.page.locator(".msg-bot").all_inner_texts()[after:]
        return next(text for text in texts if re.search(pattern, text, re.I))

    def say(self, text: str, expect_reply: str) -> str:
        before = self.bot_count()
        box = self.page.get_by_label("Your message")
        box.fill(text)
        box.press("Enter")
        return self.wait_for_reply(before, expect_reply)

    def choose(self, title: str | re.Pattern, expect_reply: str) -> str:
        before = self.bot_count()
        choices = self.log.get_by_role("button", name=title).and_(
            self.page.locator("button:enabled"))
        choices.last.focus()
        self.page.keyboard.press("Enter")  # keyboard-usable, like a click
        return self.wait_for_reply(before, expect_reply)


def sign_in(page: Page, base_url: str, inbox: Inbox, email: str, name: str) -> None:
    """Sign in as a person does: type the address, open the link from the mail."""
    page.goto(f"{base_url}/portal")
    expect(page.get_by_text("Development sign-in.")).to_have_count(0)
    already = len(inbox.to(email))
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.locator("#sign-in-answer")).to_contain_text("sign-in link is on its way")
    link = inbox.link_in(inbox.wait_for(email, already + 1))
    page.goto(link)
    expect(page.locator("#signed-in-as")).to_contain_text(f"Signed in as {name}")

