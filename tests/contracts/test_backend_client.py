"""The backend client against a local aiohttp server: one pooled session, headers, errors."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from contracts import backend_client, identity
from contracts.backend_client import (
    BackendClient,
    BackendError,
    BackendUnavailable,
    IdentityVerification,
)
from contracts.http_session import SharedSession
from contracts.settings import BackendSettings

TOKEN = "test-service-token"
ANN = identity.slack("T1", "U1", "ann@acme.example")


@pytest.fixture
async def backend(aiohttp_server):
    """A stand-in backend that records who called, from which connection, with which headers."""
    seen: list[dict] = []

    async def record(request: web.Request) -> web.Response:
        seen.append({"peer": request.transport.get_extra_info("peername"),
                     "headers": dict(request.headers), "path": request.path,
                     "query": dict(request.query),
                     "body": await request.json() if request.can_read_body else None})
        return web.json_response({"ok": True})

    async def refuse(request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        return web.json_response({"error": {"code": "quota_full",
                                            "message": "All places are taken."}}, status=status)

    async def not_json(_: web.Request) -> web.Response:
        return web.Response(status=409, text="<html>proxy error</html>")

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def verify(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"identity": request.headers["X-Acting-For"],
                                  "status": "not_member", "message": "Ask your admin."})

    app = web.Application()
    app.router.add_route("*", "/record", record)
    app.router.add_get("/refuse/{status}", refuse)
    app.router.add_get("/not-json", not_json)
    app.router.add_get("/slow", slow)
    app.router.add_post("/identities/verify", verify)
    server = await aiohttp_server(app)
    server.seen = seen
    return server


@pytest.fixture
async def pool():
    session = SharedSession()
    yield session
    await session.close()


def _client(server, pool, who=ANN, **settings) -> BackendClient:
    return BackendClient(who, BackendSettings(str(server.make_url("/")), TOKEN, **settings),
                         session=pool)


async def test_many_requests_share_one_session_and_its_connection(backend, pool):
    for who in (ANN, identity.web(7), identity.dev("ben")):  # a client per action run
        for _ in range(10):
            assert await _client(backend, pool, who).get("/record") == {"ok": True}
    assert pool.created == 1
    assert len({call["peer"] for call in backend.seen}) == 1  # kept alive, reused
    # Concurrent requests open the connections they need, from the same pool.
    await asyncio.gather(*(_client(backend, pool).get("/record") for _ in range(10)))
    assert pool.created == 1 and len(backend.seen) == 40


async def test_the_shared_session_is_made_again_after_it_was_closed(backend):
    await _client(backend, backend_client.SESSION).get("/record")
    first = backend_client.SESSION()
    assert backend_client.SESSION() is first
    await backend_client.close_shared_session()
    assert first.closed
    await _client(backend, backend_client.SESSION).get("/record")
    assert backend_client.SESSION() is not first
    await backend_client.close_shared_session()


async def test_every_request_carries_the_credential_and_the_acting_identity(backend, pool):
    await _client(backend, pool).post("/record", {"code": "7KQ2M-X9D4R"})
    await _client(backend, pool, identity.dev("ben")).get("/record", params={"day": "monday"})
    posted, got = backend.seen
    assert posted["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert posted["headers"]["X-Acting-For"] == "slack:T1:U1"
    assert posted["headers"]["X-Verified-Email"] == "ann@acme.example"
    assert posted["body"] == {"code": "7KQ2M-X9D4R"}
    assert got["headers"]["X-Acting-For"] == "dev:ben"
    assert "X-Verified-Email" not in got["headers"]
    assert got["query"] == {"day": "monday"}


@pytest.mark.parametrize("status", [400, 403, 404, 409, 429])
async def test_refusals_carry_the_backend_s_message(backend, pool, status):
    with pytest.raises(BackendError) as refused:
        await _client(backend, pool).get(f"/refuse/{status}")
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        status, "quota_full", "All places are taken.")


@pytest.mark.parametrize("path", ["/refuse/500", "/refuse/503", "/refuse/401", "/not-json"])
async def test_failures_on_the_backend_s_side_are_unavailable(backend, pool, path):
    with pytest.raises(BackendUnavailable):
        await _client(backend, pool).get(path)


async def test_an_unreachable_or_slow_backend_is_unavailable(backend, pool):
    with pytest.raises(BackendUnavailable):
        await _client(backend, pool, timeout_seconds=0.3).get("/slow")
    unreachable = BackendClient(ANN, BackendSettings("http://127.0.0.1:9", TOKEN),
                                timeout_seconds=2, session=pool)
    with pytest.raises(BackendUnavailable):
        await unreachable.get("/record")


async def test_identity_verification_answer(backend, pool):
    answer = await _client(backend, pool).verify_identity("Ann")
    assert answer == IdentityVerification("not_member", message="Ask your admin.")
    assert not answer.is_member
    assert backend.seen[0]["body"] == {"email": "ann@acme.example", "name": "Ann"}
    assert IdentityVerification("joined").is_member and IdentityVerification("linked").is_member
