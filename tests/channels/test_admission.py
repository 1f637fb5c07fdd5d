"""What every channel lets through to the bot: length, turns a minute, the risk check, redaction.

The Redis counter runs against the real Redis of the test machine (TEST_REDIS_URL, default
redis://127.0.0.1:6379/15), as two Rasa servers would share it.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest

from channels.admission import (
    Admission,
    Admitted,
    Answered,
    RiskScan,
    clauses,
    risky_clause,
    scan_for_risk,
    too_long,
)
from channels.turns import MemoryTurnCounter, RedisTurnCounter, build_turn_counter
from contracts.redaction import PLACEHOLDER
from contracts.settings import ChatLimitSettings, SettingsError

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RISK = "I want to kill myself"


def admission(**settings) -> Admission:
    return Admission(ChatLimitSettings(**{"max_message_chars": 100, "turns_per_minute": 3,
                                          **settings}), MemoryTurnCounter(clock=lambda: 0.0))


def sender() -> str:
    return f"dev:{uuid.uuid4().hex[:8]}"


def test_settings_have_documented_defaults_and_read_the_environment():
    assert ChatLimitSettings.from_environment({}) == ChatLimitSettings(2000, 262_144, 30, None)
    assert ChatLimitSettings.from_environment({
        "CHAT_MAX_MESSAGE_CHARS": "500", "CHAT_MAX_REQUEST_BYTES": "65536",
        "CHAT_TURNS_PER_MINUTE": "5", "CHAT_LIMITS_REDIS_URL": REDIS_URL,
    }) == ChatLimitSettings(500, 65536, 5, REDIS_URL)
    with pytest.raises(SettingsError, match="CHAT_TURNS_PER_MINUTE"):
        ChatLimitSettings.from_environment({"CHAT_TURNS_PER_MINUTE": "many"})


async def test_a_message_within_the_limits_is_admitted_with_card_numbers_redacted():
    decision = await admission().admit("my card is 4242 - 4242 - 4242 - 4242", sender())
    assert decision == Admitted(f"my card is {PLACEHOLDER}")


async def test_a_message_over_the_length_is_answered_without_the_bot():
    decision = await admission().admit("a" * 101, sender())
    assert decision == Answered("That message is too long for me (101 characters); please send "
                                "up to 100.")
    assert await admission().admit("a" * 100, sender()) == Admitted("a" * 100)


async def test_a_sender_over_the_turns_a_minute_is_answered_and_others_are_not():
    gate, flooder = admission(), sender()
    decisions = [await gate.admit("hi", flooder) for _ in range(5)]
    assert decisions[:3] == [Admitted("hi")] * 3
    assert all(isinstance(d, Answered) and "faster than I can answer" in d.answer
               and "more than 3 a minute" in d.answer for d in decisions[3:])
    assert await gate.admit("hi", sender()) == Admitted("hi")


async def test_a_risk_message_is_never_held_back_by_the_turn_limit():
    gate, person = admission(), sender()
    for _ in range(4):
        await gate.admit("hi", person)
    assert await gate.admit(RISK, person) == Admitted(RISK)


async def test_an_over_long_message_whose_risk_is_one_clause_reaches_the_bot_with_it():
    text = "Work has been hard. " * 50 + f"Honestly {RISK}. " + "My card is 4242424242424242. " \
        + "Anyway. " * 30
    decision = await admission().admit(text, sender())
    assert isinstance(decision, Admitted)
    assert decision.text.startswith(text[:100])
    assert decision.text.endswith(f"Honestly {RISK}")
    assert len(decision.text) < 100 + 40


async def test_card_numbers_in_the_clause_of_an_over_long_risk_message_are_redacted():
    text = "x" * 150 + f" {RISK} with card 4242 4242 4242 4242"
    decision = await admission().admit(text, sender())
    assert isinstance(decision, Admitted)
    assert "4242" not in decision.text and PLACEHOLDER in decision.text


def test_a_long_clause_is_looked_at_in_overlapping_pieces():
    clause = "blah " * 200 + RISK + " blah" * 200  # one clause of about 2,000 characters
    assert all(len(piece) <= 400 for piece in clauses(clause))
    assert RISK in (risky_clause(clause) or "")
    assert risky_clause("blah " * 1000) is None


async def test_a_200_kb_message_is_decided_quickly_and_the_event_loop_keeps_turning():
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    background = asyncio.create_task(ticker())
    started = time.monotonic()
    decision = await admission(max_message_chars=2000).admit("end it " * 29_000, sender())
    elapsed = time.monotonic() - started
    background.cancel()
    assert isinstance(decision, Answered) and "too long" in decision.answer
    assert elapsed < 5
    assert ticks >= elapsed * 100 / 4  # the loop ran while the message was looked at


async def test_memory_counts_start_again_each_minute():
    now = [600.0]
    counter = MemoryTurnCounter(clock=lambda: now[0])
    assert [await counter.count("a") for _ in range(3)] == [1, 2, 3]
    now[0] += 60
    assert await counter.count("a") == 1


async def test_memory_counts_keep_at_most_max_senders():
    counter = MemoryTurnCounter(max_senders=2)
    for name in ("a", "b", "c"):
        await counter.count(name)
    assert await counter.count("a") == 1  # forgotten as the oldest
    assert await counter.count("c") == 2


async def test_redis_counts_are_shared_between_servers():
    # One fixed minute, so that the four turns cannot straddle two windows.
    first, second = (RedisTurnCounter(REDIS_URL, clock=lambda: 600.0) for _ in range(2))
    gates = [Admission(ChatLimitSettings(turns_per_minute=3, redis_url=REDIS_URL), counter)
             for counter in (first, second)]
    person = sender()
    try:
        decisions = [await gates[turn % 2].admit("hi", person) for turn in range(4)]
        assert decisions[:3] == [Admitted("hi")] * 3
        assert isinstance(decisions[3], Answered)
    finally:
        await first.close()
        await second.close()


async def test_when_redis_is_down_turns_are_let_through():
    counter = RedisTurnCounter("redis://127.0.0.1:1/0")
    gate = Admission(ChatLimitSettings(turns_per_minute=1), counter)
    try:
        person = sender()
        assert [await gate.admit("hi", person) for _ in range(3)] == [Admitted("hi")] * 3
    finally:
        await counter.close()


def test_the_counter_is_chosen_by_the_setting():
    assert isinstance(build_turn_counter(None), MemoryTurnCounter)
    assert isinstance(build_turn_counter(REDIS_URL), RedisTurnCounter)


async def test_a_scan_handed_on_is_not_made_again(monkeypatch):
    """Slack and Teams scan a message first (to answer a risk before anything else) and hand
    the scan on: admit does not scan an over-long message a second time."""
    long_risk = "book a session. " * 20 + RISK
    scan = await scan_for_risk(long_risk, 100)
    assert scan == RiskScan(RISK)

    def scanned_again(*_):
        raise AssertionError("the message was scanned a second time")

    monkeypatch.setattr("channels.admission.risky_clause", scanned_again)
    monkeypatch.setattr("channels.admission.suggests_risk", scanned_again)
    assert await admission().admit(long_risk, sender(), scan) == Admitted(
        f"{long_risk[:100]} … {RISK}")
    assert await admission().admit("a" * 101, sender(), RiskScan(None)) == Answered(
        too_long(101, 100))
