"""The HTTP side of OpenID Connect: a provider's discovery document, its keys, the token
endpoint. Everything checked about what comes back lives in backend/services/signin/sso.py."""

from __future__ import annotations

from typing import Any

import aiohttp

DISCOVERY_PATH = "/.well-known/openid-configuration"


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable."""


class OidcClient:
    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def _json(self, method: str, url: str, **options: Any) -> dict[str, Any]:
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as http, \
                    http.request(method, url, **options) as answer:
                body = await answer.json(content_type=None)
                if answer.status >= 400 or not isinstance(body, dict):
                    raise ProviderError(f"{method} {url} answered {answer.status}")
                return body
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise ProviderError(f"{method} {url}: {error!r}") from None

    async def discover(self, issuer: str) -> dict[str, Any]:
        return await self._json("GET", issuer.rstrip("/") + DISCOVERY_PATH)

    async def keys(self, jwks_uri: str) -> dict[str, Any]:
        return await self._json("GET", jwks_uri)

    async def exchange(self, token_endpoint: str, form: dict[str, str]) -> dict[str, Any]:
        return await self._json("POST", token_endpoint, data=form,
                                headers={"Accept": "application/json"})
