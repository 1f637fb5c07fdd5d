"""Admins: top up an authorisation (more sessions for every place on it), picked by its name as
the other authorisation actions do, with the number asked when missing and a confirmation; and
the anonymous requests for more sessions, with a button per authorisation to top it up."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import HANDLED, BackendAction, FormRefused, client_for, explain_failure
from bot.actions.common import button, latest_text, newest, require_admin
from bot.actions.forms import CappedFormValidation, FormSubmitAction
from bot.actions.parsing import parse_count
from contracts.answers import Authorisation
from contracts.backend_client import BackendClient
from contracts.names import named

FORM = "top_up_form"
CHOSEN, SESSIONS, CONFIRMED = "top_up_authorisation_id", "top_up_sessions", "top_up_confirmed"
_EXTRA = re.compile(r"\b(?:by\s+(\w+)|(\w+)\s+(?:more|extra|additional|further)?\s*"
                    r"sess?ions?)\b")


async def open_authorisations(client: BackendClient) -> list[Authorisation]:
    """The authorisations that can still be topped up (a revoked one cannot)."""
    return [i for i in await client.authorisations() if i.status != "revoked"]


def extra_sessions_in(text: str) -> int | None:
    """"top up the pilot by 2", "give everyone 3 more sessions" -> 2, 3."""
    found = _EXTRA.search(text.lower())
    return parse_count(found.group(1) or found.group(2)) if found else None


def pick(text: str, items: list[Authorisation]) -> Authorisation | None:
    """The authorisation `text` names: a button's id, or its name or a distinctive word of it."""
    if text.strip().isdigit():
        return next((i for i in items if i.id == int(text)), None)
    matched = named(text, [i.name for i in items])
    return items[matched[0]] if len(matched) == 1 else None


class ValidateTopUpForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        client = client_for(tracker)
        await require_admin(client, "top up authorisations")
        items = await open_authorisations(client)
        if not items:
            raise FormRefused("There's no authorisation to top up. Say 'create an "
                              "authorisation' to make one.")
        text = latest_text(tracker)
        events: list[EventType] = []
        extra = extra_sessions_in(text)
        if extra and tracker.get_slot(SESSIONS) is None:
            events.append(SlotSet(SESSIONS, str(extra)))
        if tracker.get_slot(CHOSEN) is None:
            chosen = items[0] if len(items) == 1 else pick(text, items)
            if chosen:
                events.append(SlotSet(CHOSEN, str(chosen.id)))
        return events

    async def validate_top_up_authorisation_id(self, value: Any,
                                               dispatcher: CollectingDispatcher,
                                               tracker: Tracker,
                                               domain: dict[str, Any]) -> dict[str, Any]:
        try:
            chosen = pick(str(value or ""), await open_authorisations(client_for(tracker)))
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return {CHOSEN: None}
        if chosen is None:
            return self.failed(tracker, CHOSEN, dispatcher,
                               "Please pick one of the authorisations with the buttons.")
        return {CHOSEN: str(chosen.id)}

    def validate_top_up_sessions(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or "")
        extra = extra_sessions_in(text) or parse_count(text)
        if extra is None or extra < 1:
            return self.failed(tracker, SESSIONS, dispatcher,
                               "Please give a number of extra sessions per person, like 2.")
        return {SESSIONS: str(extra)}


async def chosen(tracker: Tracker) -> Authorisation:
    wanted = int(tracker.get_slot(CHOSEN))
    found = [i for i in await client_for(tracker).authorisations() if i.id == wanted]
    if not found:
        raise FormRefused("I can't find that authorisation any more; nothing was changed.")
    return found[0]


class ActionAskTopUpAuthorisation(Action):
    def name(self) -> str:
        return f"action_ask_{CHOSEN}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            items = await open_authorisations(client_for(tracker))
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        offered, more = newest(items, "for another, type its number.")
        dispatcher.utter_message(
            text="Which authorisation should get more sessions?" + more,
            buttons=[button(f"#{i.id} {i.name} ({i.sessions_per_user} each)", "inform",
                            **{CHOSEN: i.id}) for i in offered])
        return []


class ActionAskTopUpSessions(Action):
    def name(self) -> str:
        return f"action_ask_{SESSIONS}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            item = await chosen(tracker)
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        dispatcher.utter_message(
            text=f"#{item.id} {item.name} gives {item.sessions_per_user} sessions per person. "
                 "How many more should each person get?",
            buttons=[button(f"{n} more", "inform", **{SESSIONS: n}) for n in (1, 2, 3, 5)])
        return []


class ActionAskTopUpConfirmed(Action):
    def name(self) -> str:
        return f"action_ask_{CONFIRMED}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            item = await chosen(tracker)
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        extra = int(tracker.get_slot(SESSIONS))
        dispatcher.utter_message(
            text=f"Give everyone on #{item.id} {item.name} {extra} more session"
                 f"{'s' if extra != 1 else ''}? That makes {item.sessions_per_user + extra} "
                 f"sessions per person (now {item.sessions_per_user}), for people already on "
                 "it and those who join later. Sessions are charged only when used.",
            buttons=[button(f"Yes, add {extra}", "affirm"), button("No", "deny")])
        return []


class ActionTopUp(FormSubmitAction):
    form = FORM
    confirmed_slot = CONFIRMED

    def name(self) -> str:
        return "action_top_up"

    async def submit(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     client: BackendClient) -> None:
        item = await client.top_up(int(tracker.get_slot(CHOSEN)),
                                   int(tracker.get_slot(SESSIONS)))
        dispatcher.utter_message(text=f"Done: everyone on #{item.id} {item.name} now has "
                                      f"{item.sessions_per_user} sessions per person.")


def top_up_choice(items: list[Authorisation]) -> tuple[list[dict[str, str]], str]:
    """One button per authorisation (the newest when there are many), whoever asked: never a
    hint of which one the person is on; and what was left out."""
    offered, more = newest(items, "for another, say 'top up'.")
    return [button(f"Top up #{i.id} {i.name}", "top_up_authorisation", **{CHOSEN: i.id})
            for i in offered], more


class ActionListMoreSessionsRequests(BackendAction):
    def name(self) -> str:
        return "action_list_more_sessions_requests"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        await require_admin(client, "see requests for more sessions")
        asked = (await client.more_sessions_requests()).this_month
        said = ("Nobody has asked for more sessions this month." if asked == 0 else
                f"{asked} {'person has' if asked == 1 else 'people have'} asked for more "
                "sessions this month. Who asked is never shown, to you or anyone.")
        active = [i for i in await open_authorisations(client) if i.status == "active"]
        if not active:
            dispatcher.utter_message(text=f"{said} There's no active authorisation to top up.")
            return []
        buttons, more = top_up_choice(active)
        dispatcher.utter_message(text=f"{said} To give everyone on an authorisation more "
                                      f"sessions, pick it:{more}", buttons=buttons)
        return []
