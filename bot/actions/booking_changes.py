"""Members: cancel (after seeing the policy for this booking) or reschedule a booking."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import HANDLED, BackendAction, FormRefused, client_for, explain_failure
from bot.actions.booking import NOT_NEEDED, choose_by_time, choose_slot
from bot.actions.common import TIMEZONE, button
from bot.actions.forms import (
    MEMBER_DIGRESSION_INTENTS,
    CappedFormValidation,
    clear_form,
    form_answers_missing,
)
from bot.actions.parsing import format_slot
from bot.actions.policies import directory_words
from bot.actions.sessions import upcoming_bookings
from contracts.answers import Booking
from contracts.backend_client import BackendClient

FORM = "booking_change_form"
CHOICES = ("cancel", "reschedule", "keep")


class ValidateBookingChangeForm(CappedFormValidation):
    digressions = MEMBER_DIGRESSION_INTENTS

    def name(self) -> str:
        return f"validate_{FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        bookings = await upcoming_bookings(client_for(tracker))
        if not bookings:
            raise FormRefused("You have no upcoming sessions to cancel or move.")
        if len(bookings) == 1 and tracker.get_slot("booking_id") is None:
            return [SlotSet("booking_id", str(bookings[0].id))]
        return []

    async def validate_booking_id(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        bookings = await upcoming_bookings(client_for(tracker))
        ids = [str(b.id) for b in bookings]
        text = str(value or "")
        if text in ids:
            return {"booking_id": text}
        labels = [f"{format_slot(b.starts_at, TIMEZONE)} {b.therapist_name}"
                  for b in bookings]
        index = choose_by_time(text, [b.starts_at for b in bookings], labels,
                               await directory_words())
        if index is None:
            return self.failed(tracker, "booking_id", dispatcher,
                               "Please pick one of your sessions.")
        return {"booking_id": ids[index]}

    def validate_change_choice(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        choice = value if value in CHOICES else None
        # Only a reschedule needs a new time; otherwise that question is answered "not needed".
        if choice == "reschedule":
            return {"change_choice": choice, "slot_start": None}
        return {"change_choice": choice, "slot_start": NOT_NEEDED if choice else None}

    async def validate_slot_start(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == NOT_NEEDED:
            return {"slot_start": NOT_NEEDED}
        chosen = choose_slot(value, tracker, await directory_words())
        if chosen is None:
            return self.failed(tracker, "slot_start", dispatcher,
                               "Please pick one of the new times, or say 'stop'.")
        return {"slot_start": chosen}


class ActionAskBookingId(Action):
    def name(self) -> str:
        return "action_ask_booking_id"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            bookings = await upcoming_bookings(client_for(tracker))
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        dispatcher.utter_message(
            text="Which session?",
            buttons=[button(f"{format_slot(b.starts_at, TIMEZONE)} with {b.therapist_name}",
                            "inform", booking_id=b.id) for b in bookings[:6]])
        return []


class ActionAskChangeChoice(Action):
    """The backend's policy sentence for this booking, before the member decides."""

    def name(self) -> str:
        return "action_ask_change_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            client = client_for(tracker)
            preview = await client.cancellation(int(tracker.get_slot("booking_id")))
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        buttons = [button("Yes, cancel it", "affirm")]
        if preview.can_reschedule:
            buttons.append(button("Reschedule instead", "reschedule_booking"))
        buttons.append(button("Keep it", "deny"))
        dispatcher.utter_message(text=f"{preview.message}\nDo you want to cancel it?",
                                 buttons=buttons)
        return []


class ActionChangeBooking(BackendAction):
    def name(self) -> str:
        return "action_change_booking"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        if form_answers_missing(tracker, domain, FORM):
            return clear_form(domain, FORM)
        booking_id = int(tracker.get_slot("booking_id"))
        choice = tracker.get_slot("change_choice")
        if choice == "cancel":
            cancelled = await client.cancel(booking_id)
            dispatcher.utter_message(text=self._cancelled_text(cancelled))
        elif choice == "reschedule" and tracker.get_slot("slot_start") != NOT_NEEDED:
            moved = await client.reschedule(booking_id, tracker.get_slot("slot_start"))
            dispatcher.utter_message(
                text=f"Moved: {moved.therapist_name}, "
                     f"{format_slot(moved.starts_at, TIMEZONE)} (UK time), now "
                     f"{moved.status}. The therapist will confirm the new time.")
        else:
            dispatcher.utter_message(text="OK, your session stays as it is.")
        return clear_form(domain, FORM)

    @staticmethod
    def _cancelled_text(booking: Booking) -> str:
        text = f"Cancelled your session on {format_slot(booking.starts_at, TIMEZONE)}."
        if booking.voucher_status == "released":
            left = booking.sessions_remaining_on_grant
            text += " The session has gone back to you" + (f": {left} left." if left is not None
                                                           else ".")
        elif booking.voucher_status == "used":
            text += " As it was inside the cancellation window, the session counts as used."
        return text

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return clear_form(domain, FORM)
