"""Admins, from inside Slack or Microsoft Teams: connect that workspace (or tenant) to their
organisation, and set the organisation's work email domain. Together they let people of the
workspace with a verified address at the domain use offers open to all members without an
invite (backend/services/identities.py).

The backend decides: only the workspace the admin speaks from can be connected, one that
belongs to another organisation is refused, and the domain is checked there.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction, FormRefused, client_for
from bot.actions.common import button, latest_text, require_admin
from bot.actions.forms import CappedFormValidation, FormSubmitAction
from bot.actions.parsing import find_email_domain
from contracts.backend_client import BackendClient

FORM = "email_domain_form"
DOMAIN = "email_domain"
CONFIRMED = "email_domain_confirmed"

WORKSPACE_WORDS = {"slack": "Slack workspace", "teams": "Microsoft Teams organisation"}


def from_inside(saying: str) -> str:
    """What the web chat (which has no workspace) is told instead."""
    return ("This works from inside Slack or Microsoft Teams: message me there, in your "
            f"organisation's workspace, and say '{saying}'. An admin can also add the Slack app "
            "or connect Microsoft Teams from the portal.")


class ActionConnectWorkspace(BackendAction):
    def name(self) -> str:
        return "action_connect_workspace"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        assert client is not None
        place = WORKSPACE_WORDS.get(client.identity.channel)
        if place is None:
            dispatcher.utter_message(text=from_inside("connect this workspace"))
            return []
        await require_admin(client, f"connect this {place}")
        await client.connect_workspace()
        organisation = await client.organisation()
        text = f"Done: this {place} is connected to {organisation.name}. "
        if organisation.email_domain:
            dispatcher.utter_message(
                text=text + "People here with a verified address at @"
                     f"{organisation.email_domain} can now use the sessions offered to all "
                     "members without an invite.")
            return []
        own = domain_of(client.identity.verified_email)
        dispatcher.utter_message(
            text=text + "Next, set your work email domain: then people here with a verified "
                        "address at it can use the sessions offered to all members without "
                        "an invite.",
            buttons=[button(f"Set it to @{own}", "set_email_domain", **{DOMAIN: own})
                     if own else button("Set the email domain", "set_email_domain")])
        return []


def domain_of(email: str | None) -> str | None:
    return email.rpartition("@")[2].lower() if email and "@" in email else None


class ValidateEmailDomainForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        client = client_for(tracker)
        if client.identity.channel not in WORKSPACE_WORDS:
            raise FormRefused(from_inside("set our email domain"))
        await require_admin(client, "set the work email domain")
        # The suggestion's button, or "set our email domain to acme.com"
        said = (next(tracker.get_latest_entity_values(DOMAIN), None)
                or find_email_domain(latest_text(tracker)))
        return [SlotSet(DOMAIN, said)] if said else []

    def validate_email_domain(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        said = find_email_domain(str(value or ""))
        if said is None:
            return self.failed(tracker, DOMAIN, dispatcher,
                               "Please give the domain of your work email addresses, for "
                               "example 'acme.co.uk'.")
        return {DOMAIN: said}


class ActionAskEmailDomain(Action):
    def name(self) -> str:
        return f"action_ask_{DOMAIN}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="What is the domain of your work email addresses? For "
                                      "example 'acme.co.uk' if yours look like "
                                      "jo@acme.co.uk.")
        return []


class ActionAskEmailDomainConfirmed(Action):
    def name(self) -> str:
        return f"action_ask_{CONFIRMED}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        said = tracker.get_slot(DOMAIN)
        dispatcher.utter_message(
            text=f"People speaking to me from your connected workspace with a verified address "
                 f"at @{said} will count as members of your organisation, and can use the "
                 "sessions offered to all members without an invite. Set it?",
            buttons=[button(f"Yes, @{said}", "affirm"), button("No, keep it", "deny")])
        return []


class ActionSetEmailDomain(FormSubmitAction):
    form = FORM
    confirmed_slot = CONFIRMED

    def name(self) -> str:
        return "action_set_email_domain"

    async def submit(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     client: BackendClient) -> None:
        changed = await client.set_email_domain(tracker.get_slot(DOMAIN))
        dispatcher.utter_message(
            text=f"Done: your work email domain is now @{changed.email_domain}. People of your "
                 "connected workspace with a verified address there can use the sessions "
                 "offered to all members.")
