"""Fixtures of the end-to-end modules: each module names its own `stack` (a running
tests.stack.Stack); these give an HTTP session and the backend's API for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.e2e.backend_api import BackendApi
from tests.stack import Stack


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def backend(stack: Stack, http: aiohttp.ClientSession) -> BackendApi:
    return BackendApi(http, stack.backend_url, stack.service_token)
