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
        # The words are for the team, not a request to the bot: a day or a gender said to them
        # must not be waiting in a form when the member is handed back.
        undone = slots_filled_by_latest_message_undone(tracker, domain)
        # Still with the team (set again: a session that expired meanwhile reset it).
        still_with_staff = [*undone, SlotSet(WITH_STAFF_SLOT, True)]
        if not text.strip():
            return still_with_staff
        try:
            await client.relay_to_staff(text)
        except BackendError as refused:
            if refused.code != NOT_WITH_STAFF:
                raise
            # Closed meanwhile, and its push not here yet: the assistant answers again.
            dispatcher.utter_message(text=BACK_WITH_ASSISTANT)
            return [*undone, SlotSet(WITH_STAFF_SLOT, False)]
        except BackendUnavailable:
            dispatcher.utter_message(text=NOT_RELAYED)
            return still_with_staff
        # Nothing for the member to read; the channel must not take it for a failure.
        dispatcher.utter_message(json_message=QUIET_TURN)
        return still_with_staff


def slots_filled_by_latest_message_undone(tracker: Tracker,
                                          domain: dict[str, Any]) -> list[EventType]:
    """Each slot Rasa filled from the latest message set back to its value before it (the
    value of the session's events, else the domain's initial value)."""
    events = tracker.events
    latest = next((i for i in range(len(events) - 1, -1, -1)
                   if events[i].get("event") == "user"), None)
    if latest is None:
        return []
    filled = {event["name"] for event in events[latest + 1:]
              if event.get("event") == "slot" and event.get("name") != WITH_STAFF_SLOT}
    return [SlotSet(name, _value_before(events[:latest], name, domain)) for name in sorted(filled)]


def _value_before(events: list[dict[str, Any]], name: str, domain: dict[str, Any]) -> Any:
    for event in reversed(events):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return ((domain.get("slots") or {}).get(name) or {}).get("initial_value")
