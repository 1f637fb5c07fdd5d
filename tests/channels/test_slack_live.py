"""Slack over its real protocol: signed Events API and interactivity payloads posted to the
running Rasa server; replies arrive at a local stand-in for Slack's Web API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from backend.models import ChatIdentity, Member
from channels.slack_protocol import sign
from contracts.redaction import PLACEHOLDER
from tests.channels.conftest import DEMO_TEAM, SLACK_SECRET
from tests.channels.standins import wait_for


def _ours(metadata: dict) -> dict:
    """The channel's metadata, without what Rasa adds itself (model_id, assistant_id)."""
    return {key: value for key, value in metadata.items()
            if key not in {"model_id", "assistant_id"}}


pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _post(world, body: bytes, content_type: str, *, secret: str = SLACK_SECRET,
          timestamp: int | None = None, headers: dict[str, str] | None = None):
    ts = str(int(time.time()) if timestamp is None else timestamp)
    request = urllib.request.Request(world.slack_webhook, data=body, method="POST", headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(secret, ts, body), **(headers or {})})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.monotonic() - started


def _dm(world, user: str, text: str, *, team: str = DEMO_TEAM, event_id: str | None = None,
        ts: str | None = None, **kwargs):
    channel = f"D{user}"
    envelope = {"type": "event_callback", "team_id": team, "api_app_id": "A1",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}", "event_time": 1,
                "event": {"type": "message", "channel_type": "im", "user": user,
                          "channel": channel, "text": text,
                          "ts": ts or f"{time.time():.6f}"}}
    return _post(world, json.dumps(envelope).encode(), "application/json", **kwargs)


def _click(world, user: str, value: str, *, team: str = DEMO_TEAM):
    payload = {"type": "block_actions", "team": {"id": team},
               "user": {"id": user, "team_id": team}, "channel": {"id": f"D{user}"},
               "container": {"type": "message", "message_ts": "1.1"}, "trigger_id": "t",
               "actions": [{"type": "button", "action_id": "rasa_button_0", "value": value,
                            "block_id": "b", "action_ts": f"{time.time():.6f}"}]}
    return _post(world, urlencode({"payload": json.dumps(payload)}).encode(),
                 "application/x-www-form-urlencoded")


def _replies(world, user: str, count: int, timeout: float = 60):
    return wait_for(lambda: (posts := world.slack.posts_to(f"D{user}")) and
                    len(posts) >= count and posts, timeout)


def _buttons(post) -> list[dict]:
    return [element for block in post.get("blocks", []) if block["type"] == "actions"
            for element in block["elements"]]


def _person(world, user: str, name: str) -> str:
    sender = name.split()[0].lower()
    world.slack.add_user(DEMO_TEAM, user, f"{sender}@northwind.example", name)
    return user


def test_url_verification_answers_the_challenge(channel_world):
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}).encode()
    status, answer, _ = _post(channel_world, body, "application/json")
    assert (status, json.loads(answer)) == (200, {"challenge": "c-123"})


def test_greeting_gets_block_kit_buttons_and_a_click_is_the_users_next_message(channel_world):
    user = _person(channel_world, "UBEN1", "Ben Okafor")
    status, _, elapsed = _dm(channel_world, user, "hello")
    assert status == 200 and elapsed < 3
    [greeting] = _replies(channel_world, user, 1)
    buttons = _buttons(greeting)
    assert greeting["text"].startswith("Hello!")
    assert {b["value"] for b in buttons} >= {"/find_therapist", "/help"}
    status, _, elapsed = _click(channel_world, user, "/ask_remaining_sessions")
    assert status == 200 and elapsed < 3
    answer = _replies(channel_world, user, 2)[1]
    # The action asked the backend as Ben (linked through his verified email): his 7 sessions.
    assert "7" in answer["text"], answer
    tracker = channel_world.stack.tracker(f"slack:{DEMO_TEAM}:{user}")
    user_events = [e for e in tracker["events"] if e["event"] == "user"]
    assert _ours(user_events[-1]["metadata"]) == {"identity": f"slack:{DEMO_TEAM}:{user}",
                                                  "verified_email": "ben@northwind.example"}
    assert user_events[-1]["parse_data"]["intent"]["name"] == "ask_remaining_sessions"
    db = channel_world.stack.database()
    with db.reader() as session:
        linked = session.execute(select(Member.email).join(
            ChatIdentity, ChatIdentity.member_id == Member.id).where(
            ChatIdentity.channel == "slack", ChatIdentity.external_id == f"{DEMO_TEAM}:{user}")
        ).scalar_one()
    db.dispose()
    assert linked == "ben@northwind.example"


def test_a_retried_delivery_is_answered_once(channel_world):
    user = _person(channel_world, "UDAN1", "Dan Kowalski")
    event_id, ts = f"Ev{uuid.uuid4().hex[:10]}", f"{time.time():.6f}"
    assert _dm(channel_world, user, "hello", event_id=event_id, ts=ts)[0] == 200
    status, _, _ = _dm(channel_world, user, "hello", event_id=event_id, ts=ts,
                       headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert status == 200
    _replies(channel_world, user, 1)
    time.sleep(4)  # time enough for a second answer, were one coming
    assert len(channel_world.slack.posts_to(f"D{user}")) == 1


@pytest.mark.parametrize("case", ["wrong_secret", "stale", "future", "unsigned"])
def test_unverifiable_requests_are_refused_and_never_answered(channel_world, case):
    user = _person(channel_world, f"UBAD{case.upper()}", "Mallory")
    if case == "unsigned":
        body = json.dumps({"type": "event_callback", "team_id": DEMO_TEAM, "event_id": "EvU",
                           "event": {"type": "message", "channel_type": "im", "user": user,
                                     "channel": f"D{user}", "text": "hello"}}).encode()
        request = urllib.request.Request(channel_world.slack_webhook, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        status = refused.value.code
    else:
        options = {"wrong_secret": {"secret": "not-the-secret"},
                   "stale": {"timestamp": int(time.time()) - 6 * 60},
                   "future": {"timestamp": int(time.time()) + 6 * 60}}[case]
        status, _, _ = _dm(channel_world, user, "hello", **options)
    assert status in (401, 403)
    time.sleep(3)
    assert channel_world.slack.posts_to(f"D{user}") == []


def test_card_numbers_never_reach_rasa(channel_world):
    user = _person(channel_world, "UCHLOE1", "Chloe Evans")
    assert _dm(channel_world, user, "my card is 4242 4242 4242 4242 exp 12/30")[0] == 200
    _replies(channel_world, user, 1)
    tracker = channel_world.stack.tracker(f"slack:{DEMO_TEAM}:{user}")
    said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    stored = json.dumps(tracker)
    assert said and PLACEHOLDER in said[-1]
    # whole runs only: event timestamps may contain "4242" by chance
    assert "4242 4242" not in stored and "4242424242424242" not in stored


def test_a_user_from_an_unknown_workspace_is_told_why_and_can_still_ask(channel_world):
    channel_world.slack.add_user("TSTRANGER", "USTRANGER", "sam@stranger.example", "Sam")
    status, _, _ = _dm(channel_world, "USTRANGER", "what does coverage mean?", team="TSTRANGER")
    assert status == 200
    notice, answer = _replies(channel_world, "USTRANGER", 2)
    assert "isn't connected to an organisation" in notice["text"]
    assert "Coverage" in answer["text"] or "coverage" in answer["text"]
    # Told once, not on every message.
    assert _dm(channel_world, "USTRANGER", "hello", team="TSTRANGER")[0] == 200
    replies = _replies(channel_world, "USTRANGER", 3)
    time.sleep(2)
    texts = [p["text"] for p in channel_world.slack.posts_to("DUSTRANGER")]
    assert sum("isn't connected" in text for text in texts) == 1, replies
