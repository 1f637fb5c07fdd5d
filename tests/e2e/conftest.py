"""Fixtures of the end-to-end modules: each module names its own `stack` (a running
tests.stack.Stack); these give an HTTP session and the backend's API for it, and a page of
headless Chromium (`page`) for the modules that need no more of the browser."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.e2e.backend_api import BackendApi
from tests.e2e.people import DevPeople
from tests.stack import Stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


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
