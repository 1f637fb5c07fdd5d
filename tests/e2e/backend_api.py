"""The backend's HTTP API as the chat services call it: service token + the identity acted for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

ADMIN = "dev:alice"  # the demo organisation's admin (backend/seed.py)


class BackendRefused(AssertionError):
    pass


@dataclass
class BackendApi:
    session: aiohttp.ClientSession
    base_url: str
    service_token: str

    async def request(self, method: str, path: str, acting_for: str,
                      body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.service_token}", "X-Acting-For": acting_for}
        async with self.session.request(method, f"{self.base_url}{path}", json=body,
                                        headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=30)) as answer:
            payload = await answer.json()
            if answer.status >= 400:
                raise BackendRefused(f"{method} {path} as {acting_for}: {answer.status} {payload}")
            return payload

    async def get(self, path: str, acting_for: str) -> Any:
        return await self.request("GET", path, acting_for)

    async def post(self, path: str, acting_for: str, body: dict[str, Any] | None = None) -> Any:
        return await self.request("POST", path, acting_for, body or {})

    async def create_authorisation(self, sessions_per_user: int = 7,
                                   user_limit: int | None = None) -> dict[str, Any]:
        return await self.post("/authorisations", ADMIN, {
            "coverage": "first_relationship", "sessions_per_user": sessions_per_user,
            "user_limit": user_limit, "access": "invite_only"})

    async def create_invite(self, authorisation_id: int) -> str:
        """A new single-use invite code for the authorisation (as the demo admin)."""
        invite = await self.post(f"/authorisations/{authorisation_id}/invites", ADMIN)
        return invite["code"]
