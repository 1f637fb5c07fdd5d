"""An API client that talks to the real aiohttp app over HTTP, on both databases.

Every JSON answer is checked against the app's own /openapi.json: the schema of the operation and
status it came from (the error answer for a refusal), so each API test also tests the document.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
from aiohttp import web

from backend.api.app import create_app
from backend.settings import Settings

SERVICE_TOKEN = "test-service-token"


class DocumentedAnswers:
    """The answer schemas of an OpenAPI document, found by method, concrete path and status."""

    def __init__(self, document: dict[str, Any]):
        self.components = document["components"]
        self.operations = [
            (re.compile(re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), method.upper(),
             operation["responses"])
            for template, methods in document["paths"].items()
            for method, operation in methods.items()]

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        responses = next((responses for pattern, verb, responses in self.operations
                          if verb == method.upper() and pattern.match(path.split("?")[0])),
                         None)
        if responses is None:  # no route: aiohttp's 404/405, rendered by the error middleware
            responses = {"4XX": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ErrorAnswer"}}}}}
        described = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
        schema = described["content"]["application/json"]["schema"]
        jsonschema_rs.validate({**schema, "components": self.components}, body)


class ApiClient:
    """Sends requests as a named chat identity with the service credential."""

    def __init__(self, client, answers: DocumentedAnswers):
        self.client = client
        self.answers = answers

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
        if body is not None:
            self.answers.check(method, path, response.status, body)
        return response.status, body


async def connect(aiohttp_client, app: web.Application) -> ApiClient:
    """An ApiClient of `app`, served over HTTP, checking answers against its own document."""
    client = await aiohttp_client(app)
    document = await (await client.get("/openapi.json")).json()
    return ApiClient(client, DocumentedAnswers(document))


@pytest.fixture
async def api(aiohttp_client, db) -> ApiClient:
    return await connect(aiohttp_client,
                         create_app(db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN)))
