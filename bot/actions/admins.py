"""Admins: make someone else an admin (name and email, then a confirmation) or take an admin's
role away (picked from the current admins). The backend decides; its refusals (the last admin)
are said as it words them."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import HANDLED, FormRefused, client_for, explain_failure
from bot.actions.common import button, latest_text, require_admin
from bot.actions.forms import CappedFormValidation, FormSubmitAction
from bot.actions.parsing import find_email, parse_count
from contracts.answers import Admin
from contracts.backend_client import BackendClient
from contracts.names import named

ADD_FORM = "add_admin_form"
NAME, EMAIL, ADD_CONFIRMED = "new_admin_name", "new_admin_email", "new_admin_confirmed"
REMOVE_FORM = "remove_admin_form"
REMOVED, REMOVE_CONFIRMED = "removed_admin_id", "removed_admin_confirmed"

# "add Priya Shah (priya@acme.example) as an admin", "remove Sam as admin": the words around
# the name.
_REQUEST_WORDS = re.compile(
    r"\b(please|pls|can|could|you|would|i|we|want|wanna|like|to|add|make|promote|appoint|set|"
    r"up|give|new|another|co|colleague|someone|somebody|person|a|an|as|our|my|the|also|adm\w*|"
    r"amdin\w*|role|rights|access|too|with|email|e-mail|is|at|and|of|for|"
    r"organisation|organization|team|company|her|him|them|remove|remvoe|demote|take|away|off|"
    r"from|drop|strip|revoke|delete|stop|being|no|longer|any|more|anymore|shouldn't|be|"
    r"left)\b", re.IGNORECASE)


def name_in(text: str) -> str | None:
    """The person's name in a request to add an admin, when one is given."""
    rest = _REQUEST_WORDS.sub(" ", re.sub(r"\S+@\S+", " ", text))
    rest = " ".join(re.sub(r"[^\w\s'-]", " ", rest).split())
    return rest.title() if len(rest) >= 2 and not rest.isdigit() else None


def describe(admin: Admin) -> str:
    return f"{admin.name} ({admin.email})" if admin.email else admin.name


class ValidateAddAdminForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{ADD_FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        await require_admin(client_for(tracker), "add admins")
        text = latest_text(tracker)
        email, name = find_email(text), name_in(text)
        return [*([SlotSet(EMAIL, email)] if email else []),
                *([SlotSet(NAME, name)] if name else [])]

    def validate_new_admin_name(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or "").strip()
        if find_email(text) and not tracker.get_slot(EMAIL):  # the email came first
            return {EMAIL: find_email(text), NAME: name_in(text)}
        if not 2 <= len(text) <= 200:
            return self.failed(tracker, NAME, dispatcher,
                               "Please give their name (2 to 200 characters).")
        return {NAME: text}

    def validate_new_admin_email(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        email = find_email(str(value or ""))
        if email is None:
            return self.failed(tracker, EMAIL, dispatcher,
                               "That doesn't look like an email address, e.g. "
                               "priya@acme.example.")
        return {EMAIL: email}


class ActionAskNewAdminName(Action):
    def name(self) -> str:
        return f"action_ask_{NAME}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        email = tracker.get_slot(EMAIL)
        dispatcher.utter_message(text=f"What's the name of the person with {email}?" if email
                                 else "Who should I make an admin? Please give their name.")
        return []


class ActionAskNewAdminConfirmed(Action):
    def name(self) -> str:
        return f"action_ask_{ADD_CONFIRMED}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        name, email = tracker.get_slot(NAME), tracker.get_slot(EMAIL)
        dispatcher.utter_message(
            text=f"Make {name} ({email}) an admin? They'll be able to create authorisations "
                 "and invites, see usage and spend, manage the company card and add or remove "
                 "admins. If they are already a member with this email, they stay one and "
                 "become an admin too.",
            buttons=[button("Yes, make them an admin", "affirm"), button("No", "deny")])
        return []


class ActionAddAdmin(FormSubmitAction):
    form = ADD_FORM
    confirmed_slot = ADD_CONFIRMED
    declined = "OK, I haven't added anyone."

    def name(self) -> str:
        return "action_add_admin"

    async def submit(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     client: BackendClient) -> None:
        name, email = tracker.get_slot(NAME), tracker.get_slot(EMAIL)
        await client.add_admin(name, email)
        dispatcher.utter_message(
            text=f"Done: {name} ({email}) is now an admin of your organisation. When they "
                 "message me from your organisation's Slack or Teams, or sign in on the website "
                 "with that email, I'll offer them the admin actions.")


def pick_admin(text: str, admins: list[Admin]) -> Admin | None:
    """The admin `text` names: a button's member id, their email, or their name."""
    number = parse_count(text) if text.strip().isdigit() else None
    by_id = [a for a in admins if a.member_id == number]
    if by_id:
        return by_id[0]
    email = find_email(text)
    by_email = [a for a in admins if email and (a.email or "").lower() == email.lower()]
    if by_email:
        return by_email[0]
    matched = named(_REQUEST_WORDS.sub(" ", text), [a.name for a in admins])
    return admins[matched[0]] if len(matched) == 1 else None


class ValidateRemoveAdminForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{REMOVE_FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        client = client_for(tracker)
        await require_admin(client, "remove admins")
        if tracker.get_slot(REMOVED):  # a button named them
            return []
        chosen = pick_admin(latest_text(tracker), await client.admins())
        return [SlotSet(REMOVED, str(chosen.member_id))] if chosen else []

    async def validate_removed_admin_id(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker,
                                        domain: dict[str, Any]) -> dict[str, Any]:
        try:
            chosen = pick_admin(str(value or ""), await client_for(tracker).admins())
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return {REMOVED: None}
        if chosen is None:
            return self.failed(tracker, REMOVED, dispatcher,
                               "That isn't one of your admins. Please pick one with the "
                               "buttons.")
        return {REMOVED: str(chosen.member_id)}


async def chosen_admin(tracker: Tracker) -> Admin | None:
    wanted = int(tracker.get_slot(REMOVED))
    return next((a for a in await client_for(tracker).admins() if a.member_id == wanted), None)


class ActionAskRemovedAdmin(Action):
    def name(self) -> str:
        return f"action_ask_{REMOVED}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            admins = await client_for(tracker).admins()
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        dispatcher.utter_message(
            text="Which admin should stop being one? They stay a member of your organisation.",
            buttons=[button(describe(a), "inform", **{REMOVED: a.member_id})
                     for a in admins[:8]])
        return []


class ActionAskRemovedAdminConfirmed(Action):
    def name(self) -> str:
        return f"action_ask_{REMOVE_CONFIRMED}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            admin = await chosen_admin(tracker)
            who = describe(admin) if admin else f"person #{tracker.get_slot(REMOVED)}"
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        dispatcher.utter_message(
            text=f"Remove {who} as an admin? They stay a member of your organisation and keep "
                 "their own sessions, but can no longer manage authorisations, invites, spend "
                 "or admins.",
            buttons=[button("Yes, remove them as admin", "affirm"),
                     button("No, keep them", "deny")])
        return []


class ActionRemoveAdmin(FormSubmitAction):
    form = REMOVE_FORM
    confirmed_slot = REMOVE_CONFIRMED
    declined = "OK, nothing changed: they're still an admin."

    def name(self) -> str:
        return "action_remove_admin"

    async def submit(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     client: BackendClient) -> None:
        before = await chosen_admin(tracker)
        if before is None:
            raise FormRefused("They aren't an admin any more, so there was nothing to remove.")
        removed = await client.remove_admin(before.member_id)
        dispatcher.utter_message(text=f"Done: {removed.name} is no longer an admin. They stay a "
                                      "member of your organisation.")
