"""An NLU component that does not leave safety to the classifier alone.

It runs after the intent classifiers and before the FallbackClassifier. When the message matches
the risk lexicon (bot.safety_lexicon) it forces the `safety_risk` intent with full confidence;
when it carries the card-number placeholder (contracts.redaction) it forces `card_number_shared`.
Everything else passes through untouched. Imports only what the Rasa environment has.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety_lexicon import suggests_risk
from contracts.redaction import PLACEHOLDER

log = logging.getLogger(__name__)

SAFETY_INTENT = "safety_risk"
CARD_INTENT = "card_number_shared"
INTENT_RANKING = "intent_ranking"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyNet(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"safety_intent": SAFETY_INTENT, "card_intent": CARD_INTENT}

    def __init__(self, config: dict[str, Any]) -> None:
        self._safety_intent = config["safety_intent"]
        self._card_intent = config["card_intent"]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SafetyNet:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if suggests_risk(text):
                self._force(message, self._safety_intent)
                log.info("Safety net: risk lexicon matched; intent forced to %s.",
                         self._safety_intent)
            elif PLACEHOLDER in text:
                self._force(message, self._card_intent)
        return messages

    @staticmethod
    def _force(message: Message, intent: str) -> None:
        forced = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in message.get(INTENT_RANKING) or []
                   if r.get(INTENT_NAME_KEY) != intent]
        message.set(INTENT, forced, add_to_output=True)
        message.set(INTENT_RANKING, [forced, *ranking], add_to_output=True)
