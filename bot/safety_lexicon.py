"""Phrases that suggest a risk to someone's life or safety (PRODUCT.md rule 7).

Pure Python with no dependencies: the risk detector (bot.safety.detector), the channels (which
let risk messages past their length cap and rate limit) and the tests import it. It is tuned for
recall on unambiguous phrasings; words as often said about work ("crisis", "in danger of", "kill
me") are left to the detector, which learns them from labelled data and may overrule a match it
is sure is an idiom ("i overdosed on coffee today").
"""

from __future__ import annotations

import re
import unicodedata

# Each pattern runs on normalised text: lower case, apostrophes removed, other punctuation turned
# into spaces, letters repeated three or more times squeezed to two ("sooo" -> "soo").
_CLOSE = (r"(wife|husband|partner|boyfriend|girlfriend|ex|boss|manager|colleague|kids?|child|"
          r"children|son|daughter|baby|mum|mom|dad|mother|father|family|flatmate|neighbou?r)")
_PATTERNS: tuple[str, ...] = tuple(pattern.replace("{_CLOSE}", _CLOSE) for pattern in (
    # suicide, with common misspellings
    r"\bsu+[ie]?c+[iy]?d(e|al|ing)?",
    r"\bsuicid",
    r"\bkms\b",
    r"\bkys\b",
    r"\bunalive",
    # killing or ending oneself
    r"\bkill my ?self\b",
    r"\bkilling my ?self\b",
    r"\bkil+ my ?self\b",
    r"\b(end|ending|take|taking|took) (my|my own) life\b",
    r"\bend(ing)? it all\b",
    r"\bend(ing)? (things|everything) (for good|tonight|now)\b",
    r"\bend(ing)? it\b.*\b(tonight|today|now|soon|for good)\b",
    r"\bput an end to (it|myself|my life|everything)\b",
    r"\b(want|wanna|going|gonna|plan|planning) to end it( all)?$",
    r"\bno way out\b",
    r"\b(want|wanna|plan|planning|ready) (to )?(die|be dead)\b",
    r"\bwish (i was|i were|i could be|to be) dead\b",
    r"\bwish i (was|were)n?t (alive|here|born)\b",
    r"\bbetter off (dead|without me)\b",
    r"\b(dont|do not|no longer|never) (want|wanna) to (live|be alive|be here|exist|wake up)\b",
    r"\b(dont|do not) want to (go on|carry on|be around)\b",
    r"\bno (reason|point) (to|in) (live|living|going on|carrying on|being alive)\b",
    r"\bnot (want|wanting) to (live|be alive|exist)\b",
    r"\b(cant|can not|cannot) (go on|cope any ?more|take (it|this) any ?more|keep going)\b",
    r"\b(life|living) (is|isnt|feels) (not )?(worth|pointless|meaningless)",
    r"\bnot worth living\b",
    r"\bnothing to live for\b",
    r"\bdisappear (for ever|forever|for good)\b",
    r"\bnot (be|being) (here|around) any ?more\b",
    r"\bgoodbye (cruel )?world\b",
    r"\bwrote (a|my) (suicide |goodbye )?note\b",
    # methods
    r"\b(an|took|taken|take|taking|had|have|done|gonna|to|i|ive|just) overdos",
    r"\b(taking|take|took|swallow(ed)?|stockpil\w*) (all )?(my |the )?(pills|tablets)\b",
    r"\bjump (off|from|in front of)\b",
    r"\bhang(ing)? my ?self\b",
    r"\b(slit|slash|cut|cutting) my (wrists?|arms?|legs?|throat)\b",
    r"\bstep in front of a (train|bus|car)\b",
    # self-harm
    r"\bself ?harm",
    r"\bharm(ing)? my ?self\b",
    r"\bhurt(ing)? my ?self\b",
    r"\bcut(ting)? my ?self\b",
    r"\bburn(ing)? my ?self\b",
    r"\bstarv(e|ing) my ?self\b",
    # risk to others, and being at risk from others
    r"\b(kill|hurt|harm|stab|shoot|attack) (him|her|them|someone|somebody|people|my {_CLOSE})\b",
    r"\b(want|going|gonna|might|could) (to )?(kill|hurt|harm) (some|any)(one|body)\b",
    r"\bnot safe (at home|with (him|her|them|my {_CLOSE}))\b",
    r"\b(i am|im|i feel|feel) (not safe|unsafe|in danger)\b(?! of)",
    r"\b(he|she|they|my {_CLOSE}) (hits|beats|hurts|threatens|threatened|hit|beat) me\b",
    r"\b(being|been|am being) (abused|beaten|assaulted)\b",
    r"\bdomestic (abuse|violence)\b",
    r"\bin immediate danger\b",
    r"\b(having|in) a (mental health|suicidal) crisis\b",
))
_COMPILED = tuple(re.compile(pattern) for pattern in _PATTERNS)
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    folded = _APOSTROPHES.sub("", folded)
    folded = _NON_WORD.sub(" ", folded)
    return _REPEATS.sub(r"\1\1", folded).strip()


def matching_phrase(text: str) -> str | None:
    """The pattern that matched, or None. Only for logs and tests: never echo it to the user."""
    normalised = normalise(text)
    for pattern in _COMPILED:
        if pattern.search(normalised):
            return pattern.pattern
    return None


def suggests_risk(text: str) -> bool:
    return matching_phrase(text) is not None
