"""An API client that talks to the real aiohttp app over HTTP, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from backend.api.app import create_app
from backend.settings import Settings

SERVICE_TOKEN = "test-service-token"


class ApiClient:
    """Sends requests as a named chat identity with the service credential."""

    def __init__(self, client):
        self.client = client

    async def request(self, method: str, path: str, *, identity: str | None = "test:nobody",
                      json: Any = None, token: str = SERVICE_TOKEN, email: str | None = None,
                      **kwargs) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        if identity is not None:
            headers["X-Acting-For"] = identity
        if email:
            headers["X-Verified-Email"] = email
        headers.update(kwargs.pop("headers", {}))
        response = await self.client.request(method, path, json=json, headers=headers, **kwargs)
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


@pytest.fixture
async def api(aiohttp_client, db) -> ApiClient:
    settings = Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN)
    return ApiClient(await aiohttp_client(create_app(db, settings)))
