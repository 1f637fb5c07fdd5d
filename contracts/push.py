"""A pushed notification as the dispatcher hands it to Rasa, and as the channels read it.

The dispatcher (backend/dispatcher/) appends one bot event to the person's conversation through
Rasa's authenticated HTTP API, `POST /conversations/{id}/tracker/events?output_channel=<name>
&execute_side_effects=true`: Rasa adds it to the tracker (so the next reply, "show me other
times", is read after it) and sends it through the channel's output (channels/push.py). The
event's metadata carries PUSH_KEY, the delivery's dedupe key: the channel sends a key once, and
the dispatcher finds it in the tracker when it is not sure its last try went through.
"""

from __future__ import annotations

from typing import Any

from contracts.identity import DEV, SLACK, TEAMS, WEB, ChatIdentity

# A pushed conversation slot's value (a text, or a bool slot's).
SlotValue = str | bool
# The bool slot that keeps the assistant quiet while someone of the service's team has the
# member's request for a person (set by the take's push, cleared by the close's; bot/domain.yml,
# bot/crisis_policy.py).
WITH_STAFF_SLOT = "with_staff"
# The custom message of a turn the bot ends without a word on purpose (the member's message went
# to the team): channels/verified_input.py swallows it instead of saying "no answer".
QUIET_TURN: dict[str, Any] = {"quiet_turn": True}


def is_quiet_turn(message: dict[str, Any]) -> bool:
    return message.get("custom") == QUIET_TURN

PUSH_KEY = "push_key"
PUSH_KIND = "push_kind"

# The Rasa input channel (its `name()`) whose output reaches each kind of identity.
OUTPUT_CHANNELS = {SLACK: "slack", TEAMS: "teams", WEB: "webchat", DEV: "dev_rest"}


def conversation_id(identity: ChatIdentity) -> str:
    """The Rasa conversation of an identity: the channels key it by the identity, except the
    development channel, which keys it by the bare sender."""
    return identity.external_id if identity.channel == DEV else str(identity)


def output_channel(identity: ChatIdentity) -> str | None:
    return OUTPUT_CHANNELS.get(identity.channel)


def bot_event(text: str, buttons: list[dict[str, str]], key: str, kind: str,
              timestamp: float) -> dict[str, Any]:
    """The Rasa `bot` event of one push."""
    data: dict[str, Any] = {"buttons": buttons} if buttons else {}
    return {"event": "bot", "text": text, "data": data, "timestamp": timestamp,
            "metadata": {PUSH_KEY: key, PUSH_KIND: kind}}


def slot_events(slots: dict[str, SlotValue], timestamp: float) -> list[dict[str, Any]]:
    return [{"event": "slot", "name": name, "value": value, "timestamp": timestamp}
            for name, value in slots.items()]


def push_key_of(message: dict[str, Any]) -> str | None:
    """The dedupe key of a bot message Rasa sends (the event's metadata is merged into it)."""
    key = message.get(PUSH_KEY)
    return key if isinstance(key, str) and key else None


def pushed_keys(tracker: dict[str, Any]) -> set[str]:
    """The push keys of the bot events in a tracker (Rasa's JSON)."""
    return {key for event in tracker.get("events") or [] if event.get("event") == "bot"
            if (key := (event.get("metadata") or {}).get(PUSH_KEY))}
