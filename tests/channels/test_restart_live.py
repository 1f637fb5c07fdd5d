"""Nothing acknowledged and then lost: a Slack message acknowledged with its 200, then the Rasa
server killed before it handled it (the Slack stand-in holds the speaker's users.info), is
answered once after Rasa starts again, from the channel's durable inbox."""

from __future__ import annotations

import time

import pytest

from tests.channels.conftest import DEMO_TEAM
from tests.channels.standins import wait_for
from tests.channels.test_slack_live import _dm, _person, _replies

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_message_acknowledged_then_cut_short_by_a_crash_is_answered_after_the_restart(
        channel_world):
    user = _person(channel_world, "URESTART1", "Rae Start")
    channel_world.slack.hold_users_info.set()
    try:
        calls_before = channel_world.slack.calls.count("users.info")
        status, _, _ = _dm(channel_world, user, "hello")
        assert status == 200  # acknowledged: Slack will not send it again
        wait_for(lambda: channel_world.slack.calls.count("users.info") > calls_before)
        channel_world.stack.kill("rasa")  # a crash: no drain, the message in hand
    finally:
        channel_world.slack.hold_users_info.clear()
    assert channel_world.slack.posts_to(f"D{user}") == []

    channel_world.stack.restart_rasa()
    [greeting] = _replies(channel_world, user, 1, timeout=120)
    assert greeting["text"].startswith("Hello!")
    time.sleep(4)  # time enough for a second answer, were one coming
    assert len(channel_world.slack.posts_to(f"D{user}")) == 1
    tracker = channel_world.stack.tracker(f"slack:{DEMO_TEAM}:{user}")
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == ["hello"]
