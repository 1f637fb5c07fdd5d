"""What a channel lets through to the bot, decided before the bot runs (issue 9, item 3).

`Admission.admit(text, sender)` gives either `Admitted` (the text for Rasa, card numbers already
redacted) or `Answered` (what the channel says itself, without running the bot):
- a message longer than CHAT_MAX_MESSAGE_CHARS is answered "too long";
- a sender over CHAT_TURNS_PER_MINUTE is answered "too fast";
- a message that suggests a risk to someone's safety (bot/safety_lexicon.py) is never held back
  by either: it reaches the bot, an over-long one as its first CHAT_MAX_MESSAGE_CHARS characters
  followed by the clause that suggests the risk.
The work is linear in the length: the risk of an over-long message is looked for clause by clause
(each at most CLAUSE_CHARS), in a worker thread so that other conversations keep being answered;
only the admitted text, never longer than the limit and one clause, is redacted.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.safety_lexicon import suggests_risk
from channels.turns import TurnCounter, build_turn_counter
from contracts.redaction import redact_card_numbers
from contracts.settings import ChatLimitSettings

log = logging.getLogger(__name__)

CLAUSE_CHARS = 400
# Pieces of a long clause overlap by this much: more than any phrase of the lexicon.
CLAUSE_OVERLAP = 100
_CLAUSE = re.compile(r"[^.!?;\n]+")

# What a channel says when a turn ends without a word from the bot (channels/verified_input.py,
# `converse`). The crisis numbers are there because part of the service is down and whoever
# reads it may need them.
UNANSWERED = ("Sorry, I couldn't answer that just now: part of the service isn't responding. "
              "Please try again in a minute. If you need help urgently, call 999, or "
              "Samaritans on 116 123 (free, any time).")


@dataclass(frozen=True)
class Admitted:
    text: str  # redacted


@dataclass(frozen=True)
class Answered:
    answer: str


def too_long(length: int, limit: int) -> str:
    return (f"That message is too long for me ({length:,} characters); please send up to "
            f"{limit:,}.")


def too_fast(limit: int) -> str:
    return (f"You're sending messages faster than I can answer (more than {limit} a minute). "
            "Please wait a minute, then send your message again.")


def clauses(text: str) -> Iterator[str]:
    """The text's clauses; a clause longer than CLAUSE_CHARS in pieces of it that overlap by
    CLAUSE_OVERLAP (so that a phrase across a cut is still whole in one piece)."""
    for match in _CLAUSE.finditer(text):
        clause = match.group()
        if len(clause) <= CLAUSE_CHARS:
            yield clause
            continue
        step = CLAUSE_CHARS - CLAUSE_OVERLAP
        for start in range(0, len(clause) - CLAUSE_OVERLAP, step):
            yield clause[start:start + CLAUSE_CHARS]


def risky_clause(text: str) -> str | None:
    """The first clause of a (long) text that suggests a risk, or None."""
    return next((clause.strip() for clause in clauses(text) if suggests_risk(clause)), None)


@dataclass(frozen=True)
class RiskScan:
    """What the lexicon found in one message: the clause that suggests a risk (the whole text
    when it is not over-long), or None. A message is scanned once (`scan_for_risk`): the channel
    that answers a risk first hands its scan on to `Admission.admit`."""
    clause: str | None

    @property
    def found(self) -> bool:
        return self.clause is not None


async def scan_for_risk(text: str, limit: int) -> RiskScan:
    """Whether a message suggests a risk to someone's safety, anywhere in it (an over-long one
    clause by clause, in a worker thread): what a channel lets through to the bot's crisis answer
    even when it serves nothing else for the sender."""
    if len(text) <= limit:
        return RiskScan(text if suggests_risk(text) else None)
    return RiskScan(await asyncio.to_thread(risky_clause, text))


def redacted(text: str, sender: str) -> str:
    redaction = redact_card_numbers(text)
    if redaction.cards:
        log.info("Redacted %d card number(s) from a message of %s.", redaction.cards, sender)
    return redaction.text


class Admission:
    def __init__(self, settings: ChatLimitSettings, turns: TurnCounter | None = None) -> None:
        self.settings = settings
        self.turns = turns or build_turn_counter(settings.redis_url)

    @classmethod
    def from_environment(cls) -> Admission:
        return cls(ChatLimitSettings.from_environment())

    async def admit(self, text: str, sender: str, scan: RiskScan | None = None
                    ) -> Admitted | Answered:
        """`scan`: the message's risk scan when the caller has made it already."""
        limit = self.settings.max_message_chars
        risk = (scan or await scan_for_risk(text, limit)).clause
        turns = await self.turns.count(sender)
        if risk is not None:
            if len(text) > limit:
                log.warning("An over-long message (%d characters) of %s suggests a risk: its "
                            "start and the clause go to the bot.", len(text), sender)
                text = f"{text[:limit]} … {risk}"
            return Admitted(redacted(text, sender))
        if len(text) > limit:
            log.info("Answered a message of %d characters of %s: too long.", len(text), sender)
            return Answered(too_long(len(text), limit))
        if turns > self.settings.turns_per_minute:
            log.info("Answered turn %d this minute of %s: too fast.", turns, sender)
            return Answered(too_fast(self.settings.turns_per_minute))
        return Admitted(redacted(text, sender))
