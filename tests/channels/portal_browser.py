"""A browser of the portal page in tests: its own cookie jar, the CSRF token the session answer
gives it, and the portal's Origin on every state-changing call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from backend.api import portal_auth

ORIGIN = "http://portal.test"


@dataclass
class Browser:
    client: TestClient
    origin: str = ORIGIN
    session: aiohttp.ClientSession = field(init=False)
    csrf: str = ""

    def __post_init__(self) -> None:
        # Each browser has its own cookies ("unsafe": the test server is on an IP address).
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def state(self) -> dict[str, Any]:
        async with self.session.get(self.url("/portal/api/session")) as response:
            assert response.status == 200
            body = await response.json()
        self.csrf = body["csrf_token"]
        return body

    async def post(self, path: str, body: Any = None, *, csrf: bool = True,
                   origin: str | None = ORIGIN) -> tuple[int, dict[str, Any]]:
        if not self.csrf:
            await self.state()
        headers = {} if origin is None else {"Origin": origin}
        if csrf:
            headers[portal_auth.CSRF_HEADER] = self.csrf
        async with self.session.post(self.url(path), json=body, headers=headers) as response:
            return response.status, await response.json()

    async def get(self, url: str) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.session.get(url, allow_redirects=False) as response:
            return response.status, await response.text(), response

    def cookie(self, name: str) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None

    async def close(self) -> None:
        await self.session.close()


class Browsers:
    """The browsers a test opens, each closed when the test ends (`close`)."""

    def __init__(self) -> None:
        self._opened: list[Browser] = []

    def open(self, client: TestClient) -> Browser:
        browser = Browser(client)
        self._opened.append(browser)
        return browser

    async def signed_in(self, client: TestClient, member_id: int) -> Browser:
        """A browser signed in to the portal as the member (the development sign-in)."""
        browser = self.open(client)
        status, _ = await browser.post("/portal/api/dev-login", {"member_id": member_id})
        assert status == 200
        await browser.state()
        return browser

    async def close(self) -> None:
        for browser in self._opened:
            await browser.close()
