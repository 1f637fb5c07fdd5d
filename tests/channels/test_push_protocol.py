"""What pushes carry (contracts/push.py) and the Teams conversation reference kept for them."""

from __future__ import annotations

import asyncio

from channels.dedupe import MemoryDeduplicator
from channels.teams_protocol import (
    REFERENCE_KEY,
    conversation_reference,
    latest_reference,
    proactive_activities,
    proactive_url,
)
from contracts import identity
from contracts.push import bot_event, conversation_id, output_channel, push_key_of, pushed_keys
from tests.channels.standins import teams_activity


def test_each_identity_is_pushed_to_the_conversation_its_channel_keys():
    assert conversation_id(identity.slack("T1", "U1")) == "slack:T1:U1"
    assert conversation_id(identity.web(7)) == "web:7"
    assert conversation_id(identity.dev("ben")) == "ben"
    assert [output_channel(i) for i in (identity.slack("T", "U"), identity.teams("t", "a"),
                                        identity.web(1), identity.dev("x"))] == [
        "slack", "teams", "webchat", "dev_rest"]
    assert output_channel(identity.ChatIdentity("test", "x")) is None


def test_a_push_key_travels_in_the_bot_event_and_is_found_in_the_tracker():
    event = bot_event("hi", [{"title": "A", "payload": "/a"}], "notification-1-dev:ben",
                      "test", 1.0)
    assert event["data"] == {"buttons": [{"title": "A", "payload": "/a"}]}
    # Rasa merges the event's metadata into the message it sends.
    assert push_key_of({"text": "hi", **event["metadata"]}) == "notification-1-dev:ben"
    assert pushed_keys({"events": [event, {"event": "user", "metadata": {}}]}) == {
        "notification-1-dev:ben"}


def test_the_teams_reference_is_the_last_message_s_and_posts_unasked():
    first = teams_activity("https://smba.example/emea/", conversation="a:one")
    last = teams_activity("https://smba.example/uk/", conversation="a:two")
    events = [{"event": "user", "metadata": {REFERENCE_KEY: conversation_reference(first)}},
              {"event": "bot", "text": "hello"},
              {"event": "user", "metadata": {REFERENCE_KEY: conversation_reference(last)}}]
    reference = latest_reference(events)
    assert reference is not None and reference["conversation"]["id"] == "a:two"
    assert "text" not in reference and "id" not in reference  # only where to write
    assert proactive_url(reference) == "https://smba.example/uk/v3/conversations/a%3Atwo/activities"
    [activity] = proactive_activities({"text": "A reminder"}, reference, "suggested")
    assert "replyToId" not in activity
    assert activity["recipient"] == last["from"] and activity["from"] == last["recipient"]
    assert latest_reference([{"event": "user", "metadata": {}}]) is None


def test_a_forgotten_push_key_can_be_sent_again():
    ledger = MemoryDeduplicator()

    async def run() -> list[bool]:
        first = await ledger.first_time("k")
        again = await ledger.first_time("k")
        await ledger.forget("k")
        return [first, again, await ledger.first_time("k")]

    assert asyncio.run(run()) == [True, False, True]
