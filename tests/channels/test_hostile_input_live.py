"""Hostile input harms no one, against the running stack (issue 9, items 3 and 8).

On the development REST channel and the website widget's socket.io channel (spoken here at the
engine.io/socket.io protocol level, as the widget's client library speaks it):
- a 200 KB message is answered "too long" at once, and a bystander's "hi" in another
  conversation is answered within 2 s meanwhile; a huge message whose risk is one clause still
  reaches the bot (crisis resources); a body over CHAT_MAX_REQUEST_BYTES gets 413;
- a sender over CHAT_TURNS_PER_MINUTE is told to slow down, yet a risk message still gets through;
- card numbers typed in every format reach neither the tracker nor any process's log.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp
import pytest
import websockets

from contracts import web_identity
from contracts.redaction import PLACEHOLDER
from contracts.settings import ChatLimitSettings
from contracts.web_identity import TokenConfig
from tests.channels.conftest import TURNS_PER_MINUTE, WEB_SECRET

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LIMITS = ChatLimitSettings()  # the stack runs with the defaults but for the turns a minute
RISK = "I want to kill myself"
CRISIS_WORDS = ("Samaritans", "999")
# A Luhn-valid number no other test uses, typed as people type it.
CARD = "4929731185632478"
TYPED = ["4929 - 7311 - 8563 - 2478", "4929/7311/8563/2478", "4929\u20137311\u20138563\u20132478",
         "4929 \u2014 7311 \u2014 8563 \u2014 2478", "4929  7311  8563  2478",
         "4929\t7311\t8563\t2478", "4929\n7311\n8563\n2478", "4929\r\n7311 / 8563\t2478",
         "4929.7311.8563.2478", "49297311 85632478"]


def test_the_card_is_a_card():
    from contracts.redaction import luhn_valid

    assert luhn_valid(CARD) and all(
        "".join(ch for ch in typed if ch.isdigit()) == CARD for typed in TYPED)


async def _say(session: aiohttp.ClientSession, world, sender: str, message: str,
               ) -> tuple[int, Any, float]:
    started = time.monotonic()
    async with session.post(f"{world.stack.rasa_url}/webhooks/dev_rest/webhook",
                            json={"sender": sender, "message": message}) as answer:
        body = await answer.json(content_type=None)
        return answer.status, body, time.monotonic() - started


def _texts(body: Any) -> str:
    return "\n".join(str(message.get("text") or "") for message in body)


def _sender(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


async def test_a_200_kb_message_is_answered_at_once_and_stalls_no_bystander(channel_world):
    huge = ("I have a question about my sessions and " * 5_000)[:200_000]
    attacker, bystander = _sender("attacker"), _sender("bystander")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        assert (await _say(session, channel_world, bystander, "hi"))[0] == 200  # warm up

        async def bystander_later() -> tuple[int, Any, float]:
            await asyncio.sleep(0.1)  # while the huge message is being handled
            return await _say(session, channel_world, bystander, "hi")

        (attack_status, answer, _), (status, greeting, waited) = await asyncio.gather(
            _say(session, channel_world, attacker, huge), bystander_later())
    print(f"bystander's hi answered in {waited:.2f} s during a 200 KB message")
    assert status == 200 and greeting and waited < 2, (waited, greeting)
    assert attack_status == 200
    assert answer == [{"recipient_id": attacker, "text": (
        f"That message is too long for me ({len(huge):,} characters); please send up to "
        f"{LIMITS.max_message_chars:,}.")}]
    # The bot never ran for them.
    assert not [e for e in channel_world.stack.tracker(attacker)["events"] if e["event"] == "user"]


async def test_a_huge_message_whose_risk_is_one_clause_reaches_the_bot(channel_world):
    person = _sender("risk")
    text = "Work has been a lot lately. " * 3_000 + f"Honestly {RISK}. " + "Anyway. " * 2_000
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        status, answer, _ = await _say(session, channel_world, person, text)
    assert status == 200
    assert all(word in _texts(answer) for word in CRISIS_WORDS), answer
    [said] = [e for e in channel_world.stack.tracker(person)["events"] if e["event"] == "user"]
    assert said["text"].endswith(f"Honestly {RISK}")
    assert len(said["text"]) < LIMITS.max_message_chars + 100


async def test_a_body_over_the_size_limit_is_refused_before_it_is_read(channel_world):
    url = f"{channel_world.stack.rasa_url}/webhooks/dev_rest/webhook"
    too_big = json.dumps({"sender": "big", "message": "a" * LIMITS.max_request_bytes})
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=too_big,
                                headers={"Content-Type": "application/json"}) as answer:
            assert answer.status == 413
            assert "too large" in (await answer.json())["error"]
        for body, error in ((b"not json", "not JSON"), (b"[1]", "not a JSON object"),
                            (b'{"sender": "x"}', '"message" must be a string'),
                            (b'{"message": "hi"}', '"sender" must be')):
            async with session.post(url, data=body) as answer:
                assert answer.status == 400
                assert error in (await answer.json())["error"]
        for webhook in (channel_world.slack_webhook, channel_world.teams_webhook):
            async with session.post(webhook, data=too_big) as answer:
                assert answer.status == 413, webhook


async def test_a_sender_over_the_turns_a_minute_is_told_and_a_risk_still_gets_through(
        channel_world):
    if time.time() % 60 > 40:  # the burst within one minute's window
        await asyncio.sleep(61 - time.time() % 60)
    person = _sender("flood")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        answers = await asyncio.gather(*(_say(session, channel_world, person, "hi")
                                         for _ in range(TURNS_PER_MINUTE + 3)))
        refused = [body for _, body, _ in answers if "faster than I can answer" in _texts(body)]
        assert len(refused) == 3
        status, crisis, _ = await _say(session, channel_world, person, RISK)
    assert status == 200 and all(word in _texts(crisis) for word in CRISIS_WORDS)


async def test_card_numbers_in_every_format_reach_no_tracker_and_no_log(channel_world):
    senders = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for typed in TYPED:
            senders.append(_sender("card"))
            status, answer, _ = await _say(session, channel_world, senders[-1],
                                           f"my card is {typed} exp 12/30")
            assert status == 200 and answer
    widget_senders = [await _widget_says(channel_world, f"card: {typed}", PLACEHOLDER)
                      for typed in TYPED]
    for sender in senders + widget_senders:
        said = [e["text"] for e in channel_world.stack.tracker(sender)["events"]
                if e["event"] == "user"]
        assert said and all(PLACEHOLDER in text for text in said), said
        assert CARD not in _digits(json.dumps(channel_world.stack.tracker(sender)))
    for process in ("rasa", "actions", "backend"):
        assert CARD not in _digits(channel_world.stack.log(process)), process


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


async def _widget_says(world, text: str, echoed: str) -> str:
    """Connect as an anonymous visitor, say `text`, wait for the echo (which contains `echoed`)
    and a reply; the sender."""
    sender = web_identity.new_anonymous_sender()
    visitor = web_identity.issue_anonymous_token(TokenConfig(WEB_SECRET), sender)
    url = world.stack.rasa_url.replace("http://", "ws://") + \
        "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, extra_headers={"Origin": world.stack.backend_url},
                                  max_size=None) as socket:
        assert (await socket.recv()).startswith("0")  # engine.io open
        await socket.send("40" + json.dumps({"visitor": visitor}))
        events = _SocketEvents(socket)
        await events.until(lambda packet: packet.startswith("40"))
        await socket.send("42" + json.dumps(["user_uttered", {"message": text, "id": "m1"}]))
        echo = await events.event("user_echo")
        assert echo["id"] == "m1" and echoed in echo["text"], echo
        await events.event("bot_uttered")
    return sender


class _SocketEvents:
    def __init__(self, socket) -> None:
        self.socket = socket

    async def until(self, wanted) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            packet = await asyncio.wait_for(self.socket.recv(), deadline - time.monotonic())
            if packet == "2":  # engine.io ping
                await self.socket.send("3")
            elif wanted(packet):
                return packet
        raise AssertionError("no such packet within 60 s")

    async def event(self, name: str) -> Any:
        packet = await self.until(lambda p: p.startswith("42") and json.loads(p[2:])[0] == name)
        return json.loads(packet[2:])[1]


async def test_a_widget_frame_over_the_size_limit_closes_only_that_connection(channel_world):
    url = channel_world.stack.rasa_url.replace("http://", "ws://") + \
        "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, extra_headers={"Origin": channel_world.stack.backend_url},
                                  max_size=None) as socket:
        await socket.recv()
        await socket.send("40{}")
        await socket.recv()
        await socket.send("42" + json.dumps(["user_uttered", {
            "message": "a" * LIMITS.max_request_bytes, "id": "big"}]))
        with pytest.raises(websockets.ConnectionClosed):
            for _ in range(10):
                await asyncio.wait_for(socket.recv(), 10)
    assert await _widget_says(channel_world, "hello", "hello")  # the channel still answers
