"""What the project's NLU components do to the intent the classifiers chose."""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

INTENT_RANKING = "intent_ranking"


def force_intent(message: Message, intent: str) -> None:
    """The message's intent is `intent`, with full confidence."""
    # The others keep their order at confidence 0: the FallbackClassifier after these components
    # would otherwise take a forced intent with a confident runner-up as ambiguous.
    forced = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    ranking = [{**r, PREDICTED_CONFIDENCE_KEY: 0.0} for r in message.get(INTENT_RANKING) or []
               if r.get(INTENT_NAME_KEY) != intent]
    message.set(INTENT, forced, add_to_output=True)
    message.set(INTENT_RANKING, [forced, *ranking], add_to_output=True)
