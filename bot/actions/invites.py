"""Admins: create an invite for an authorisation and get the text to paste into an email."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import HANDLED, FormRefused, client_for, explain_failure
from bot.actions.common import TIMEZONE, button, newest, require_admin
from bot.actions.forms import CappedFormValidation, FormSubmitAction
from bot.actions.parsing import find_email, format_day, is_skip, parse_count, parse_days
from contracts.answers import Authorisation
from contracts.backend_client import BackendClient

FORM = "invite_form"
NO_EMAIL = "none"
USUAL_EXPIRY = "usual"  # the backend's INVITE_TTL_DAYS
_USUAL_WORDS = re.compile(r"\b(usual|default|standard|normal|regular|don'?t mind|whatever)\b")


async def active_authorisations(client: BackendClient) -> list[Authorisation]:
    return [i for i in await client.authorisations() if i.status == "active"]


def expires(moment: datetime | None) -> str:
    return "" if moment is None else f" It expires on {format_day(moment, TIMEZONE)}."


class ValidateInviteForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        client = client_for(tracker)
        await require_admin(client, "create invites")
        active = await active_authorisations(client)
        if not active:
            raise FormRefused("There's no active authorisation to invite people to. Say "
                              "'create an authorisation' to make one first.")
        if len(active) == 1 and tracker.get_slot("authorisation_id") is None:
            return [SlotSet("authorisation_id", str(active[0].id))]
        return []

    def validate_authorisation_id(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        number = parse_count(str(value or ""))
        if number is None or number < 1:
            return self.failed(tracker, "authorisation_id", dispatcher,
                               "Please pick one of the authorisations (or give its number).")
        return {"authorisation_id": str(number)}

    def validate_invite_email(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or "")
        email = find_email(text)
        if email:
            return {"invite_email": email}
        if is_skip(text) or re.search(r"\b(no|nope|anyone|not needed|without)\b", text.lower()):
            return {"invite_email": NO_EMAIL}
        return self.failed(tracker, "invite_email", dispatcher,
                           "Please type an email address, or say 'no'.")

    def validate_invite_expiry_days(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or "").lower()
        if text == USUAL_EXPIRY or is_skip(text) or _USUAL_WORDS.search(text):
            return {"invite_expiry_days": USUAL_EXPIRY}
        days = parse_days(text)
        if days is None or days < 1:
            return self.failed(tracker, "invite_expiry_days", dispatcher,
                               "Please give a number of days, for example '14 days', or say "
                               "'the usual'.")
        return {"invite_expiry_days": str(days)}


class ActionAskInviteAuthorisation(Action):
    def name(self) -> str:
        return "action_ask_invite_form_authorisation_id"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            active = await active_authorisations(client_for(tracker))
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        offered, more = newest(active, "for another, type its number.")
        dispatcher.utter_message(
            text="Which authorisation is the invite for?" + more,
            buttons=[button(f"#{i.id} {i.name}", "inform", authorisation_id=i.id)
                     for i in offered])
        return []


class ActionAskInviteExpiry(Action):
    def name(self) -> str:
        return "action_ask_invite_form_invite_expiry_days"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(
            text="How long should the code work? Give a number of days, or keep the usual "
                 "expiry.",
            buttons=[button("The usual", "inform", invite_expiry_days=USUAL_EXPIRY),
                     *(button(f"{days} days", "inform", invite_expiry_days=days)
                       for days in (7, 14, 90))])
        return []


class ActionCreateInvite(FormSubmitAction):
    form = FORM

    def name(self) -> str:
        return "action_create_invite"

    async def submit(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     client: BackendClient) -> None:
        email = tracker.get_slot("invite_email")
        expiry = tracker.get_slot("invite_expiry_days")
        invite = await client.create_invite(
            int(tracker.get_slot("authorisation_id")), None if email == NO_EMAIL else email,
            None if expiry == USUAL_EXPIRY else int(expiry))
        bound = f" It works only for {invite.email}." if invite.email else ""
        dispatcher.utter_message(
            text=f"Here's the invite code: {invite.code} (I show it only once).{bound}"
                 f"{expires(invite.expires_at)}\nCopy this text into an email:")
        dispatcher.utter_message(text=invite.email_text)
