"""Admins: create an authorisation step by step, list them with usage, pause/resume/revoke."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import HANDLED, BackendAction, client_for, explain_failure
from bot.actions.common import button, latest_text, require_admin
from bot.actions.forms import CappedFormValidation, clear_form, form_answers_missing
from bot.actions.parsing import (
    UNLIMITED,
    format_money,
    parse_count,
    parse_sessions_and_users,
    parse_user_limit,
)
from bot.actions.payments import card_on_file, card_setup_link
from bot.actions.policies import coverage_text
from contracts.answers import Authorisation
from contracts.backend_client import BackendClient
from contracts.names import named

FORM = "authorisation_form"
COVERAGES = ("first_relationship", "existing_relationship", "new_relationship")
ACCESS = ("invite_only", "all_members")


def read_coverage(text: str) -> str | None:
    lowered = text.lower()
    if lowered in COVERAGES:
        return lowered
    for word, coverage in (("first", "first_relationship"), ("never", "first_relationship"),
                           ("existing", "existing_relationship"),
                           ("continue", "existing_relationship"),
                           ("same", "existing_relationship"), ("new", "new_relationship"),
                           ("different", "new_relationship")):
        if re.search(rf"\b{word}\b", lowered):
            return coverage
    return None


def read_access(text: str) -> str | None:
    lowered = text.lower()
    if lowered in ACCESS:
        return lowered
    if re.search(r"\b(all|every(one|body)|whole|entire|anyone)\b", lowered):
        return "all_members"
    if re.search(r"\b(invit\w*|only|just|specific|select\w*)\b", lowered):
        return "invite_only"
    return None


def describe_limit(user_limit: Any) -> str:
    return "unlimited users" if user_limit in (None, UNLIMITED) else f"{user_limit} users"


class ValidateAuthorisationForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        await require_admin(client_for(tracker), "create authorisations")
        return []

    def validate_coverage(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: dict[str, Any]) -> dict[str, Any]:
        coverage = read_coverage(str(value or ""))
        if coverage is None:
            return self.failed(tracker, "coverage", dispatcher,
                               "Please choose first, existing or new relationship (ask 'what "
                               "does coverage mean?' if you're unsure).")
        return {"coverage": coverage}

    def validate_sessions_per_user(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or "")
        sessions, users = parse_sessions_and_users(text)
        sessions = sessions or parse_count(text)
        if sessions is None or sessions < 1:
            return self.failed(tracker, "sessions_per_user", dispatcher,
                               "Please give a number of sessions per person, like 7.")
        answer: dict[str, Any] = {"sessions_per_user": sessions}
        if users is not None and tracker.get_slot("user_limit") is None:
            answer["user_limit"] = users  # "7 sessions for 5 people" answers both questions
        return answer

    def validate_user_limit(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: dict[str, Any]) -> dict[str, Any]:
        limit = value if isinstance(value, int) or value == UNLIMITED \
            else parse_user_limit(str(value or ""))
        if limit is None or (isinstance(limit, int) and limit < 1):
            return self.failed(tracker, "user_limit", dispatcher,
                               "Please give a number of people, like 5, or say 'unlimited'.")
        return {"user_limit": limit}

    def validate_access(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: dict[str, Any]) -> dict[str, Any]:
        access = read_access(str(value or ""))
        if access is None:
            return self.failed(tracker, "access", dispatcher,
                               "Please choose 'only people I invite' or 'all members'.")
        return {"access": access}


async def summary(tracker: Tracker) -> str:
    access = tracker.get_slot("access")
    who = "all members of your organisation" if access == "all_members" else \
        "people you invite"
    return (f"{await coverage_text(tracker.get_slot('coverage'))}\n"
            f"Sessions per person: {tracker.get_slot('sessions_per_user')}\n"
            f"Users: {describe_limit(tracker.get_slot('user_limit'))}\n"
            f"Who can use it: {who}")


class ActionAskAuthorisationConfirmed(Action):
    """The summary, with the card: the one on file, or the secure link to add one."""

    def name(self) -> str:
        return "action_ask_authorisation_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lines = ["Here's the authorisation:", await summary(tracker)]
        try:
            client = client_for(tracker)
            card = await card_on_file(client)
            if card:
                lines.append(f"Card: {(card.brand or 'card').title()} ending {card.last4}")
            else:
                link = await card_setup_link(client)
                lines.append("Card: none on file yet. Sessions are charged per session to the "
                             "company card; add it on Stripe's secure page"
                             + (f": {link}" if link else " (ask for a person if you need help)")
                             + ". You can create the authorisation now and add the card after.")
        except HANDLED as error:
            explain_failure(dispatcher, error)
        lines.append("Shall I create it?")
        dispatcher.utter_message(text="\n".join(lines),
                                 buttons=[button("Yes, create it", "affirm"),
                                          button("No", "deny")])
        return []


class ActionCreateAuthorisation(BackendAction):
    def name(self) -> str:
        return "action_create_authorisation"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        if form_answers_missing(tracker, domain, FORM):
            return clear_form(domain, FORM)
        if not tracker.get_slot("authorisation_confirmed"):
            dispatcher.utter_message(text="OK, I haven't created anything.")
            return clear_form(domain, FORM)
        limit = tracker.get_slot("user_limit")
        created = await client.create_authorisation(
            coverage=tracker.get_slot("coverage"),
            sessions_per_user=tracker.get_slot("sessions_per_user"),
            user_limit=None if limit == UNLIMITED else limit,
            access=tracker.get_slot("access"),
        )
        text = f"Done: authorisation #{created.id} \"{created.name}\" is active."
        buttons = [button("Create an invite for it", "create_invite",
                          authorisation_id=created.id)]
        if created.access == "all_members":
            text += (" All members of your organisation can now book with it: they just message "
                     "me and say 'find a therapist'.")
        else:
            text += " Next, create an invite to send to someone."
        dispatcher.utter_message(text=text, buttons=buttons)
        return clear_form(domain, FORM)

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return clear_form(domain, FORM)


def describe_usage(item: Authorisation) -> str:
    usage = item.usage
    limit = item.user_limit
    places = f"{usage.places_taken} of {limit} places taken" if limit \
        else f"{usage.places_taken} places taken (unlimited)"
    line = (f"#{item.id} {item.name} [{item.status}]\n   {places}; "
            f"{item.sessions_per_user} sessions each")
    if usage.withheld_reason:
        return f"{line}\n   {usage.withheld_reason}"
    return (f"{line}\n   In the months that have ended: {usage.sessions_booked or 0} "
            f"sessions booked, {usage.sessions_used or 0} used; "
            f"spend {format_money(usage.spend_minor)}")


class ActionListAuthorisations(BackendAction):
    def name(self) -> str:
        return "action_list_authorisations"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        items = await client.authorisations()
        if not items:
            dispatcher.utter_message(text="You have no authorisations yet.",
                                     buttons=[button("Create one", "create_authorisation")])
            return []
        dispatcher.utter_message(
            text="Your authorisations:\n" + "\n".join(describe_usage(i) for i in items)
            + "\nSay for example 'pause 3', 'resume 3' or 'revoke 3', or 'create an invite'.")
        return []


VERBS = ("pause", "resume", "revoke")


def read_verb(tracker: Tracker) -> str | None:
    verb = tracker.get_slot("status_verb")
    if verb in (*VERBS, "revoke_confirmed"):
        return verb
    text = latest_text(tracker).lower()
    for word, meaning in (("unpause", "resume"), ("resume", "resume"), ("reactivate", "resume"),
                          ("pause", "pause"), ("suspend", "pause"), ("revoke", "revoke")):
        if word in text:
            return meaning
    return None


def by_name(text: str, items: list[Authorisation]) -> tuple[list[Authorisation], int | None]:
    """The authorisations the admin may mean and the one they chose: by its name or a distinctive
    word of it ("pause the wellbeing one"), else by its number; several when the name does not
    tell them apart (the admin is then asked which)."""
    matched = [items[index] for index in named(text, [item.name for item in items])]
    if len(matched) == 1:
        return matched, matched[0].id
    if matched:
        return matched, None
    chosen = parse_count(text)
    return items, chosen if chosen is not None or len(items) > 1 else items[0].id


class ActionChangeAuthorisationStatus(BackendAction):
    def name(self) -> str:
        return "action_change_authorisation_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        reset = [SlotSet("status_verb", None), SlotSet("authorisation_id", None)]
        verb = read_verb(tracker)
        items = [i for i in await client.authorisations() if i.status != "revoked"]
        if not items:
            dispatcher.utter_message(text="You have no authorisations to change.")
            return reset
        chosen = tracker.get_slot("authorisation_id")
        if chosen is None:
            items, chosen = by_name(latest_text(tracker), items)
        if verb is None or chosen is None:
            verbs = [verb] if verb else list(VERBS)
            dispatcher.utter_message(
                text="Which one, and what should I do?",
                buttons=[button(f"{v.title()} #{i.id} {i.name}", "manage_authorisation",
                                status_verb=v, authorisation_id=i.id)
                         for i in items for v in verbs][:9])
            return reset
        if verb == "revoke":
            dispatcher.utter_message(
                text=f"Revoking #{chosen} is permanent: nobody can join it or book with it any "
                     "more (bookings already made stay). Revoke it?",
                buttons=[button("Yes, revoke it", "manage_authorisation",
                                status_verb="revoke_confirmed", authorisation_id=chosen),
                         button("No, keep it", "deny")])
            return reset
        path_verb = "revoke" if verb == "revoke_confirmed" else verb
        changed = await client.change_authorisation(int(chosen), path_verb)
        dispatcher.utter_message(text=f"#{changed.id} {changed.name} is now {changed.status}.")
        return reset

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return [SlotSet("status_verb", None), SlotSet("authorisation_id", None)]


