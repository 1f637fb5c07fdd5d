"""Crisis resources first, in any state (PRODUCT.md rule 7), and the offer of a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import button

CRISIS_TEXT = (
    "I'm really sorry you're going through this, and I'm glad you told me.\n"
    "If you are in immediate danger, or might act on these thoughts, please call 999 now or go "
    "to A&E.\n"
    "You can talk to Samaritans any time, day or night, free on 116 123.\n"
    "For urgent help that isn't an emergency, call NHS 111.\n"
    "You don't have to deal with this alone: say 'talk to a person', or use the button, and "
    "someone from our team will contact you."
)


class ActionSafetyResponse(Action):
    def name(self) -> str:
        return "action_safety_response"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=CRISIS_TEXT,
                                 buttons=[button("Talk to a person", "handoff_request")])
        return []
