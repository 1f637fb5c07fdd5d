"""Retry memory, notices and the identity client (against a real aiohttp stand-in)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from channels.dedupe import MemoryDeduplicator, TTLSet
from channels.identity import IdentityClient, Notices, VerifiedUser
from contracts import identity
from contracts.backend_client import IdentityVerification, close_shared_session
from contracts.settings import BackendSettings


def test_ttl_set_forgets_after_ttl_and_stays_bounded():
    now = [0.0]
    seen = TTLSet(ttl=10, max_items=3, clock=lambda: now[0])
    assert seen.add("a") and not seen.add("a")
    now[0] = 11
    assert "a" not in seen and seen.add("a")
    for key in "bcde":
        seen.add(key)
    assert len(seen) == 3 and "a" not in seen and "e" in seen


async def test_memory_deduplicator_answers_once_under_concurrency():
    dedupe = MemoryDeduplicator(ttl=60)
    answers = await asyncio.gather(*(dedupe.first_time("Ev1") for _ in range(20)))
    assert answers.count(True) == 1


def test_notices_once_per_identity_and_never_for_members():
    notices = Notices()
    stranger = IdentityVerification("not_member", message="Ask your admin.")
    assert notices.due(stranger, "slack:T:U") == "Ask your admin."
    assert notices.due(stranger, "slack:T:U") is None
    assert notices.due(IdentityVerification("linked", message="x"), "slack:T:V") is None


async def test_identity_client_posts_the_acting_identity(aiohttp_server):
    seen = []

    async def verify(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.json()))
        if request.headers["X-Acting-For"] == "slack:T:bad":
            return web.json_response({"error": {"code": "x", "message": "no"}}, status=400)
        return web.json_response({"identity": request.headers["X-Acting-For"], "status": "joined",
                                  "member_id": 7, "organisation_id": 2, "role": "member",
                                  "message": None})

    app = web.Application()
    app.router.add_post("/identities/verify", verify)
    server = await aiohttp_server(app)
    client = IdentityClient(BackendSettings(str(server.make_url("")), "secret-token"))
    result = await client.verify(VerifiedUser(identity.slack("T", "U", "a@b.example"), "A"))
    assert result == IdentityVerification("joined", 7, 2, "member", None) and result.is_member
    headers, body = seen[0]
    assert headers["Authorization"] == "Bearer secret-token"
    assert headers["X-Acting-For"] == "slack:T:U"
    assert headers["X-Verified-Email"] == "a@b.example"
    assert body == {"email": "a@b.example", "name": "A"}
    assert (await client.verify(VerifiedUser(identity.slack("T", "bad")))).status == "unavailable"
    unreachable = IdentityClient(BackendSettings("http://127.0.0.1:9", "t",
                                                 identity_timeout_seconds=2))
    assert (await unreachable.verify(VerifiedUser(identity.slack("T", "U")))).status == (
        "unavailable")
    await close_shared_session()
