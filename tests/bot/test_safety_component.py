"""The project's NLU components inside the running Rasa server (tests/stack.py starts it the way
the Procfile does): what /model/parse answers for risk, low mood and idioms (SafetyNet), and for
a message holding an invite code (InviteCodeIntent)."""

from __future__ import annotations

import json
import random
import urllib.request
from typing import Any

import pytest

from tests.stack import Stack


def parse(stack: Stack, text: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{stack.rasa_url}/model/parse?token={stack.rasa_token}",
        data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def risk_kinds(parsed: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in parsed["entities"] if e["entity"] == "risk_kind"]


@pytest.mark.parametrize(("text", "kind"), [
    ("took a whole packet of paracetamol an hour ago", "emergency"),
    ("no one would notice if i was gone for good", "suicidal"),
    ("my colleague told me he wants to end his life", "someone_else"),
    ("someone is threatening to hurt me right now", "danger_from_others"),
])
def test_a_risk_is_safety_risk_first_with_one_risk_kind(stack, text, kind):
    parsed = parse(stack, text)
    assert parsed["intent"] == {"name": "safety_risk", "confidence": 1.0}
    assert parsed["intent_ranking"][0]["name"] == "safety_risk"
    kinds = risk_kinds(parsed)
    assert [(e["value"], e["extractor"]) for e in kinds] == [(kind, "SafetyNet")]


def test_low_mood_is_its_own_intent_without_a_risk_kind(stack):
    parsed = parse(stack, "I've been sad lately")
    assert parsed["intent"]["name"] == "low_mood"
    assert risk_kinds(parsed) == []


@pytest.mark.parametrize("text", ["help with low mood on video please, mornings",
                                  "feeling low, can you find me someone for depression on video",
                                  "feeling down lately, could i see a female therapist"])
def test_low_mood_with_a_search_filter_asks_for_a_search(stack, text):
    parsed = parse(stack, text)
    assert parsed["intent"]["name"] == "find_therapist"  # DIET's, or forced (below)
    assert {e["entity"] for e in parsed["entities"]} & {"modality", "gender"}


def test_low_mood_the_classifier_hears_is_turned_into_a_search_by_a_filter(stack):
    parsed = parse(stack, "feeling down lately, could i see a female therapist")
    assert parsed["intent"] == {"name": "find_therapist", "confidence": 1.0}  # forced
    assert {r["name"]: r["confidence"] for r in parsed["intent_ranking"]}["low_mood"] == 0.0


def test_low_mood_with_only_an_issue_is_a_disclosure(stack):
    parsed = parse(stack, "my anxiety has been making me feel low")
    assert parsed["intent"]["name"] == "low_mood"
    assert [e["entity"] for e in parsed["entities"]] == ["issue"]


@pytest.mark.parametrize("text", ["I could die of embarrassment",
                                  "this commute will be the death of me"])
def test_idioms_pass_through_to_the_classifier(stack, text):
    parsed = parse(stack, text)
    assert parsed["intent"]["name"] not in {"safety_risk", "low_mood"}
    assert risk_kinds(parsed) == []


def test_an_ordinary_request_keeps_the_classifier_s_intent(stack):
    parsed = parse(stack, "how many sessions do I have left")
    assert parsed["intent"]["name"] == "ask_remaining_sessions"
    assert risk_kinds(parsed) == []


# --- InviteCodeIntent (bot/components/invite_codes.py), after the SafetyNet ---------------

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32 (invite_codes.py)


def random_codes(count: int) -> list[str]:
    draw = random.Random(7)
    return ["-".join("".join(draw.choice(CODE_ALPHABET) for _ in range(5)) for _ in range(2))
            for _ in range(count)]


@pytest.mark.parametrize(("template", "lower"), [
    ("{}", False), ("{}", True), ("my invite code is {}", False), ("code: {}", False),
    ("{} thanks", False)])
def test_a_message_holding_an_invite_code_asks_to_redeem_it_whatever_its_letters(
        stack, template, lower):
    """A code pasted alone was nlu_fallback for 72 of 100 random codes before the component."""
    for code in random_codes(40):
        parsed = parse(stack, template.format(code.lower() if lower else code))
        assert parsed["intent"]["name"] == "redeem_invite", (code, parsed["intent"])
        assert [e["value"] for e in parsed["entities"] if e["entity"] == "invite_code"]


def test_a_risk_said_with_an_invite_code_stays_a_risk(stack):
    parsed = parse(stack, f"here's my code {random_codes(1)[0]} but i want to end my life")
    assert parsed["intent"]["name"] == "safety_risk"
