"""Never silence in a chat: with the action server killed in the middle of a conversation, a
message that needs a custom action gets UNANSWERED (Rasa itself logs the failed action and says
nothing); a risk message still gets the crisis answer; once the action server is back, the same
request is served as it is to someone who never met the outage."""

from __future__ import annotations

import pytest

from channels.admission import UNANSWERED
from tests.channels.standins import wait_for
from tests.channels.test_slack_live import _dm, _person

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _says(world, user: str, text: str, timeout: float = 30) -> list[str]:
    """Say `text` in the DM and wait for the bot's answer (its posts, until a second passes
    without a new one)."""
    before = len(world.slack.posts_to(f"D{user}"))
    _dm(world, user, text)
    wait_for(lambda: len(world.slack.posts_to(f"D{user}")) > before, timeout)
    settled: list[int] = []

    def no_more_posts() -> bool:
        settled.append(len(world.slack.posts_to(f"D{user}")))
        return len(settled) > 4 and settled[-1] == settled[-5]

    wait_for(no_more_posts, timeout, interval=0.25)
    return [post["text"] for post in world.slack.posts_to(f"D{user}")[before:]]


def test_the_action_server_down_gets_an_answer_and_the_conversation_resumes(channel_world):
    user = _person(channel_world, "UDOWN1", "Dana Down")
    assert _says(channel_world, user, "hello")[0].startswith("Hello!")

    channel_world.stack.kill("actions")
    try:
        assert _says(channel_world, user, "I'd like to find a therapist") == [UNANSWERED]
        crisis = _says(channel_world, user, "I want to kill myself")
        assert any("116 123" in text for text in crisis) and UNANSWERED not in crisis
    finally:
        channel_world.stack.restart_actions()

    resumed = _says(channel_world, user, "I'd like to find a therapist", timeout=60)
    # Served as someone in the same position who never met the outage is served.
    control = _person(channel_world, "UDOWN2", "Dora Down")
    assert resumed == _says(channel_world, control, "I'd like to find a therapist", timeout=60)
    assert UNANSWERED not in resumed
