"""Registering an organisation (the speaker becomes its first admin)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction, FormRefused, client_for
from bot.actions.common import button
from bot.actions.forms import CappedFormValidation, clear_form, form_answers_missing
from bot.actions.parsing import find_email
from bot.actions.workspace import WORKSPACE_WORDS
from contracts.backend_client import BackendClient

FORM = "register_form"


class ValidateRegisterForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        me = await client_for(tracker).me()
        if me.organisation_id is not None:
            raise FormRefused("You already belong to an organisation here, so there's nothing to "
                              "register. Say 'help' to see what you can do.")
        return []

    def _text(self, value: Any, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher,
              what: str) -> dict[str, Any]:
        text = str(value or "").strip()
        if not 2 <= len(text) <= 200:
            return self.failed(tracker, slot, dispatcher, f"Please give the {what} (2 to 200 "
                                                          "characters).")
        return {slot: text}

    def validate_organisation_name(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        return self._text(value, "organisation_name", tracker, dispatcher, "organisation's name")

    def validate_admin_name(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        return self._text(value, "admin_name", tracker, dispatcher, "your name")

    def validate_admin_email(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        email = find_email(str(value or ""))
        if email is None:
            return self.failed(tracker, "admin_email", dispatcher,
                               "That doesn't look like an email address, e.g. sam@acme.co.uk.")
        return {"admin_email": email}


class ActionRegisterOrganisation(BackendAction):
    def name(self) -> str:
        return "action_register_organisation"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        if form_answers_missing(tracker, domain, FORM):
            return clear_form(domain, FORM)
        name = tracker.get_slot("organisation_name")
        await client.register_organisation(name, tracker.get_slot("admin_name"),
                                           tracker.get_slot("admin_email"))
        buttons = [button("Create an authorisation", "create_authorisation"),
                   button("Add the company card", "manage_card")]
        place = WORKSPACE_WORDS.get(client.identity.channel)
        if place:  # so that colleagues here can use sessions offered to all members
            buttons.append(button(f"Connect this {place}", "connect_workspace"))
        dispatcher.utter_message(
            text=f"{name} is registered, and you are its admin. Next, create an authorisation "
                 "(the sessions you want to offer) and add the company card.",
            buttons=buttons)
        return clear_form(domain, FORM)

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return clear_form(domain, FORM)
