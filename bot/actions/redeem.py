"""Members: redeem an invite code (the backend normalises and checks it)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction, client_for
from bot.actions.common import button, latest_text
from bot.actions.forms import CappedFormValidation, clear_form, form_answers_missing
from bot.actions.parsing import find_invite_code
from bot.actions.policies import coverage_text
from contracts.backend_client import BackendClient

FORM = "redeem_form"


class ValidateRedeemForm(CappedFormValidation):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        client_for(tracker)  # redeeming binds this chat identity: it must be a verified one
        return []

    def validate_invite_code(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        asked = tracker.get_slot("requested_slot") == "invite_code"
        # The whole message first: an entity may hold only part of a code typed with a space.
        code = find_invite_code(latest_text(tracker)) or find_invite_code(
            str(value or ""), only_answer=asked)
        if code is None:
            return self.failed(tracker, "invite_code", dispatcher,
                               "That doesn't look like an invite code: codes have 10 letters "
                               "and numbers, like 7KQ2M-X9D4R.")
        return {"invite_code": code}


class ActionRedeemInvite(BackendAction):
    def name(self) -> str:
        return "action_redeem_invite"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        if form_answers_missing(tracker, domain, FORM):
            return clear_form(domain, FORM)
        redeemed = await client.redeem_invite(tracker.get_slot("invite_code"))
        grant = redeemed.grant
        dispatcher.utter_message(
            text=f"You're in. Your organisation pays for {grant.sessions_remaining} sessions "
                 f"for you. {await coverage_text(grant.coverage)} What you discuss and "
                 "whom you see stay confidential.",
            buttons=[button("Find a therapist", "find_therapist")])
        return clear_form(domain, FORM)

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return clear_form(domain, FORM)
