"""Slack and Teams are private by default: the bot converses in direct messages / the personal
scope. A mention in a shared channel gets a short public pointer and nothing else there; Slack
moves the conversation to the person's DM (conversations.open at the Web API stand-in)."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from channels.slack_protocol import POINTER as SLACK_POINTER
from channels.teams_protocol import POINTER as TEAMS_POINTER
from tests.channels.conftest import DEMO_TEAM
from tests.channels.standins import wait_for
from tests.channels.test_slack_live import _person, _post, _replies
from tests.channels.test_teams_live import _activity, _member, _token
from tests.channels.test_teams_live import _post as _post_teams

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _mention(world, user: str, channel: str, text: str) -> tuple[int, str]:
    ts = f"{time.time():.6f}"
    envelope = {"type": "event_callback", "team_id": DEMO_TEAM, "api_app_id": "A1",
                "event_id": f"Ev{uuid.uuid4().hex[:10]}", "event_time": 1,
                "event": {"type": "app_mention", "user": user, "channel": channel,
                          "text": f"<@UBOT> {text}", "ts": ts}}
    status, _, _ = _post(world, json.dumps(envelope).encode(), "application/json")
    return status, ts


def test_a_mention_in_a_channel_is_answered_in_a_direct_message(channel_world):
    user = _person(channel_world, "UPRIV1", "Priya Shah")
    channel = f"CPUBLIC{uuid.uuid4().hex[:6].upper()}"
    status, ts = _mention(channel_world, user, channel, "what does coverage mean?")
    assert status == 200
    answer = _replies(channel_world, user, 1)[0]  # in D<user>, the DM conversations.open gave
    assert "coverage" in answer["text"].lower()
    assert "thread_ts" not in answer
    time.sleep(3)  # time enough for anything else to be said in the channel
    [pointer] = channel_world.slack.posts_to(channel)
    assert pointer["text"] == SLACK_POINTER.format(user=user)
    assert pointer["thread_ts"] == ts
    assert "conversations.open" in channel_world.slack.calls


def test_a_click_on_a_message_in_a_channel_is_answered_in_the_direct_message(channel_world):
    from urllib.parse import urlencode

    user = _person(channel_world, "UPRIV2", "Omar Haddad")
    channel = f"CPUBLIC{uuid.uuid4().hex[:6].upper()}"
    payload = {"type": "block_actions", "team": {"id": DEMO_TEAM},
               "user": {"id": user, "team_id": DEMO_TEAM}, "channel": {"id": channel},
               "container": {"type": "message", "message_ts": "1.1"}, "trigger_id": "t",
               "actions": [{"type": "button", "action_id": "rasa_button_0", "value": "/help",
                            "block_id": "b", "action_ts": f"{time.time():.6f}"}]}
    status, _, _ = _post(channel_world, urlencode({"payload": json.dumps(payload)}).encode(),
                         "application/x-www-form-urlencoded")
    assert status == 200
    assert _replies(channel_world, user, 1)
    time.sleep(2)
    assert [post["text"] for post in channel_world.slack.posts_to(channel)] == [
        SLACK_POINTER.format(user=user)]


def test_a_teams_channel_message_gets_only_a_pointer_to_a_personal_chat(channel_world):
    aad = "aad-channel-1"
    _member(channel_world, aad, "Lena Fischer")
    conversation = f"19:{uuid.uuid4().hex[:10]}@thread.tacv2;messageid=1"
    activity = _activity(channel_world, aad, conversation=conversation,
                         text="<at>Therapy bot</at> how many sessions do I have left?")
    activity["conversation"]["conversationType"] = "channel"
    status, _ = _post_teams(channel_world, activity, _token(channel_world))
    assert status == 200
    wait_for(lambda: channel_world.connector.replies_to(conversation), 60)
    time.sleep(3)
    [reply] = channel_world.connector.replies_to(conversation)
    assert reply["text"] == TEAMS_POINTER
    assert reply["replyToId"] == activity["id"]
