"""Which of several named things a person means, by the name or a distinctive word of it:
"pause the wellbeing support authorisation", "resume wellbeing", "revoke the pilot one".

Plain Python, no dependencies: the action server uses it to pick an authorisation from the
admin's list, and any process may use it the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import get_close_matches

# Words that never tell one name from another: verbs of the request, articles, what is named.
_FILLER_WORDS = """
    a an the one ones this that these those it its our my your their his her please can could
    would you i we me us want like to do for of on in at with and or but now again for just
    pause paused resume resumed unpause revoke revoked suspend reactivate restart stop end
    authorisation authorisations authorization authorizations offer offers scheme programme
    program package plan
"""
FILLER = frozenset(_FILLER_WORDS.split())
TYPO_CUTOFF = 0.85  # how close a misspelt word must be to a name's word (5 letters or more)
MIN_TYPO_LENGTH = 5


def words(text: str) -> list[str]:
    """Lower-case words without digits; "well-being" is "wellbeing"."""
    joined = re.sub(r"(?<=[a-z])[-‐–'’](?=[a-z])", "", text.lower())
    return [word for word in re.findall(r"[a-z]+", joined) if word not in FILLER]


def named(text: str, names: Sequence[str]) -> list[int]:
    """The indexes of the names `text` refers to: those sharing most of their distinctive words
    (words not in every name) with it, typos forgiven. Empty when no word points at a name;
    several when the text does not tell them apart."""
    name_words = [set(words(name)) for name in names]
    common = set.intersection(*name_words) if len(names) > 1 else set()
    said = set(words(text))
    scores = [len({word for word in said if _in(word, own - common)}) for own in name_words]
    best = max(scores, default=0)
    return [] if best == 0 else [index for index, score in enumerate(scores) if score == best]


def _in(word: str, vocabulary: set[str]) -> bool:
    if word in vocabulary:
        return True
    return len(word) >= MIN_TYPO_LENGTH and bool(
        get_close_matches(word, [w for w in vocabulary if len(w) >= MIN_TYPO_LENGTH],
                          n=1, cutoff=TYPO_CUTOFF))
