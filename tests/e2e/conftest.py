"""Fixtures of the end-to-end modules (their shared `stack` is tests/conftest.py's): an HTTP
session and the backend's API for it, a page of headless Chromium (`page`) for the modules
that need no more of the browser, and `web_stack`, the processes behind the portal's chat widget,
with its mail server (`inbox`) and an intranet that embeds it (the web modules share them)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from playwright.sync_api import Page, sync_playwright

from tests.channels.standins import ThreadedServer
from tests.e2e.backend_api import BackendApi
from tests.e2e.people import DevPeople
from tests.e2e.widget import CHROMIUM, ENCRYPTION_KEY, SECRET, Intranet
from tests.mail_server import Inbox, running_inbox
from tests.stack import REPO, Stack


@pytest.fixture(scope="session")
def inbox() -> Iterator[Inbox]:
    yield from running_inbox()


@pytest.fixture(scope="session")
def intranet() -> Iterator[tuple[Intranet, str]]:
    site = Intranet()
    app = web.Application()
    app.router.add_get("/", site.page)
    with ThreadedServer(app) as server:
        yield site, server.url


@pytest.fixture(scope="session")
def web_stack(stack_factory, inbox: Inbox, intranet) -> Stack:
    assert (REPO / "web" / "dist" / "portal.js").exists(), "Build the widget first: make web"
    # The portal's own origin and the intranet's may open the chat (both processes agree).
    origins = {"WEB_ALLOWED_ORIGINS": f"{{backend_url}} {intranet[1]}"}
    return stack_factory(
        "web",
        credentials={"channels.webchat.WebChatInput": {"socketio_path": "/socket.io"}},
        backend_env={"PORTAL_DEV_LOGIN": "false", "WEB_IDENTITY_SECRET": SECRET,
                     "SIGNIN_ENCRYPTION_KEY": ENCRYPTION_KEY, **origins, **inbox.settings()},
        rasa_env={"WEB_IDENTITY_SECRET": SECRET, "WEB_SESSION_CHECK_SECONDS": "1", **origins},
    )


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser.new_context().new_page()
        browser.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def backend(stack: Stack, http: aiohttp.ClientSession) -> BackendApi:
    return BackendApi(http, stack.backend_url, stack.service_token)


@pytest.fixture
def people(stack: Stack, http: aiohttp.ClientSession) -> DevPeople:
    """The demo organisation's people and newcomers over the development REST channel."""
    return DevPeople(stack, http)
