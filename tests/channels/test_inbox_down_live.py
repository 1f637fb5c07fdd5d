"""The durable inbox down (its SQLite file locked by another writer, as a Redis outage would
leave it): a Slack message is still answered, a risk message with the crisis answer, and Slack's
retry of the same event is not answered twice. Durability is what is lost, not the answer."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.channels.test_action_server_down_live import _says
from tests.channels.test_slack_live import _dm, _person

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@contextmanager
def _inbox_locked(world) -> Iterator[None]:
    """Hold the inbox file's write lock: the server's writes wait their timeout, then fail."""
    holder = sqlite3.connect(world.stack.workdir / "chat-inbox.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_with_the_inbox_down_messages_are_answered_once(channel_world):
    user = _person(channel_world, "UINBOX1", "Ines Inbox")
    with _inbox_locked(channel_world):
        crisis = _says(channel_world, user, "I want to kill myself", timeout=60)
        assert any("116 123" in text for text in crisis), crisis
        answered = len(channel_world.slack.posts_to(f"D{user}"))
        # Slack delivers an event again when its answer was slow: the same event.
        event = {"event_id": "EvInboxDown1", "ts": f"{time.time():.6f}"}
        status, _, _ = _dm(channel_world, user, "what is the cancellation policy?", **event)
        assert status == 200
        retry_status, _, _ = _dm(channel_world, user, "what is the cancellation policy?",
                                 **event)
        assert retry_status == 200
        replies = _says(channel_world, user, "thanks", timeout=60)
    posts = [post["text"] for post in channel_world.slack.posts_to(f"D{user}")[answered:]]
    assert sum(text.startswith("You can cancel up to") for text in posts) == 1, posts
    assert replies
    assert "Could not keep Slack message" in channel_world.stack.log("rasa")
