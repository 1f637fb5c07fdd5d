"""Authorisations (or anything named) as people say them."""

from __future__ import annotations

import pytest

from contracts.names import named, words

DEMO = ["Wellbeing support: 7 sessions for 5 people", "Continue with your therapist: 4 sessions",
        "Pilot programme for the London office"]


@pytest.mark.parametrize("said,expected", [
    ("pause the wellbeing support authorisation", [0]),
    ("resume wellbeing", [0]),
    ("resume well-being please", [0]),
    ("revoke the pilot one", [2]),
    ("pause the welbeing one", [0]),  # a typo
    ("revoke the continue with your therapist offer", [1]),
    ("pause the london pilot", [2]),
])
def test_a_name_or_a_distinctive_word_finds_the_one(said, expected):
    assert named(said, DEMO) == expected


@pytest.mark.parametrize("said", ["pause it", "pause the authorisation", "revoke 3", ""])
def test_no_distinctive_word_finds_none(said):
    assert named(said, DEMO) == []


def test_a_word_two_names_share_asks_which():
    names = ["Wellbeing support 2025", "Wellbeing support for managers", "Pilot"]
    assert named("pause wellbeing support", names) == [0, 1]
    assert named("pause wellbeing for managers", names) == [1]
    assert named("pause the sessions one", DEMO) == [0, 1]  # not the pilot, but which?
    assert named("pause support", ["Support A", "Support B"]) == []  # in every name


def test_with_one_name_any_of_its_words_finds_it():
    assert named("pause wellbeing", ["Wellbeing support"]) == [0]
    assert named("pause something else", ["Wellbeing support"]) == []


def test_words_drop_digits_filler_and_hyphens():
    assert words("Pause the Well-being offer: 7 sessions") == ["wellbeing", "sessions"]
