"""Form validation shared by every form: a check when the form starts, a cap on repeated
failures, and one way to leave a form cleanly (stop, refusal, too many failures); and the action
that submits a form when it is done."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction

from bot.actions.base import HANDLED, BackendAction, explain_failure
from contracts.backend_client import BackendClient

FAILURES_SLOT = "validation_failures"
# Intents that are questions or exits, never answers: the form rejects them so that the rules
# for digressions (answer, then resume) and exits (stop, a person) apply.
DIGRESSION_INTENTS = frozenset({"faq", "stop", "safety_risk", "handoff_request",
                                "card_number_shared", "help", "low_mood"})
# In the member's forms (booking, changing a booking) also a thanks, something out of scope and
# the member's other questions: answered by the rules of bot/data/rules/digressions.yml too; and
# "tell me when one is free", which leaves the booking form (bot/data/rules/member_waitlist.yml).
MEMBER_DIGRESSION_INTENTS = DIGRESSION_INTENTS | {"thanks", "out_of_scope",
                                                  "ask_remaining_sessions", "ask_bookings",
                                                  "check_confirmation", "watch_for_times",
                                                  "book_self_paid"}
MAX_FAILURES = 3
GIVE_UP_TEXT = ("I'm having trouble understanding, so let's stop here; nothing was saved. You can "
                "start again whenever you like, or say 'talk to a person'.")

# Slots a form uses besides its required slots (set by its actions); cleared with the form.
EXTRA_SLOTS: dict[str, tuple[str, ...]] = {
    "booking_form": ("therapy_type", "gender", "language", "search_results",
                     "offered_slots", "self_pay"),
    "booking_change_form": ("offered_slots",),
}


def form_slots(domain: dict[str, Any], form_name: str) -> list[str]:
    form = domain.get("forms", {}).get(form_name, {}) or {}
    return [*form.get("required_slots", []), *EXTRA_SLOTS.get(form_name, ())]


def clear_form(domain: dict[str, Any], form_name: str | None) -> list[EventType]:
    """Events that forget a form's answers (the form itself stays as it is)."""
    if not form_name:
        return []
    return [SlotSet(slot, None) for slot in form_slots(domain, form_name)] + [
        SlotSet(FAILURES_SLOT, 0)]


def leave_form(domain: dict[str, Any], form_name: str | None) -> list[EventType]:
    """Events that end the form now and forget its answers."""
    return [*clear_form(domain, form_name), SlotSet(REQUESTED_SLOT, None), ActiveLoop(None)]


def form_answers_missing(tracker: Tracker, domain: dict[str, Any], form_name: str) -> bool:
    """True when the form ended early (stopped, refused): its submit action must do nothing."""
    required = domain.get("forms", {}).get(form_name, {}).get("required_slots", [])
    return any(tracker.get_slot(slot) is None for slot in required)


class CappedFormValidation(FormValidationAction, metaclass=ABCMeta):
    """A FormValidationAction that checks the user may start the form, and gives up politely
    after MAX_FAILURES answers in a row that it could not use."""

    # The intents it never takes as an answer (the slots' not_intent in bot/domain.yml agrees)
    digressions: frozenset[str] = DIGRESSION_INTENTS

    @abstractmethod
    def name(self) -> str:
        """Abstract, so that the action server does not register this base class itself."""

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        """Runs when the form starts; raise FormRefused (or let a backend error out) to stop."""
        return []

    async def on_answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: dict[str, Any]) -> list[EventType]:
        """Runs before each later answer is validated; its events are applied first."""
        return []

    def is_digression(self, tracker: Tracker) -> bool:
        """Whether the latest message is a question or an exit (answered by the rules of
        bot/data/rules/digressions.yml) rather than an answer to the form's question."""
        return ((tracker.latest_message or {}).get("intent") or {}).get("name") in self.digressions

    def failed(self, tracker: Tracker, slot: str, dispatcher: CollectingDispatcher,
               message: str | None = None) -> dict[str, Any]:
        """What a validate_<slot> method returns for an answer it cannot use."""
        if message:
            dispatcher.utter_message(text=message)
        return {slot: None, FAILURES_SLOT: int(tracker.get_slot(FAILURES_SLOT) or 0) + 1}

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        starting = tracker.get_slot(REQUESTED_SLOT) is None
        if not starting and self.is_digression(tracker):
            return []
        try:
            early = await (self.precheck if starting else self.on_answer)(
                dispatcher, tracker, domain)
            tracker.add_slots(early)
            events = early + await super().run(dispatcher, tracker, domain)
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return leave_form(domain, self.form_name())
        failures = [e["value"] for e in events
                    if e.get("event") == "slot" and e.get("name") == FAILURES_SLOT]
        if failures and failures[-1] >= MAX_FAILURES:
            dispatcher.utter_message(text=GIVE_UP_TEXT)
            return leave_form(domain, self.form_name())
        if not failures and self._filled_something(events, domain):
            events.append(SlotSet(FAILURES_SLOT, 0))
        return events

    def _filled_something(self, events: list[EventType], domain: dict[str, Any]) -> bool:
        required = set(form_slots(domain, self.form_name()))
        return any(e.get("event") == "slot" and e.get("name") in required
                   and e.get("value") is not None for e in events)


class FormSubmitAction(BackendAction, metaclass=ABCMeta):
    """The action a form's rule runs when the form is done. It submits only when every answer
    is there (the form did not end early) and, for a form that asks "Change it?" last
    (`confirmed_slot`), when the answer was yes; otherwise it says `declined`. The form's
    answers are forgotten in every case, after a failure too."""

    form: str
    confirmed_slot: str | None = None
    declined = "OK, I haven't changed anything."

    @abstractmethod
    async def submit(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     client: BackendClient) -> None:
        """Do what the form asked for, and say so."""

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        assert client is not None
        if not form_answers_missing(tracker, domain, self.form):
            if self.confirmed_slot is None or tracker.get_slot(self.confirmed_slot):
                await self.submit(dispatcher, tracker, client)
            else:
                dispatcher.utter_message(text=self.declined)
        return clear_form(domain, self.form)

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return clear_form(domain, self.form)
