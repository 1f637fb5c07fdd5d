"""An NLU component: a message holding an invite code asks to redeem it.

The code is found by the RegexEntityExtractor (the `invite_code` regex of
bot/data/nlu/member.yml); DIET's intent for it depends on the code's random letters: a code
pasted alone was `nlu_fallback` for 72 of 100 random codes and `affirm` for 5, "my invite code
is …" `nlu_fallback` for 1 of 100. After the SafetyNet, so that a risk, low mood or a card
number keeps its intent: those are answered first, and the code can be sent again.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.intents import force_intent


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER],
                          is_trainable=False)
class InviteCodeIntent(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"entity": "invite_code", "intent": "redeem_invite",
                "kept": ["safety_risk", "low_mood", "card_number_shared"]}

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> InviteCodeIntent:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            holds_code = any(entity.get(ENTITY_ATTRIBUTE_TYPE) == self._config["entity"]
                             for entity in message.get(ENTITIES) or [])
            if holds_code and intent not in self._config["kept"]:
                force_intent(message, self._config["intent"])
        return messages
