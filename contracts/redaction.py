"""Card numbers never reach the assistant (PRODUCT.md rule 6).

`redact_card_numbers` runs in the input channel before Rasa sees the text, so the number is in
no tracker, log or backend call. It replaces every Luhn-valid number of 13 to 19 digits with
PLACEHOLDER, which the NLU maps to the `card_number_shared` intent (whose answer explains that
cards are added only on Stripe's secure page).

How people type a card: digits in groups, between them up to three spaces, tabs or no-break
spaces, optionally around one dash (any of - ‐ ‒ – — ― −), slash, dot or line break ("4242 -
4242", "4242/4242", "4242\\t4242", "4242\\n4242"). A group of one or two digits next to a dash,
slash or dot is a date or a time ("12/30", "2026-12-02"), never part of a card, so the run ends
there. Within a run, a card starts where a group starts and ends where one ends (a run that is
one block of digits: anywhere); every Luhn-valid stretch of 13 to 19 digits is replaced.

Linear in the length of the text: one regular-expression pass without backtracking, and each
candidate stretch is checked in constant time with prefix sums of the Luhn weights.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import NamedTuple

PLACEHOLDER = "[card number removed]"
MIN_DIGITS = 13
MAX_DIGITS = 19

_SPACE = "[ \\t\\u00a0\\u2007\\u202f]"
_MARK = "(?:[\\-\\u2010-\\u2015\\u2212/.]|\\r?\\n)"
_SEPARATOR = f"(?:{_SPACE}{{0,3}}{_MARK}{_SPACE}{{0,3}}|{_SPACE}{{1,3}})"
# Groups of digits and what lies between them; the separator never starts with a digit, so the
# engine never backtracks into a group.
_RUN = re.compile(f"\\d+(?:{_SEPARATOR}\\d+)*")
_GROUP = re.compile("\\d+")
_MARKS = re.compile(_MARK)
# Luhn: every second digit from the right is doubled (and 9 taken off when over 9).
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


class Redaction(NamedTuple):
    text: str
    cards: int  # how many card numbers were replaced


class _Group(NamedTuple):
    start: int  # in the text
    end: int
    digits: str
    before: str  # what was typed between the previous group and this one


def luhn_valid(digits: str) -> bool:
    if not digits.isdecimal():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        total += _DOUBLED[value] if position % 2 == 1 else value
    return total % 10 == 0


def _segments(run: re.Match[str]) -> Iterator[list[_Group]]:
    """The run's groups, split where a dash, slash or dot touches a group of 1-2 digits."""
    groups: list[_Group] = []
    for match in _GROUP.finditer(run.group()):
        start, end = run.start() + match.start(), run.start() + match.end()
        before = run.string[groups[-1].end:start] if groups else ""
        groups.append(_Group(start, end, match.group(), before))
    segment = [groups[0]]
    for previous, group in itertools.pairwise(groups):
        if _MARKS.search(group.before) and min(len(previous.digits), len(group.digits)) <= 2:
            yield segment
            segment = []
        segment.append(group)
    yield segment


def _luhn_prefixes(digits: str) -> tuple[list[int], list[int]]:
    """Running Luhn sums mod 10: in the first, digits at odd positions are doubled; in the
    second, digits at even ones. A stretch ending at index `end` (exclusive) doubles the digits
    whose distance from `end - 1` is odd: the first list when `end - 1` is even."""
    odd_doubled, even_doubled = [0], [0]
    for index, char in enumerate(digits):
        value = int(char)
        doubled = _DOUBLED[value]
        odd_doubled.append((odd_doubled[-1] + (doubled if index % 2 else value)) % 10)
        even_doubled.append((even_doubled[-1] + (value if index % 2 else doubled)) % 10)
    return odd_doubled, even_doubled


def _windows(segment: list[_Group], digits: str) -> list[tuple[int, int, bool]]:
    """(first digit, end digit, uniform) of every Luhn-valid card-length stretch that starts
    and ends at group edges; `uniform`: one separator typed between all of its groups."""
    if len(segment) == 1:
        edges = [(start, 0) for start in range(len(digits))]
        ends = {end: 0 for end in range(len(digits) + 1)}
        streak = [1]
    else:
        edges, ends, cursor = [], {}, 0
        for index, group in enumerate(segment):
            edges.append((cursor, index))
            cursor += len(group.digits)
            ends[cursor] = index
        typed = [group.before for group in segment[1:]]
        # streak[i]: how many separators up to the one after group i are the same as it.
        streak = [1] * len(segment)
        for i in range(1, len(typed)):
            streak[i] = streak[i - 1] + 1 if typed[i] == typed[i - 1] else 1
    odd_doubled, even_doubled = _luhn_prefixes(digits)
    windows: list[tuple[int, int, bool]] = []
    for start, first in edges:
        for end in range(start + MIN_DIGITS, min(start + MAX_DIGITS, len(digits)) + 1):
            sums = odd_doubled if (end - 1) % 2 == 0 else even_doubled
            last = ends.get(end)
            if last is not None and sums[end] == sums[start]:
                windows.append((start, end, last == first or streak[last - 1] >= last - first))
    return windows


def _card_spans(segment: list[_Group]) -> list[tuple[int, int]]:
    """Text spans of a segment's card numbers. Where valid stretches overlap (a card typed
    after a phone number), those typed with one separator throughout win over mixed ones; the
    rest are merged, so that no digit of a card is left when the reading is ambiguous."""
    digits = "".join(group.digits for group in segment)
    if len(digits) < MIN_DIGITS:
        return []
    positions = [group.start + offset for group in segment for offset in range(len(group.digits))]
    spans: list[tuple[int, int]] = []
    for cluster in _overlapping(_windows(segment, digits)):
        kept = [w for w in cluster if w[2]] or cluster
        for start, end, _ in kept:
            span = (positions[start], positions[end - 1] + 1)
            if spans and span[0] < spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], span[1]))
            else:
                spans.append(span)
    return spans


def _overlapping(windows: list[tuple[int, int, bool]]) -> Iterator[list[tuple[int, int, bool]]]:
    """Windows (sorted by start) in clusters that overlap one another."""
    cluster: list[tuple[int, int, bool]] = []
    reach = -1
    for window in windows:
        if cluster and window[0] >= reach:
            yield cluster
            cluster = []
        cluster.append(window)
        reach = max(reach, window[1]) if len(cluster) > 1 else window[1]
    if cluster:
        yield cluster


def redact_card_numbers(text: str) -> Redaction:
    """The text with every card number replaced by PLACEHOLDER, and how many were replaced."""
    if not text:
        return Redaction(text, 0)
    pieces: list[str] = []
    count = 0
    cursor = 0
    for run in _RUN.finditer(text):
        if run.end() - run.start() < MIN_DIGITS:
            continue
        for segment in _segments(run):
            for start, end in _card_spans(segment):
                pieces.append(text[cursor:start])
                pieces.append(PLACEHOLDER)
                cursor = end
                count += 1
    pieces.append(text[cursor:])
    return Redaction("".join(pieces), count)
