"""The therapist directory's vocabulary: the words a search understands, their aliases, the
days and parts of the day, and the modalities in words.

Order is storage: a value's position in ISSUES, THERAPY_TYPES and LANGUAGES is its bit in the
search masks (backend/models/therapist.py), so only ever append (and re-run
`refresh_search_data` after renaming anything).
"""

from __future__ import annotations

import re
from functools import lru_cache

from backend.domain.enums import Modality

ISSUES: tuple[str, ...] = (
    "anxiety", "depression", "stress", "relationships", "trauma", "grief and loss",
    "self-esteem", "work and career", "burnout", "addiction", "eating disorders", "OCD",
    "panic attacks", "anger", "family issues", "sleep problems", "PTSD", "bipolar disorder",
    "loneliness", "sexuality", "gender identity", "life transitions", "phobias",
    "postnatal depression", "ADHD", "autism", "chronic illness", "abuse", "self-harm",
    "parenting", "infertility", "divorce and separation", "bullying", "health anxiety",
)
THERAPY_TYPES: tuple[str, ...] = (
    "CBT", "person-centred", "integrative", "psychodynamic", "EMDR", "DBT", "ACT",
    "schema therapy", "couples therapy", "family therapy", "mindfulness-based", "psychoanalytic",
    "gestalt", "existential", "solution-focused", "cognitive analytic therapy",
    "compassion-focused", "transactional analysis",
)
LANGUAGES: tuple[str, ...] = (
    "English", "Polish", "Spanish", "French", "German", "Italian", "Portuguese", "Arabic",
    "Urdu", "Hindi", "Punjabi", "Bengali", "Gujarati", "Mandarin", "Cantonese", "Turkish",
    "Greek", "Romanian", "Russian", "Farsi", "Hebrew", "Welsh", "Somali", "Tamil", "Japanese",
    "Dutch", "British Sign Language",
)
GENDERS: tuple[str, ...] = ("female", "male", "non-binary")
LOCATIONS: tuple[str, ...] = (
    "London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Edinburgh", "Bristol",
    "Liverpool", "Sheffield", "Newcastle", "Nottingham", "Cardiff", "Belfast", "Brighton",
    "Oxford", "Cambridge", "Leicester", "Southampton", "York", "Bath", "Norwich", "Aberdeen",
)
MODALITIES: tuple[str, ...] = tuple(modality.value for modality in Modality)
# A modality in a sentence: "Dr Lee doesn't offer in-person sessions".
MODALITY_WORDS = {Modality.IN_PERSON: "in-person", Modality.VIDEO: "video",
                  Modality.PHONE: "phone"}

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Parts of the day by the local hour a session starts: [first, last) hours.
DAY_PARTS = {"morning": (6, 12), "afternoon": (12, 17), "evening": (17, 22)}

ALIASES: dict[str, dict[str, str]] = {
    "issue": {"grief": "grief and loss", "bereavement": "grief and loss", "loss": "grief and loss",
              "work": "work and career", "career": "work and career", "divorce":
              "divorce and separation", "separation": "divorce and separation",
              "relationship issues": "relationships", "low mood": "depression",
              "panic": "panic attacks", "insomnia": "sleep problems"},
    "therapy type": {"cognitive behavioural therapy": "CBT", "cognitive behavioral therapy": "CBT",
                     "person centered": "person-centred", "psychotherapy": "psychodynamic",
                     "couples counselling": "couples therapy", "mindfulness": "mindfulness-based",
                     "cat": "cognitive analytic therapy"},
    "language": {"bsl": "British Sign Language", "sign language": "British Sign Language",
                 "persian": "Farsi", "chinese": "Mandarin", "castilian": "Spanish"},
    "gender": {"woman": "female", "women": "female", "man": "male", "men": "male",
               "nonbinary": "non-binary", "enby": "non-binary"},
    "modality": {"in person": "in_person", "face to face": "in_person", "online": "video",
                 "video call": "video", "telephone": "phone", "phone call": "phone"},
    "location": {},
    "time of day": {},
}
DAY_WORDS: dict[str, tuple[int, ...]] = {
    **{name.lower(): (index,) for index, name in enumerate(DAY_NAMES)},
    **{name.lower()[:3]: (index,) for index, name in enumerate(DAY_NAMES)},
    "tues": (1,), "weds": (2,), "thur": (3,), "thurs": (3,),
    "weekday": (0, 1, 2, 3, 4), "weekend": (5, 6),
}

# Words people use in chat beyond the aliases above (the bot reads chat with them: GET /policies).
CHAT_MODALITY_WORDS = {
    Modality.IN_PERSON: ("in-person", "face-to-face", "f2f", "in real life", "irl", "meet in",
                         "office", "clinic"),
    Modality.VIDEO: ("zoom", "teams", "webcam", "skype", "facetime", "vid"),
    Modality.PHONE: ("call", "over the phone"),
}
CHAT_DAY_PART_WORDS = {"lunchtime": "afternoon", "lunch": "afternoon", "night": "evening",
                        "tonight": "evening"}


def key(word: str) -> str:
    """What is compared: lower case letters and digits only ("Face-to-face" -> "facetoface")."""
    return re.sub(r"[^a-z0-9]", "", word.lower())


@lru_cache
def _table(vocabulary: tuple[str, ...], what: str) -> dict[str, str]:
    table = {key(value): value for value in vocabulary}
    table.update({key(alias): value for alias, value in ALIASES[what].items()})
    # Plurals and singulars ("panic attack", "evenings") find the same word.
    table.update({word.removesuffix("s"): value for word, value in list(table.items())
                  if word.removesuffix("s") not in table})
    return table


def canonical(word: str, vocabulary: tuple[str, ...], what: str) -> str | None:
    """The vocabulary's word for what someone typed (an alias, a plural), or None.
    `what` names the alias list: a key of ALIASES."""
    table = _table(vocabulary, what)
    typed = key(word)
    return table.get(typed) or table.get(typed.removesuffix("s"))


def day_numbers(word: str) -> tuple[int, ...] | None:
    """The weekdays (Monday is 0) a word names ("tues", "weekends"), or None."""
    typed = key(word)
    return DAY_WORDS.get(typed) or DAY_WORDS.get(typed.removesuffix("s"))


def hours_of_parts(parts: tuple[str, ...]) -> set[int]:
    """The local start hours inside the given parts of the day (all hours for none)."""
    ranges = [DAY_PARTS[part] for part in parts] or [(0, 24)]
    return {hour for hour in range(24) if any(first <= hour < last for first, last in ranges)}
