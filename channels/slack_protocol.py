"""Slack's side of the conversation, without Rasa: request signatures, payload parsing, Block Kit.

- Requests are signed: X-Slack-Signature = "v0=" + HMAC-SHA256(signing secret,
  "v0:{X-Slack-Request-Timestamp}:{raw body}"), checked by slack_sdk's SignatureVerifier;
  requests older (or newer) than five minutes are refused.
- Events API bodies are JSON (`url_verification`, `event_callback`); interactive components
  (button clicks) arrive form-encoded as `payload=<json>` at the same address.
- Replies are `chat.postMessage` arguments: mrkdwn text plus Block Kit `actions` for buttons.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from contracts import identity
from contracts.identity import ChatIdentity

MAX_AGE_SECONDS = 300  # slack_sdk's window, checked first here to log why a request was refused
# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
MAX_SECTION_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTIONS_PER_BLOCK = 25
BUTTON_ACTION_PREFIX = "rasa_button_"
# Said in a channel, in the mention's thread, when the conversation moves to a direct message.
POINTER = "I've sent you a direct message, <@{user}>: let's talk there, in private."
NO_DIRECT_MESSAGE = ("I talk one to one only, <@{user}>: please send me a direct message "
                     "(Apps → Therapy Sessions → Messages).")

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


class SignatureError(Exception):
    """The request is not provably from Slack; the reason is for logs, never for the caller."""


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The v0 signature Slack sends for `body` (the tests' stand-in signs with it)."""
    return str(SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body))


def verify_signature(secret: str, timestamp: str | None, body: bytes, signature: str | None,
                     *, now: float | None = None) -> None:
    if not secret:
        raise SignatureError("no signing secret is configured")
    if not timestamp or not signature:
        raise SignatureError("signature headers missing")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError("timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > MAX_AGE_SECONDS:
        raise SignatureError("timestamp outside the allowed window (replay?)")
    verifier = SignatureVerifier(secret, clock=_FixedClock(current))
    try:
        valid = verifier.is_valid(body, timestamp, signature)
    except UnicodeDecodeError:  # the verifier signs the body as text
        valid = False
    if not valid:
        raise SignatureError("signature mismatch")


@dataclass(frozen=True)
class UrlVerification:
    challenge: str


@dataclass(frozen=True)
class IncomingMessage:
    """Something a person said or clicked, reduced to what the bot needs."""

    dedupe_key: str
    team_id: str
    user_id: str
    channel_id: str
    text: str
    thread_ts: str | None = None
    # Said in a channel others read (a mention, a click there): the bot answers in a DM.
    shared: bool = False


def is_direct(channel_id: str) -> bool:
    """Direct-message conversation ids start with D; channels with C, private ones with G."""
    return channel_id.startswith("D")


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class WorkspaceGone:
    """The app was uninstalled from a workspace, or its bot token revoked: the workspace is to be
    disconnected (`reason` is the event's type)."""

    team_id: str
    reason: str


SlackRequest = UrlVerification | IncomingMessage | WorkspaceGone | Ignored


def parse_request(content_type: str, body: bytes) -> SlackRequest:
    """Classify a (verified) request body. Raises ValueError when it is not Slack's format."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8"))
        if "payload" not in form:
            raise ValueError("form body without a payload")
        return parse_interaction(_json_object(form["payload"][0].encode()))
    envelope = _json_object(body)
    kind = envelope.get("type")
    if kind == "url_verification":
        return UrlVerification(str(envelope.get("challenge", "")))
    if kind == "event_callback":
        return parse_event(envelope)
    return Ignored(f"envelope type {kind!r}")


def parse_event(envelope: dict[str, Any]) -> SlackRequest:
    event = envelope.get("event") or {}
    event_type = event.get("type")
    if event_type in {"app_uninstalled", "tokens_revoked"}:
        return _workspace_gone(envelope, event)
    if event_type not in {"message", "app_mention"}:
        return Ignored(f"event type {event_type!r}")
    if event.get("bot_id") or event.get("subtype"):
        # Our own replies, edits, deletions, joins...: not something a person asked.
        return Ignored(f"message subtype {event.get('subtype') or 'bot_message'}")
    if event_type == "message" and event.get("channel_type") != "im":
        return Ignored("channel message without a mention (handled as app_mention)")
    user, channel = event.get("user"), event.get("channel")
    team = event.get("user_team") or envelope.get("team_id") or event.get("team")
    event_id = envelope.get("event_id")
    if not (user and channel and team and event_id):
        return Ignored("event without user, channel, team or id")
    text = strip_mentions(str(event.get("text") or ""))
    thread_ts = event.get("thread_ts") or (event.get("ts") if event_type == "app_mention"
                                           else None)
    # Keyed by the message itself: a retry carries the same one, and a mention in a direct
    # message arrives twice (message.im and app_mention, with different event ids).
    key = f"message:{channel}:{event['ts']}" if event.get("ts") else f"event:{event_id}"
    return IncomingMessage(dedupe_key=key, team_id=team, user_id=user,
                           channel_id=channel, text=text, thread_ts=thread_ts,
                           shared=not is_direct(channel))


def _workspace_gone(envelope: dict[str, Any], event: dict[str, Any]) -> SlackRequest:
    team = envelope.get("team_id")
    if not isinstance(team, str) or not team:
        return Ignored(f"{event['type']} without a team")
    if event["type"] == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
        return Ignored("tokens_revoked for user tokens only (the app keeps none)")
    return WorkspaceGone(team, str(event["type"]))


def parse_interaction(payload: dict[str, Any]) -> SlackRequest:
    if payload.get("type") != "block_actions":
        return Ignored(f"interaction type {payload.get('type')!r}")
    actions = payload.get("actions") or []
    button = next((a for a in actions if a.get("type") == "button" and a.get("value")), None)
    user = payload.get("user") or {}
    team = user.get("team_id") or (payload.get("team") or {}).get("id")
    channel = (payload.get("channel") or {}).get("id") or (
        payload.get("container") or {}).get("channel_id")
    if button is None or not (user.get("id") and team and channel):
        return Ignored("block action without a button value, user, team or channel")
    container = payload.get("container") or {}
    key = f"click:{team}:{user['id']}:{button.get('action_ts') or payload.get('trigger_id')}"
    return IncomingMessage(dedupe_key=key, team_id=team, user_id=user["id"], channel_id=channel,
                           text=str(button["value"]), thread_ts=container.get("thread_ts"),
                           shared=not is_direct(channel))


def strip_mentions(text: str) -> str:
    return " ".join(_MENTION.sub(" ", text).split())


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError("JSON body is not an object")
    return value


# ---------------------------------------------------------------------------------------------
# Replies


def to_mrkdwn(text: str) -> str:
    """Slack's dialect: escape &, <, >; **bold** -> *bold*; [label](url) -> <url|label>."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _BOLD.sub(r"*\1*", escaped)
    return _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", escaped)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _button(index: int, title: str, payload: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": f"{BUTTON_ACTION_PREFIX}{index}",
        "text": {"type": "plain_text", "text": _truncate(title or payload, MAX_BUTTON_TEXT),
                 "emoji": True},
        "value": payload[:MAX_BUTTON_VALUE],
    }


def button_blocks(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    elements = [_button(i, str(b.get("title") or ""), str(b.get("payload") or b.get("title")))
                for i, b in enumerate(buttons) if b.get("payload") or b.get("title")]
    return [{"type": "actions", "block_id": f"rasa_buttons_{start // MAX_ACTIONS_PER_BLOCK}",
             "elements": elements[start:start + MAX_ACTIONS_PER_BLOCK]}
            for start in range(0, len(elements), MAX_ACTIONS_PER_BLOCK)]


def render_message(message: dict[str, Any]) -> list[dict[str, Any]]:
    """chat.postMessage arguments (text, blocks) for one Rasa bot message.

    Usually one post; a custom payload with its own `blocks` or `text` is posted as given.
    """
    posts: list[dict[str, Any]] = []
    text = str(message.get("text") or "")
    buttons = message.get("buttons") or message.get("quick_replies") or []
    blocks: list[dict[str, Any]] = []
    for start in range(0, len(text), MAX_SECTION_TEXT):
        chunk = to_mrkdwn(text[start:start + MAX_SECTION_TEXT])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    if message.get("image"):
        blocks.append({"type": "image", "image_url": str(message["image"]),
                       "alt_text": text[:100] or "image"})
    blocks.extend(button_blocks(buttons))
    if blocks:
        fallback = text or " / ".join(str(b.get("title")) for b in buttons) or "image"
        posts.append({"text": _truncate(fallback, 4000), "blocks": blocks})
    custom = message.get("custom")
    if isinstance(custom, dict) and (custom.get("blocks") or custom.get("text")):
        posts.append({key: custom[key] for key in ("text", "blocks") if key in custom})
    return posts


# ---------------------------------------------------------------------------------------------
# Users


@dataclass(frozen=True)
class SlackUser:
    team_id: str
    user_id: str
    email: str | None
    name: str | None

    @property
    def identity(self) -> ChatIdentity:
        return identity.slack(self.team_id, self.user_id, self.email)


def user_from_info(team_id: str, user_id: str, info: dict[str, Any] | None) -> SlackUser | None:
    """The person behind a users.info answer; None for bots and deactivated accounts.

    The email counts only when Slack says it is confirmed (scope users:read.email). When Slack
    could not be asked (info None), the signed team + user still identify the person.
    """
    if info is None:
        return SlackUser(team_id, user_id, None, None)
    user = info.get("user") or {}
    if user.get("deleted") or user.get("is_bot") or user.get("id") not in (None, user_id):
        return None
    profile = user.get("profile") or {}
    email = profile.get("email")
    confirmed = user.get("is_email_confirmed", True) is not False
    name = profile.get("real_name") or user.get("real_name") or user.get("name")
    return SlackUser(team_id, user_id, str(email).lower() if email and confirmed else None,
                     str(name) if name else None)
