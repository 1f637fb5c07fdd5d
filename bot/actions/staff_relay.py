"""While someone of the service's team has the member's request for a person (the `with_staff`
slot the backend's pushes set), what the member writes goes to them, into the request's thread in
the staff console, and the assistant says nothing. bot/crisis_policy.py chooses this action then;
a risk message still gets the crisis answer first."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction
from contracts.backend_client import BackendClient, BackendError, BackendUnavailable
from contracts.push import QUIET_TURN, WITH_STAFF_SLOT

NOT_WITH_STAFF = "not_with_staff"
BACK_WITH_ASSISTANT = ("The support team has handed you back to me, so they didn't get that. "
                       "I'm here: could you say it again?")
NOT_RELAYED = ("Sorry, that didn't reach the support team: please send it again in a minute. "
               "If you are in danger, please call 999, or Samaritans on 116 123 at any time.")


class ActionRelayToStaff(BackendAction):
    def name(self) -> str:
        return "action_relay_to_staff"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        assert client is not None
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if text.startswith("/"):  # a button: its payload means nothing to a person
            text = f"(pressed a button: {(message.get('intent') or {}).get('name') or text})"
        if not text.strip():
            return []
        try:
            await client.relay_to_staff(text)
        except BackendError as refused:
            if refused.code != NOT_WITH_STAFF:
                raise
            # Closed meanwhile, and its push not here yet: the assistant answers again.
            dispatcher.utter_message(text=BACK_WITH_ASSISTANT)
            return [SlotSet(WITH_STAFF_SLOT, False)]
        except BackendUnavailable:
            dispatcher.utter_message(text=NOT_RELAYED)
            return []
        # Nothing for the member to read; the channel must not take it for a failure.
        dispatcher.utter_message(json_message=QUIET_TURN)
        return []
