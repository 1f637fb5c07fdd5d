"""Answers to questions (the ResponseSelector picks which): those that state a policy's figures
or wording say what the backend's policies are today, for a member those in force for their
organisation; the others, and every answer while the backend cannot be reached, are the domain's
`utter_faq/<question>` responses, which state none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import NotIdentified, client_for
from bot.actions.policies import Policies, policies_in_force
from contracts.backend_client import BackendClient, BackendError, BackendUnavailable

RETRIEVAL_INTENT = "faq"


def cancellation_policy(known: Policies) -> str:
    whose = (f"(the window in force at {known.organisation})" if known.organisation
             else "(your organisation may set a different window)")
    return (f"You can cancel up to {known.cancellation_window_hours} hours before a session "
            f"{whose} and the session goes back to you. Inside that window the session counts "
            "as used and is charged, unless your therapist waives it. I'll always tell you "
            "which applies before you confirm, and offer to reschedule instead.")


def privacy(known: Policies) -> str:
    return ("It's confidential. Your organisation's admins see only counts and totals (how many "
            "places are taken, sessions used, spend), never who booked, which therapist, when, "
            "or what it's about. Figures about fewer than "
            f"{known.reporting_min_group} people aren't shown at all. Admins see those counts with "
            "'list authorisations' and the spend with 'show spend'.")


def privacy_receipt(offer_name: str | None, known: Policies | None) -> str:
    """What a booking paid by the organisation lets its admins see (backend/services/reports.py
    and backend/domain/confidentiality.py), and what never; without the figure while the
    backend can't say it."""
    offer = f"“{offer_name}”" if offer_name else "your organisation's authorisation"
    group = (f"at least {known.reporting_min_group} people (you and "
             f"{known.reporting_min_group - 1} others or more)" if known
             else "enough people that nobody can be singled out")
    return (f"Privacy: your organisation's admins can see how many people have a place on "
            f"{offer}, and the sessions booked and used on it and their cost only as monthly "
            f"totals, shown once the month has ended and only when they count {group}. They "
            "never see who booked, which therapist, when, or what it's about.")


def coverage_options(known: Policies) -> str:
    return " ".join(["Coverage says which sessions an authorisation pays for.",
                     *known.coverage.values()])


def confirmation_time(known: Policies) -> str:
    return (f"Therapists usually confirm a requested session within "
            f"{known.therapist_confirmation_business_hours} business hours. Ask me 'is my "
            "booking confirmed?' any time; if it isn't confirmed, I can find you other times "
            "or therapists.")


POLICY_ANSWERS: dict[str, Callable[[Policies], str]] = {
    "cancellation_policy": cancellation_policy,
    "privacy": privacy,
    "coverage_options": coverage_options,
    "confirmation_time": confirmation_time,
}


def selected_question(tracker: Tracker) -> str | None:
    """The question the ResponseSelector chose for the latest message ("privacy"), if any."""
    selector = (tracker.latest_message or {}).get("response_selector") or {}
    chosen = (selector.get(RETRIEVAL_INTENT) or selector.get("default") or {}).get("response")
    key = (chosen or {}).get("intent_response_key") or ""
    return key.split("/", 1)[1] if key.startswith(f"{RETRIEVAL_INTENT}/") else None


def _asker(tracker: Tracker) -> BackendClient | None:
    try:
        return client_for(tracker)
    except NotIdentified:
        return None  # a visitor the channel could not identify: the service's policies


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        question = selected_question(tracker)
        if question is None:
            dispatcher.utter_message(response="utter_default")
            return []
        answer = POLICY_ANSWERS.get(question)
        if answer is not None:
            try:
                dispatcher.utter_message(text=answer(await policies_in_force(_asker(tracker))))
                return []
            except (BackendError, BackendUnavailable):
                pass  # the domain's answer says the same without figures
        dispatcher.utter_message(response=f"utter_{RETRIEVAL_INTENT}/{question}")
        return []
