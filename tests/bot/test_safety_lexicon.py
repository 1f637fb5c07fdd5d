"""The safety net's lexicon: high recall on many ways of saying it, few false alarms."""

from __future__ import annotations

import pytest

from bot.safety_lexicon import matching_phrase, suggests_risk

RISK = [
    "I want to kill myself", "i wanna kill myself", "I'm going to kill myself tonight",
    "I've been thinking about suicide", "feeling suicidal", "sucidal thoughts again",
    "suicde", "I don't want to live anymore", "i dont want to be alive", "I want to die",
    "i just wanna die", "I want to end my life", "thinking of taking my own life",
    "I'm going to end it all", "everyone would be better off without me",
    "better off dead", "I wish I was dead", "there's no reason to live", "no point in living",
    "life isn't worth living", "I have nothing to live for", "I can't go on like this",
    "I can't take it anymore", "I've been self harming", "self-harm again last night",
    "I keep hurting myself", "I cut myself", "cutting my wrists", "I took all my pills",
    "thinking about an overdose", "I'm going to jump off the bridge", "i want to hang myself",
    "I might hurt someone", "I feel like I could kill him", "I want to hurt my partner",
    "I'm not safe at home", "my husband hits me", "I am in danger", "I feel unsafe",
    "I'm being abused", "domestic violence", "I want to disappear forever",
    "I don't want to be here anymore", "kms", "I wrote a goodbye note",
    "i'm having a mental health crisis",
    "I'M GOING TO KILL MYSELF", "I\u2019m so done, I want to end my life", "wanna unalive myself",
    "I'm starving myself",
]
BENIGN = [
    "I'd like a therapist for anxiety", "book me a video session next Tuesday",
    "cancel my session please", "what does coverage mean", "I hurt my back at the gym",
    "this commute is killing me", "how many sessions do I have left", "create an invite",
    "my therapist was great", "I need help with stress at work", "redeem 7KQ2M-X9D4R",
    "stop", "talk to a person", "deadline is friday", "I'm dying to get started",
    # Words as often said about work: left to the detector, which learns them from data.
    "the cost of living crisis is hitting everyone", "the project is in danger",
    "I'm in danger of missing the deadline", "my manager will kill me if I'm late",
    "I'm going to die of embarrassment", "overdosed on coffee this morning",
]


@pytest.mark.parametrize("text", RISK)
def test_every_risk_phrasing_is_caught(text):
    assert suggests_risk(text), text


def test_recall_on_the_whole_list_is_total():
    caught = sum(suggests_risk(text) for text in RISK)
    assert caught == len(RISK)


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_requests_do_not_raise_the_alarm(text):
    assert matching_phrase(text) is None, text
