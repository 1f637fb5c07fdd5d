"""Admins: change the organisation's cancellation window (how late members may cancel for free).

The backend checks the range and applies it; the bot reads the hours and asks to confirm, since
the new window applies to every cancellation from now on, sessions already booked too.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import HANDLED, client_for, explain_failure
from bot.actions.common import button, latest_text, require_admin
from bot.actions.forms import CappedFormValidation, FormSubmitAction
from bot.actions.parsing import parse_hours
from bot.actions.policies import policies
from contracts.backend_client import BackendClient

FORM = "cancellation_window_form"
HOURS = "cancellation_window_hours"
CONFIRMED = "cancellation_window_confirmed"


async def current_window(client: BackendClient) -> int:
    """The organisation's window, or the service's default when it has not set its own."""
    own = (await client.organisation()).cancellation_window_hours
    return own if own is not None else (await policies()).cancellation_window_hours


class ValidateCancellationWindowForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        await require_admin(client_for(tracker), "change the cancellation window")
        hours = parse_hours(latest_text(tracker))  # "set it to 24 hours"
        return [SlotSet(HOURS, str(hours))] if hours else []

    def validate_cancellation_window_hours(self, value: Any, dispatcher: CollectingDispatcher,
                                           tracker: Tracker,
                                           domain: dict[str, Any]) -> dict[str, Any]:
        hours = parse_hours(str(value or ""))
        if hours is None or hours < 1:
            return self.failed(tracker, HOURS, dispatcher,
                               "Please give a number of hours, for example '24 hours' or "
                               "'2 days'.")
        return {HOURS: str(hours)}


class ActionAskCancellationWindowHours(Action):
    def name(self) -> str:
        return f"action_ask_{HOURS}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            now = (f"Members can now cancel free of charge up to "
                   f"{await current_window(client_for(tracker))} hours before a session; later, "
                   "the session counts as used. ")
        except HANDLED as error:
            explain_failure(dispatcher, error)
            now = ""
        dispatcher.utter_message(
            text=f"{now}How many hours before a session should it be?",
            buttons=[button(f"{hours} hours", "inform", **{HOURS: hours})
                     for hours in (24, 48, 72)])
        return []


class ActionAskCancellationWindowConfirmed(Action):
    def name(self) -> str:
        return f"action_ask_{CONFIRMED}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        hours = tracker.get_slot(HOURS)
        dispatcher.utter_message(
            text=f"Members will be able to cancel free of charge up to {hours} hours before a "
                 "session; later cancellations count as used and are charged. This applies "
                 "to sessions already booked too. Change it?",
            buttons=[button(f"Yes, {hours} hours", "affirm"), button("No, keep it", "deny")])
        return []


class ActionSetCancellationWindow(FormSubmitAction):
    form = FORM
    confirmed_slot = CONFIRMED

    def name(self) -> str:
        return "action_set_cancellation_window"

    async def submit(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     client: BackendClient) -> None:
        changed = await client.set_cancellation_window(int(tracker.get_slot(HOURS)))
        dispatcher.utter_message(
            text=f"Done: members can now cancel free of charge up to "
                 f"{changed.cancellation_window_hours} hours before a session.")
