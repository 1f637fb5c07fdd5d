"""benchmarks/turns.py against a stand-in of the dev_rest channel (a real HTTP server): it plays
the assistant's conversation, a new sender each time, and reports what it measured."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from aiohttp import web

from benchmarks import turns
from benchmarks.starter import ASSISTANT_SCRIPT


async def _serve(status: int) -> tuple[web.AppRunner, str, dict[str, list[str]]]:
    heard: dict[str, list[str]] = defaultdict(list)

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        heard[body["sender"]].append(body["message"])
        await asyncio.sleep(0.01)
        return web.json_response([{"text": "ok"}], status=status)

    app = web.Application()
    app.router.add_post(turns.WEBHOOK, webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", heard


async def test_conversations_are_played_whole_and_reported(capsys) -> None:
    runner, url, heard = await _serve(200)
    try:
        await turns.run(url, seconds=0.5, concurrency=2)
    finally:
        await runner.cleanup()
    assert len(heard) >= 2  # a new sender per conversation, two at a time
    assert all(messages == list(ASSISTANT_SCRIPT) for messages in heard.values())
    output = capsys.readouterr().out
    assert f"concurrency 2: {len(heard)} conversations in" in output
    for message in ASSISTANT_SCRIPT:
        assert f"  {message[:45]}" in output


async def test_a_failed_turn_stops_the_run_with_what_failed() -> None:
    runner, url, _ = await _serve(503)
    try:
        with pytest.raises(turns.TurnFailed, match="503 for 'hello'"):
            await turns.run(url, seconds=0.5, concurrency=1)
    finally:
        await runner.cleanup()


def test_help(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        turns.main(["--help"])
    assert done.value.code == 0
    assert "--concurrency" in capsys.readouterr().out
