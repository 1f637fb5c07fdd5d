"""Help (what I can do for you, by role) and stopping whatever form is in progress."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import NotIdentified, client_for
from bot.actions.common import button
from bot.actions.forms import leave_form
from contracts.backend_client import BackendClient, BackendError, BackendUnavailable

ANYONE = ("You can ask me what the coverage options mean, how vouchers work, how your privacy is "
          "protected, or what the cancellation policy is, and you can ask for a person.")
ADMIN = ("As an admin you can: create an authorisation, create an invite (with the email text), "
         "list invites and revoke one, list authorisations with usage, pause, resume or revoke "
         "one, top up one with more sessions, see the anonymous requests for more sessions, "
         "see spend, add or change the company card, add or remove admins, and change the "
         "cancellation window.")
MEMBER = ("You can: find a therapist and book, see your remaining sessions and upcoming "
          "bookings, cancel or reschedule, and check whether your therapist has confirmed.")
NEWCOMER = ("You can redeem an invite code from your organisation, or, if you look after "
            "wellbeing at your organisation, register it.")


GREETING = ("Hello! I can help your organisation offer therapy sessions, and help you find a "
            "therapist and book one paid by your organisation. What would you like to do?")
ADMIN_GREETING = ("Hello! As your organisation's admin you can invite people, see and revoke "
                  "invites, see usage and spend, or find a therapist for yourself. What would "
                  "you like to do?")
MEMBER_GREETING = ("Hello! I can help you find a therapist and book a session paid by your "
                   "organisation. What would you like to do?")


async def _role(tracker: Tracker) -> tuple[str | None, BackendClient | None]:
    try:
        client = client_for(tracker)
        me = await client.me()
    except (NotIdentified, BackendError, BackendUnavailable):
        return None, None
    if me.role is not None:
        return me.role, client
    return "newcomer", client


class ActionHelp(Action):
    def name(self) -> str:
        return "action_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        role, _ = await _role(tracker)
        if role == "admin":
            lines = [ADMIN, MEMBER]
            buttons = [button("Create an authorisation", "create_authorisation"),
                       button("Create an invite", "create_invite"),
                       button("Invites", "list_invites"),
                       button("Usage", "list_authorisations"), button("Spend", "ask_spend"),
                       button("Top up", "top_up_authorisation"),
                       button("Requests for more sessions", "list_more_sessions_requests"),
                       button("Add an admin", "add_admin"),
                       button("Remove an admin", "remove_admin"),
                       button("Cancellation window", "change_cancellation_window")]
        elif role == "member":
            lines = [MEMBER]
            buttons = [button("Find a therapist", "find_therapist"),
                       button("My sessions", "ask_remaining_sessions"),
                       button("My bookings", "ask_bookings")]
        else:
            lines = [NEWCOMER]
            buttons = [button("Redeem an invite code", "redeem_invite"),
                       button("Register my organisation", "register_organisation")]
        dispatcher.utter_message(text="\n".join([*lines, ANYONE]),
                                 buttons=[*buttons, button("Talk to a person", "handoff_request")])
        return []


class ActionGreet(Action):
    """Hello, with the buttons of what this person can do: an admin's actions for admins."""

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        role, _ = await _role(tracker)
        what_can_you_do = button("What can you do?", "help")
        if role == "admin":
            dispatcher.utter_message(text=ADMIN_GREETING, buttons=[
                button("Create an invite", "create_invite"),
                button("Invites", "list_invites"),
                button("Usage", "list_authorisations"),
                button("Create an authorisation", "create_authorisation"),
                button("Find a therapist", "find_therapist"), what_can_you_do])
        elif role == "member":
            dispatcher.utter_message(text=MEMBER_GREETING, buttons=[
                button("Find a therapist", "find_therapist"),
                button("My sessions", "ask_remaining_sessions"),
                button("My bookings", "ask_bookings"), what_can_you_do])
        else:
            dispatcher.utter_message(text=GREETING, buttons=[
                button("Find a therapist", "find_therapist"),
                button("Redeem an invite code", "redeem_invite"), what_can_you_do])
        return []


class ActionStopForm(Action):
    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        loop = (tracker.active_loop or {}).get("name")
        if not loop:
            dispatcher.utter_message(text="OK. Nothing is in progress. What would you like to "
                                          "do next?")
            return [ActiveLoop(None)]
        dispatcher.utter_message(text="OK, I've stopped there and nothing was saved. What would "
                                      "you like to do next?")
        return leave_form(domain, loop)
