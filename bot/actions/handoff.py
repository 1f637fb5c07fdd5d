"""Talking to a person: the request is recorded in the backend for the team to pick up."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction, NotIdentified, client_for
from bot.actions.forms import leave_form
from contracts.backend_client import BackendClient

MAX_MESSAGE_CHARS = 1500
ANONYMOUS_TEXT = ("A person from our team can help. As this chat hasn't told me who you are, "
                  "please use the live chat on our website or message me from your "
                  "organisation's Slack or Teams, and ask for a person there.")


HANDOFF_RECORDED = "I've asked a person from our team to get in touch with you here."
ANSWER_SOON = "They will answer here as soon as they can."
SAFETY_REMINDER = "If you are in danger, please call 999, or Samaritans on 116 123 at any time."
CRISIS_ANSWER = "utter_crisis"
SAFETY_TOPIC = "safety"


def handoff_topic(tracker: Tracker) -> str:
    """The topic is "safety" right after a crisis answer (the backend makes that urgent)."""
    if any(e.get("event") == "action" and e.get("name") == CRISIS_ANSWER
           for e in tracker.events[-12:]):
        return SAFETY_TOPIC
    loop = (tracker.active_loop or {}).get("name")
    return loop.removesuffix("_form") if loop else "general"


def handoff_request(tracker: Tracker) -> dict[str, Any]:
    """What the team is told. After a crisis answer: the kind of risk and none of the words."""
    topic = handoff_topic(tracker)
    if topic == SAFETY_TOPIC:
        return {"topic": topic, "risk_kind": tracker.get_slot("risk_kind") or None}
    return {"topic": topic, "message": recent_user_text(tracker)}


def recent_user_text(tracker: Tracker, count: int = 3) -> str:
    """The last few things the user said (already redacted by the channel)."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    said = [t for t in texts if t and not t.startswith("/")][-count:]
    return "\n".join(said)[-MAX_MESSAGE_CHARS:]


class ActionHandoff(BackendAction):
    needs_identity = False

    def name(self) -> str:
        return "action_handoff"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        events = self.after_failure(tracker, domain)
        try:
            client = client_for(tracker, self.name())
        except NotIdentified:
            dispatcher.utter_message(text=ANONYMOUS_TEXT + (
                " " + SAFETY_REMINDER if handoff_topic(tracker) == SAFETY_TOPIC else ""))
            return events
        handoff = handoff_request(tracker)
        recorded = await client.request_handoff(handoff)
        # When the team answers (its office hours, from the backend), then, after a crisis
        # answer, where help is at any hour.
        said = [HANDOFF_RECORDED, recorded.expected_answer or ANSWER_SOON]
        if handoff["topic"] == SAFETY_TOPIC:
            said.append(SAFETY_REMINDER)
        dispatcher.utter_message(text=" ".join(said))
        return events

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Asking for a person leaves whatever form was in progress."""
        return leave_form(domain, (tracker.active_loop or {}).get("name"))
