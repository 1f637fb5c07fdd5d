"""The directory's words: aliases, plurals, day words and parts of the day."""

from __future__ import annotations

import pytest

from backend.domain import directory
from backend.domain.directory import GENDERS, ISSUES, LANGUAGES, MODALITIES, THERAPY_TYPES


@pytest.mark.parametrize(("typed", "vocabulary", "what", "word"), [
    ("Anxiety", ISSUES, "issue", "anxiety"),
    ("bereavement", ISSUES, "issue", "grief and loss"),
    ("Panic attack", ISSUES, "issue", "panic attacks"),
    ("low mood", ISSUES, "issue", "depression"),
    ("cognitive behavioral therapy", THERAPY_TYPES, "therapy type", "CBT"),
    ("person centered", THERAPY_TYPES, "therapy type", "person-centred"),
    ("BSL", LANGUAGES, "language", "British Sign Language"),
    ("women", GENDERS, "gender", "female"),
    ("Face-to-face", MODALITIES, "modality", "in_person"),
    ("online", MODALITIES, "modality", "video"),
    ("Evenings", tuple(directory.DAY_PARTS), "time of day", "evening"),
])
def test_aliases_and_plurals_find_the_word(typed, vocabulary, what, word):
    assert directory.canonical(typed, vocabulary, what) == word


def test_unknown_words_find_nothing():
    assert directory.canonical("astrology", ISSUES, "issue") is None
    assert directory.canonical("", GENDERS, "gender") is None


@pytest.mark.parametrize(("typed", "days"), [
    ("Monday", (0,)), ("tues", (1,)), ("Weds", (2,)), ("thurs", (3,)), ("sun", (6,)),
    ("weekdays", (0, 1, 2, 3, 4)), ("weekend", (5, 6)), ("Saturdays", (5,)),
])
def test_day_words(typed, days):
    assert directory.day_numbers(typed) == days


def test_unknown_day_words():
    assert directory.day_numbers("someday") is None


def test_parts_of_the_day_by_start_hour():
    assert directory.hours_of_parts(("morning",)) == set(range(6, 12))
    assert directory.hours_of_parts(("afternoon", "evening")) == set(range(12, 22))
    assert directory.hours_of_parts(()) == set(range(24))


def test_modality_words_and_day_names():
    assert list(directory.MODALITY_WORDS.values()) == ["in-person", "video", "phone"]
    assert directory.MODALITIES == ("in_person", "video", "phone")
    assert directory.DAY_NAMES[0] == "Monday" and len(directory.DAY_NAMES) == 7
