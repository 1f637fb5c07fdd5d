"""A dialogue policy that puts the crisis answer before everything, forms included, and keeps
the bot quiet while a person of the service's team has the conversation.

Inside a form Rasa's RulePolicy first runs the form on every message (its "happy path" outranks
any rule), and the form asks the action server to validate it: with the action server hung, a
risk message would get no answer at all. This policy outranks it (priority 7 > RulePolicy's 6,
as a "no user" prediction like the happy path) and needs nothing outside the Rasa server:

- a `safety_risk` message gets `utter_crisis` (a domain response), whatever is active;
- after `utter_crisis` the bot listens: the turn ends there, so the reply never waits for the
  action server (a form's next question may be a custom action). The form stays active and
  resumes with the next message;
- "yes" right after `utter_crisis` means a person (`action_handoff`, which leaves any form),
  inside a form as well, where it would otherwise be taken as the form's answer;
- "no" right after it (the "No thanks, carry on" button) is not a form's answer either: the bot
  says the help stays there (`utter_carry_on`), asks the interrupted form's question again and
  listens, so someone whose words only sounded like a risk goes on booking where they were;
- while someone of the service's team has the member (the `with_staff` slot, set and cleared by
  the backend's pushes when they take and hand back the request), every other message goes to
  them (`action_relay_to_staff`, which says nothing) and the bot listens: it answers nothing,
  forms and rules included, until it is handed back. Crisis answers come first all the same.

Nothing is learnt: training only hands back the resource.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.components.safety_net import SAFETY_INTENT
from contracts.push import WITH_STAFF_SLOT

AFFIRM_INTENT = "affirm"
DENY_INTENT = "deny"
CRISIS_ACTION = "utter_crisis"
CARRY_ON_ACTION = "utter_carry_on"
HANDOFF_ACTION = "action_handoff"
RELAY_ACTION = "action_relay_to_staff"
PRIORITY = 7


def next_action(tracker: DialogueStateTracker, domain: Domain) -> str | None:
    """What must happen next for safety's sake, or because a person of the team has the
    conversation; None when this policy has no say."""
    if tracker.latest_action_name in (CRISIS_ACTION, RELAY_ACTION):
        return ACTION_LISTEN_NAME
    if tracker.latest_action_name == CARRY_ON_ACTION:
        return _form_question(tracker, domain) or ACTION_LISTEN_NAME
    if _previous_action(tracker) == CARRY_ON_ACTION:
        return ACTION_LISTEN_NAME  # the form's question was asked again: its answer comes next
    if tracker.latest_action_name != ACTION_LISTEN_NAME or tracker.latest_message is None:
        return None
    intent = tracker.latest_message.intent.get("name")
    if intent == SAFETY_INTENT:
        return CRISIS_ACTION
    if _with_staff(tracker):
        return RELAY_ACTION
    after_crisis = _action_before_latest_message(tracker) == CRISIS_ACTION
    if intent == AFFIRM_INTENT and after_crisis:
        return HANDOFF_ACTION
    if intent == DENY_INTENT and after_crisis:
        return CARRY_ON_ACTION
    return None


def _form_question(tracker: DialogueStateTracker, domain: Domain) -> str | None:
    """The action that asks the active form's requested slot, as the form itself would."""
    form, slot = tracker.active_loop_name, tracker.get_slot("requested_slot")
    if not form or not slot:
        return None
    for name in (f"action_ask_{form}_{slot}", f"utter_ask_{form}_{slot}", f"action_ask_{slot}",
                 f"utter_ask_{slot}"):  # Rasa's FormAction looks in this order
        if name in domain.action_names_or_texts:
            return name
    return None


def _with_staff(tracker: DialogueStateTracker) -> bool:
    """Whether the team has the member: the latest `with_staff` the backend's pushes (or the
    relay) set, read from the events rather than the slot. A session that expires (12 hours
    after the member last wrote: a request taken the next morning) resets every slot as the
    member's next message comes in, but the team still has them; the events of the session
    before are still in this turn's tracker, and the relay sets the slot again in the new one."""
    for event in reversed(tracker.events):
        if isinstance(event, SlotSet) and event.key == WITH_STAFF_SLOT:
            return event.value is True
    return False


def _previous_action(tracker: DialogueStateTracker) -> str | None:
    """The action before the latest one, when no message came between them."""
    actions = 0
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return None
        if isinstance(event, ActionExecuted):
            actions += 1
            if actions == 2:
                return event.action_name
    return None


def _action_before_latest_message(tracker: DialogueStateTracker) -> str | None:
    seen_message = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            if seen_message:
                return None
            seen_message = True
        elif (seen_message and isinstance(event, ActionExecuted)
              and event.action_name != ACTION_LISTEN_NAME):
            return event.action_name
    return None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class CrisisFirstPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": PRIORITY}

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: dict[str, Any] | None = None,
                                     **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = next_action(tracker, domain)
        if action is None:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities, is_no_user_prediction=True)
