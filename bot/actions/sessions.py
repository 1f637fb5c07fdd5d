"""Members: remaining sessions, upcoming bookings, and news from therapists."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction, slots_of, tell_news
from bot.actions.common import TIMEZONE, button
from bot.actions.parsing import format_slot
from bot.actions.policies import confirmation_hours, coverage_text
from contracts.answers import Booking
from contracts.backend_client import BackendClient

ACTIVE_STATUSES = ("requested", "confirmed")


def describe_booking(booking: Booking) -> str:
    paid = "paid by your organisation" if booking.paid_by_organisation else "self-paid"
    modality = booking.modality.replace("_", " ")
    return (f"{format_slot(booking.starts_at, TIMEZONE)} with {booking.therapist_name} "
            f"({modality}), {booking.status}, {paid}")


async def upcoming_bookings(client: BackendClient) -> list[Booking]:
    return [b for b in await client.bookings() if b.status in ACTIVE_STATUSES]


class ActionShowGrants(BackendAction):
    def name(self) -> str:
        return "action_show_grants"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        grants = await client.my_grants()
        offers = await client.my_offers()
        lines = [f"{g.sessions_remaining} of {g.sessions_per_user} sessions left"
                 + ("" if g.active else ", currently paused by your admin")
                 + f". {await coverage_text(g.coverage)}" for g in grants]
        lines += [f"Also open to you: \"{o.name}\", {o.sessions_per_user} sessions "
                  "(you join it when you book)" for o in offers]
        if not lines:
            dispatcher.utter_message(text="You don't have sessions from your organisation yet. "
                                          "If you have an invite code, say 'redeem' and the code.")
            return []
        buttons = [button("Find a therapist", "find_therapist")]
        if grants and all(g.sessions_remaining == 0 for g in grants):
            buttons.append(button("Ask for more sessions", "ask_more_sessions"))
        dispatcher.utter_message(text="Your sessions paid by your organisation:\n"
                                      + "\n".join(lines), buttons=buttons)
        return []


class ActionAskMoreSessions(BackendAction):
    """Tells the member's admins that someone would like more sessions, never who."""

    def name(self) -> str:
        return "action_ask_more_sessions"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        asked = await client.ask_for_more_sessions()
        dispatcher.utter_message(text=asked.message)
        return []


class ActionListBookings(BackendAction):
    def name(self) -> str:
        return "action_list_bookings"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        bookings = await upcoming_bookings(client)
        if not bookings:
            dispatcher.utter_message(text="You have no upcoming sessions.",
                                     buttons=[button("Find a therapist", "find_therapist")])
            return []
        buttons = []
        for booking in bookings[:3]:
            when = format_slot(booking.starts_at, TIMEZONE)
            buttons += [button(f"Cancel {when}", "cancel_booking", booking_id=booking.id),
                        button(f"Reschedule {when}", "reschedule_booking",
                               booking_id=booking.id)]
        dispatcher.utter_message(text="Your upcoming sessions:\n" + "\n".join(
            describe_booking(b) for b in bookings), buttons=buttons)
        return []


class ActionCheckConfirmation(BackendAction):
    def name(self) -> str:
        return "action_check_confirmation"

    tells_news = False  # it tells them first, itself

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        notes = await tell_news(dispatcher, client)
        bookings = await upcoming_bookings(client)
        if bookings:
            hours = await confirmation_hours()
            dispatcher.utter_message(text="Your upcoming sessions:\n" + "\n".join(
                describe_booking(b) for b in bookings) + "\n" + (
                f"Requested sessions are usually confirmed within {hours} business hours."
                if hours else "Requested sessions wait for the therapist to confirm them."))
        elif not notes:
            dispatcher.utter_message(text="You have no upcoming sessions and no news.")
        return slots_of(notes)
