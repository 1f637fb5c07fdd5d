"""Slack protocol without Rasa: signatures, payload parsing, Block Kit rendering, users."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from channels import slack_protocol as sp

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def test_slack_documented_example_signature():
    # The worked example of https://api.slack.com/authentication/verifying-requests-from-slack
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
            b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
            b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
            b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sp.sign(SECRET, "1531420618", body) == signature
    sp.verify_signature(SECRET, "1531420618", body, signature, now=1531420618 + 10)


def test_valid_signature_now():
    ts = str(int(time.time()))
    sp.verify_signature(SECRET, ts, b"{}", sp.sign(SECRET, ts, b"{}"))


@pytest.mark.parametrize("case", ["wrong_secret", "tampered_body", "missing", "not_v0",
                                  "bad_timestamp", "no_secret"])
def test_bad_signatures_are_refused(case):
    ts = str(int(time.time()))
    body = b'{"type":"event_callback"}'
    signature = sp.sign(SECRET, ts, body)
    secret = SECRET
    if case == "wrong_secret":
        signature = sp.sign("other", ts, body)
    elif case == "tampered_body":
        body = body.replace(b"event", b"evil")
    elif case == "missing":
        signature = None
    elif case == "not_v0":
        signature = "v1=" + signature[3:]
    elif case == "bad_timestamp":
        ts = "soon"
    elif case == "no_secret":
        secret = ""
    with pytest.raises(sp.SignatureError):
        sp.verify_signature(secret, ts, body, signature)


@pytest.mark.parametrize("age", [301, -301, 86400])
def test_stale_or_future_timestamps_are_refused_even_with_a_valid_signature(age):
    now = 1_700_000_000
    ts = str(now - age)
    with pytest.raises(sp.SignatureError, match="window"):
        sp.verify_signature(SECRET, ts, b"{}", sp.sign(SECRET, ts, b"{}"), now=now)


def test_timestamps_inside_the_window_pass():
    now = 1_700_000_000
    for age in (0, 299, -299):
        ts = str(now - age)
        sp.verify_signature(SECRET, ts, b"{}", sp.sign(SECRET, ts, b"{}"), now=now)


def _event(event: dict, **envelope) -> bytes:
    return json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "Ev1",
                       "event": event} | envelope).encode()


def test_url_verification():
    body = json.dumps({"type": "url_verification", "challenge": "abc"}).encode()
    assert sp.parse_request("application/json", body) == sp.UrlVerification("abc")


def test_direct_message_event():
    parsed = sp.parse_request("application/json", _event(
        {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1",
         "text": "hello  there", "ts": "1.1"}))
    assert parsed == sp.IncomingMessage("message:D1:1.1", "T1", "U1", "D1", "hello there", None)


def test_a_mention_in_a_direct_message_is_one_message_not_two():
    said = {"user": "U1", "channel": "D1", "text": "<@UBOT> hi", "ts": "7.7"}
    as_im = sp.parse_request("application/json", _event(
        {"type": "message", "channel_type": "im", **said}, event_id="Ev1"))
    as_mention = sp.parse_request("application/json", _event(
        {"type": "app_mention", **said}, event_id="Ev2"))
    assert as_im.dedupe_key == as_mention.dedupe_key


def test_app_mention_strips_the_mention_and_answers_in_a_thread():
    parsed = sp.parse_request("application/json", _event(
        {"type": "app_mention", "user": "U1", "channel": "C1", "text": "<@UBOT> book please",
         "ts": "5.5"}))
    assert (parsed.text, parsed.thread_ts, parsed.channel_id) == ("book please", "5.5", "C1")


@pytest.mark.parametrize("channel,shared", [("C1", True), ("G1", True), ("D1", False)])
def test_a_mention_or_click_outside_a_direct_message_is_shared(channel, shared):
    mention = sp.parse_request("application/json", _event(
        {"type": "app_mention", "user": "U1", "channel": channel, "text": "<@UBOT> hi",
         "ts": "5.5"}))
    payload = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"},
               "channel": {"id": channel}, "trigger_id": "t",
               "actions": [{"type": "button", "value": "/help", "action_ts": "1.2"}]}
    click = sp.parse_interaction(payload)
    assert (mention.shared, click.shared) == (shared, shared)


def test_shared_channel_users_keep_their_own_team():
    parsed = sp.parse_request("application/json", _event(
        {"type": "app_mention", "user": "U9", "user_team": "T9", "channel": "C1",
         "text": "<@UBOT|bot> hi", "ts": "5.5"}))
    assert (parsed.team_id, parsed.user_id, parsed.text) == ("T9", "U9", "hi")


@pytest.mark.parametrize("event", [
    {"type": "message", "channel_type": "im", "bot_id": "B1", "user": "UB", "channel": "D1",
     "text": "our own reply"},
    {"type": "message", "channel_type": "im", "subtype": "message_changed", "channel": "D1"},
    {"type": "message", "channel_type": "channel", "user": "U1", "channel": "C1", "text": "hi"},
    {"type": "reaction_added", "user": "U1"},
    {"type": "message", "channel_type": "im", "channel": "D1", "text": "no user"},
])
def test_events_that_are_not_a_person_talking_to_the_bot_are_ignored(event):
    assert isinstance(sp.parse_request("application/json", _event(event)), sp.Ignored)


@pytest.mark.parametrize("event", [
    {"type": "app_uninstalled"},
    {"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": ["UBOT"]}},
])
def test_uninstall_and_bot_token_revocation_mean_the_workspace_is_gone(event):
    parsed = sp.parse_request("application/json", _event(event))
    assert parsed == sp.WorkspaceGone("T1", event["type"])


def test_revoking_user_tokens_only_or_without_a_team_is_ignored():
    user_only = {"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}}
    assert isinstance(sp.parse_request("application/json", _event(user_only)), sp.Ignored)
    body = json.dumps({"type": "event_callback", "event_id": "Ev1",
                       "event": {"type": "app_uninstalled"}}).encode()
    assert isinstance(sp.parse_request("application/json", body), sp.Ignored)


def _interaction(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_button_click_becomes_the_payload():
    body = _interaction({
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T1"},
        "channel": {"id": "D1"}, "container": {"type": "message", "message_ts": "1.2"},
        "trigger_id": "tr1",
        "actions": [{"type": "button", "action_id": "rasa_button_0", "value": '/pick{"n":1}',
                     "action_ts": "1700000000.1"}],
    })
    parsed = sp.parse_request("application/x-www-form-urlencoded", body)
    assert parsed == sp.IncomingMessage("click:T1:U1:1700000000.1", "T1", "U1", "D1",
                                        '/pick{"n":1}', None)


@pytest.mark.parametrize("payload", [
    {"type": "view_submission"},
    {"type": "block_actions", "user": {"id": "U1", "team_id": "T1"}, "channel": {"id": "D1"},
     "actions": [{"type": "static_select"}]},
])
def test_other_interactions_are_ignored(payload):
    assert isinstance(sp.parse_request("application/x-www-form-urlencoded",
                                       _interaction(payload)), sp.Ignored)


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/json", b"not json"), ("application/json", b"[1]"),
    ("application/x-www-form-urlencoded", b"nothing=here"),
])
def test_malformed_bodies_raise_value_error(content_type, body):
    with pytest.raises(ValueError):
        sp.parse_request(content_type, body)


def test_render_text_with_buttons_as_block_kit():
    [post] = sp.render_message({"text": "Pick **one** <b>", "buttons": [
        {"title": "Monday 9:00", "payload": "/choose{\"slot\":1}"},
        {"title": "x" * 100, "payload": "/long"},
    ]})
    assert post["text"] == "Pick **one** <b>"
    section, actions = post["blocks"]
    assert section == {"type": "section",
                       "text": {"type": "mrkdwn", "text": "Pick *one* &lt;b&gt;"}}
    assert actions["type"] == "actions"
    first, second = actions["elements"]
    assert first["type"] == "button" and first["value"] == '/choose{"slot":1}'
    assert first["text"] == {"type": "plain_text", "text": "Monday 9:00", "emoji": True}
    assert len(second["text"]["text"]) == sp.MAX_BUTTON_TEXT
    assert first["action_id"] != second["action_id"]


def test_many_buttons_are_split_into_blocks_of_25():
    [post] = sp.render_message({"text": "t", "buttons": [
        {"title": str(i), "payload": f"/p{i}"} for i in range(30)]})
    sizes = [len(block["elements"]) for block in post["blocks"] if block["type"] == "actions"]
    assert sizes == [25, 5]


def test_links_long_text_images_and_custom_blocks():
    posts = sp.render_message({"text": "See [the page](https://x.example/a) " + "y" * 3500,
                               "image": "https://x.example/i.png",
                               "custom": {"blocks": [{"type": "divider"}]}})
    first, custom = posts
    sections = [b for b in first["blocks"] if b["type"] == "section"]
    assert len(sections) == 2
    assert sections[0]["text"]["text"].startswith("See <https://x.example/a|the page>")
    assert any(b["type"] == "image" for b in first["blocks"])
    assert custom == {"blocks": [{"type": "divider"}]}
    assert sp.render_message({}) == []


def test_user_from_info():
    info = {"ok": True, "user": {"id": "U1", "team_id": "T1", "real_name": "Ann",
                                 "is_email_confirmed": True,
                                 "profile": {"email": "Ann@Acme.example", "real_name": "Ann A"}}}
    assert sp.user_from_info("T1", "U1", info) == sp.SlackUser("T1", "U1", "ann@acme.example",
                                                               "Ann A")
    unconfirmed = {"user": {**info["user"], "is_email_confirmed": False}}
    assert sp.user_from_info("T1", "U1", unconfirmed).email is None
    assert sp.user_from_info("T1", "U1", {"user": {"id": "U1", "deleted": True}}) is None
    assert sp.user_from_info("T1", "U1", {"user": {"id": "U1", "is_bot": True}}) is None
    assert sp.user_from_info("T1", "U1", {"user": {"id": "U2"}}) is None
    assert sp.user_from_info("T1", "U1", None) == sp.SlackUser("T1", "U1", None, None)
