"""Card numbers never reach the assistant (PRODUCT.md rule 6).

`redact_card_numbers` runs in the input channel before Rasa sees the text, so the number is in
no tracker, log or backend call. It replaces every Luhn-valid run of 13 to 19 digits (spaces or
dashes allowed between digits) with PLACEHOLDER, which the NLU maps to the `card_number_shared`
intent (whose answer explains that cards are added only on Stripe's secure page).
"""

from __future__ import annotations

import re
from typing import NamedTuple

PLACEHOLDER = "[card number removed]"
MIN_DIGITS = 13
MAX_DIGITS = 19

# A run of digits, each optionally followed by one space, dash or dot (how people type cards).
_DIGIT_RUN = re.compile(r"\d(?:[ \-.\u00a0]?\d)+")


class Redaction(NamedTuple):
    text: str
    cards: int  # how many card numbers were replaced


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_spans(run: str) -> list[tuple[int, int]]:
    """Spans (in `run`) of card numbers: the whole run when it has 13 to 19 digits and passes
    Luhn; in a longer run (a card typed next to other digits), every Luhn-valid card-length
    window, longest first, not overlapping."""
    positions = [i for i, ch in enumerate(run) if ch.isdigit()]
    digits = "".join(run[i] for i in positions)
    if len(digits) <= MAX_DIGITS:
        return [(positions[0], positions[-1] + 1)] if luhn_valid(digits) else []
    taken = [False] * len(digits)
    spans: list[tuple[int, int]] = []
    for length in range(min(MAX_DIGITS, len(digits)), MIN_DIGITS - 1, -1):
        for start in range(len(digits) - length + 1):
            end = start + length
            if any(taken[start:end]) or not luhn_valid(digits[start:end]):
                continue
            taken[start:end] = [True] * length
            spans.append((positions[start], positions[end - 1] + 1))
    return sorted(spans)


def redact_card_numbers(text: str) -> Redaction:
    """The text with every card number replaced by PLACEHOLDER, and how many were replaced."""
    if not text:
        return Redaction(text, 0)
    pieces: list[str] = []
    count = 0
    cursor = 0
    for match in _DIGIT_RUN.finditer(text):
        if sum(ch.isdigit() for ch in match.group()) < MIN_DIGITS:
            continue
        for start, end in _card_spans(match.group()):
            pieces.append(text[cursor : match.start() + start])
            pieces.append(PLACEHOLDER)
            cursor = match.start() + end
            count += 1
    pieces.append(text[cursor:])
    return Redaction("".join(pieces), count)
