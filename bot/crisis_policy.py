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
  inside a form as well, where it would otherwise be taken as the form's answer.
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
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.components.safety_net import SAFETY_INTENT
from contracts.push import WITH_STAFF_SLOT

AFFIRM_INTENT = "affirm"
CRISIS_ACTION = "utter_crisis"
HANDOFF_ACTION = "action_handoff"
RELAY_ACTION = "action_relay_to_staff"
PRIORITY = 7


def next_action(tracker: DialogueStateTracker) -> str | None:
    """What must happen next for safety's sake, or because a person of the team has the
    conversation; None when this policy has no say."""
    if tracker.latest_action_name in (CRISIS_ACTION, RELAY_ACTION):
        return ACTION_LISTEN_NAME
    if tracker.latest_action_name != ACTION_LISTEN_NAME or tracker.latest_message is None:
        return None
    intent = tracker.latest_message.intent.get("name")
    if intent == SAFETY_INTENT:
        return CRISIS_ACTION
    if tracker.get_slot(WITH_STAFF_SLOT) is True:
        return RELAY_ACTION
    if intent == AFFIRM_INTENT and _action_before_latest_message(tracker) == CRISIS_ACTION:
        return HANDOFF_ACTION
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
        action = next_action(tracker)
        if action is None:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities, is_no_user_prediction=True)
