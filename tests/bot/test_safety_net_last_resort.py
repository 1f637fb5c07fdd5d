"""SafetyNet (bot/components/safety_net.py) when the risk detector fails on a message altogether:
the lexicon decides, without a kind, DIET's own safety_risk stands, and the failure is logged.
Runs in Rasa's environment (a subprocess), where the component runs."""

from __future__ import annotations

import textwrap

import pytest

from tests.stack import in_rasa_env

CHECK = textwrap.dedent("""
    import json, logging
    from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message
    from bot.components.safety_net import SafetyNet
    from contracts.redaction import PLACEHOLDER

    class FailingDetector:
        def assess(self, text):
            raise RuntimeError("the detector failed")

    failures = []
    class Keep(logging.Handler):
        def emit(self, record):
            failures.append(record.getMessage())
    logging.getLogger("bot.components.safety_net").addHandler(Keep(logging.ERROR))
    net = SafetyNet(SafetyNet.get_default_config(), None, None, FailingDetector())
    outcome = {}
    for name, text, intent in [("lexicon", "i want to kill myself", "greet"),
                               ("classifier", "everything feels pointless now", "safety_risk"),
                               ("ordinary", "hello there", "greet"),
                               ("card", f"my card is {PLACEHOLDER}", "inform")]:
        ranked = {"name": intent, "confidence": 0.9}
        message = Message(data={TEXT: text, INTENT: ranked, "intent_ranking": [ranked]})
        net.process([message])
        outcome[name] = {"intent": message.get(INTENT)["name"],
                         "entities": [e["entity"] for e in message.get(ENTITIES) or []]}
    outcome["failures"] = failures
    print(json.dumps(outcome))
""")


@pytest.fixture(scope="module")
def outcome() -> dict[str, object]:
    return in_rasa_env(CHECK)


def test_a_lexicon_match_is_a_risk_without_a_kind(outcome) -> None:
    # No risk_kind: the crisis answer's general wording (bot/domain.yml, utter_crisis).
    assert outcome["lexicon"] == {"intent": "safety_risk", "entities": []}


def test_the_classifiers_own_safety_risk_stands(outcome) -> None:
    assert outcome["classifier"]["intent"] == "safety_risk"


def test_other_messages_keep_their_intent_and_a_card_is_still_a_card(outcome) -> None:
    assert outcome["ordinary"]["intent"] == "greet"
    assert outcome["card"]["intent"] == "card_number_shared"


def test_each_failure_is_logged(outcome) -> None:
    assert len(outcome["failures"]) == 4
    assert all("the risk detector failed" in line for line in outcome["failures"])
