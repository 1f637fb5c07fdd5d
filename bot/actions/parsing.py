"""Reading free text the way people write it: numbers in words, days and times, invite codes,
choices from a list. Pure functions, no I/O; the backend has the last word on every value."""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dateparser
from word2number import w2n

UNLIMITED = "unlimited"
ANY = "any"

_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand",
)
_SKIP = re.compile(
    r"^\s*(any|anything|any ?one|anyone|any time|anytime|whenever|whatever|either|no preference|"
    r"no pref|not sure|unsure|dont mind|don't mind|i don'?t mind|doesn'?t matter|does not matter|"
    r"skip|pass|none|no|nope|n/a|na|idk|i don'?t know|dunno|all|anything is fine|any is fine|"
    r"happy with any|open)\b[\s.!]*(is fine|works|please|really|thanks)?[\s.!]*$",
    re.IGNORECASE,
)
_UNLIMITED = re.compile(
    r"\b(unlimited|no limit|limitless|no cap|uncapped|everyone|everybody|all of them|"
    r"as many as (they|we|people) (like|want|need)|any number|infinite)\b", re.IGNORECASE)


def is_skip(text: str | None) -> bool:
    """'no preference', 'any', 'skip', 'not sure' and the like."""
    return bool(text) and bool(_SKIP.match(text.strip()))


def _fix_number_word(word: str) -> str:
    close = difflib.get_close_matches(word, _NUMBER_WORDS, n=1, cutoff=0.8)
    return close[0] if close else word


def parse_numbers(text: str | None) -> list[int]:
    """Every whole number in the text, digits or words ("7", "seven", "twenty five", "sevn")."""
    if not text:
        return []
    found: list[int] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            with contextlib.suppress(ValueError):
                found.append(int(w2n.word_to_num(" ".join(run))))
            run.clear()

    for token in re.findall(r"\d+|[a-z]+", text.lower().replace(",", "")):
        if token.isdigit():
            flush()
            found.append(int(token))
            continue
        word = _fix_number_word(token) if len(token) > 3 else token
        if word in _NUMBER_WORDS:
            run.append(word)
        elif word == "and" and run:
            continue
        else:
            flush()
    flush()
    return found


def parse_count(text: str | None) -> int | None:
    numbers = parse_numbers(text)
    return numbers[0] if numbers else None


_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365}
_HOURS = {"hour": 1, "hr": 1, "h": 1, "day": 24, "week": 168}


def _parse_duration(text: str | None, per_unit: Mapping[str, int]) -> int | None:
    """A duration in the first unit of `per_unit`: "10", "two weeks", "a day", "48h"."""
    if not text:
        return None
    lowered = text.lower()
    unit = re.search(r"(?<![a-z])(" + "|".join(per_unit) + r")s?\b", lowered)
    count = parse_count(lowered)
    if count is None and unit and re.search(r"\b(a|an|one)\b", lowered):
        count = 1
    if count is None:
        return None
    return count * (per_unit[unit.group(1)] if unit else 1)


def parse_days(text: str | None) -> int | None:
    """A number of days: "10", "10 days", "two weeks", "a month" (30 days)."""
    return _parse_duration(text, _DAYS)


def parse_hours(text: str | None) -> int | None:
    """A number of hours: "24", "24 hours", "48h", "a day", "two days" (48 hours)."""
    return _parse_duration(text, _HOURS)


def parse_user_limit(text: str | None) -> int | str | None:
    """A number of users, UNLIMITED, or None if the text says neither."""
    if text and _UNLIMITED.search(text):
        return UNLIMITED
    return parse_count(text)


def parse_sessions_and_users(text: str | None) -> tuple[int | None, int | str | None]:
    """"7 sessions for 5 people" -> (7, 5); "seven sessions, unlimited users" -> (7, UNLIMITED)."""
    if not text:
        return None, None
    lowered = text.lower()
    sessions = re.search(r"(\w+(?: \w+)?)\s+sess?ions?", lowered)
    users = re.search(r"(\w+(?: \w+)?)\s+(?:users?|people|persons?|employees|staff|members)",
                      lowered)
    session_count = parse_count(sessions.group(1)) if sessions else None
    user_limit = None
    if _UNLIMITED.search(lowered):
        user_limit = UNLIMITED
    elif users:
        user_limit = parse_count(users.group(1).split()[-1]) or parse_count(users.group(1))
    return session_count, user_limit


# ------------------------------------------------------------------------------ codes, emails

_CODE_GROUPS = re.compile(r"(?<![a-z0-9])([a-z0-9]{5})[\s\-_.]?([a-z0-9]{5})(?![a-z0-9])", re.I)
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"']+@[^@\s<>()\[\],;:\"']+\.[a-z]{2,}", re.IGNORECASE)


def find_invite_code(text: str | None, *, only_answer: bool = False) -> str | None:
    """The invite code in the text, as XXXXX-XXXXX, or None.

    A candidate needs a digit or a dash, so "hello there" is not a code; when the whole message
    is the answer to "what is your code?" (`only_answer`) any ten letters and digits count. The
    backend normalises and checks the code; this only finds it.
    """
    if not text:
        return None
    for match in _CODE_GROUPS.finditer(text):
        raw = match.group(0)
        if any(ch.isdigit() for ch in raw) or "-" in raw or only_answer:
            return f"{match.group(1)}-{match.group(2)}".upper()
    return None


def find_email(text: str | None) -> str | None:
    match = _EMAIL.search(text or "")
    return match.group(0).strip(".").lower() if match else None


_DOMAIN = re.compile(r"(?<![\w.-])(?:[^@\s]*@)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,})\b",
                     re.IGNORECASE)


def find_email_domain(text: str | None) -> str | None:
    """The email domain said: "acme.co.uk", "@acme.co.uk" or an address "jo@acme.co.uk"
    (the backend checks it)."""
    match = _DOMAIN.search(text or "")
    return match.group(1).lower() if match else None


# ------------------------------------------------------------------------------ days and times

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Words:
    """The backend's words for days, parts of the day and ways of meeting (GET /policies):
    the bot reads free text with the directory's vocabulary, never a copy of its own."""

    days: Mapping[str, Sequence[str]]  # "tues" -> ["tuesday"], "weekend" -> [...]
    day_parts: Mapping[str, str]  # "lunch" -> "afternoon"
    day_part_hours: Mapping[str, Sequence[int]]  # "evening" -> [17, 22), local start hours
    modalities: Mapping[str, Sequence[str]]  # "video" -> ["video", "zoom", ...]


def _word(table: Mapping[str, object], token: str) -> Any:
    """The table's entry for the token or, for a longer word, its singular ("evenings")."""
    found = table.get(token)
    if found is None and len(token) > 4 and token.endswith("s"):
        found = table.get(token[:-1])
    return found


_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
_AFTER = re.compile(
    rf"\b(?:after|from|later than|past|not before|starting|any time after)\s+{_CLOCK}")
_BEFORE = re.compile(
    rf"\b(?:before|until|till|til|by|no later than|not after|earlier than)\s+{_CLOCK}")
_BETWEEN = re.compile(rf"\bbetween\s+{_CLOCK}\s+(?:and|-|to)\s+{_CLOCK}")
_AT = re.compile(rf"\b(?:at|around|about)\s+{_CLOCK}")
# A time said on its own ("friday 8pm", "thursday 18:30"): with am/pm or minutes, so that a
# bare number stays a choice or a count.
_CLOCK_ALONE = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)"
                          r"|\b(\d{1,2})[:.](\d{2})\b")


@dataclass
class When:
    """Day and time preferences in the backend's search words."""

    days: list[str] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    after: str | None = None
    before: str | None = None

    @classmethod
    def from_filters(cls, filters: Mapping[str, Any]) -> When:
        return cls(days=filters.get("days", []), times=filters.get("times", []),
                   after=filters.get("after"), before=filters.get("before"))

    def is_empty(self) -> bool:
        return not (self.days or self.times or self.after or self.before)

    def as_filters(self) -> dict[str, object]:
        filters: dict[str, object] = {}
        if self.days:
            filters["days"] = self.days
        if self.times:
            filters["times"] = self.times
        if self.after:
            filters["after"] = self.after
        if self.before:
            filters["before"] = self.before
        return filters

    def describe(self) -> str:
        parts = []
        if self.days:
            parts.append(_describe_days(self.days))
        if self.times:
            parts.append(" or ".join(f"{t}s" for t in self.times))
        if self.after:
            parts.append(f"after {self.after}")
        if self.before:
            parts.append(f"before {self.before}")
        return ", ".join(parts) or "any time"


def _describe_days(days: list[str]) -> str:
    if days == list(DAYS[:5]):
        return "weekdays"
    if days == list(DAYS[5:]):
        return "weekends"
    return " or ".join(day.capitalize() for day in days)


def _hhmm(hour: str, minute: str | None, meridiem: str | None, *, assume_pm: bool) -> str | None:
    h, m = int(hour), int(minute or 0)
    meridiem = (meridiem or "").replace(".", "")
    if meridiem == "pm" and h < 12:
        h += 12
    elif meridiem == "am" and h == 12:
        h = 0
    elif not meridiem and assume_pm and 1 <= h <= 7:
        h += 12  # "after 5" means 17:00 when talking about appointments
    if h > 23 or m > 59:
        return None
    return f"{h:02d}:{m:02d}"


def _time_at(lowered: str) -> tuple[str, str | None, str | None] | None:
    """Hour, minutes and am/pm of "at 6pm", "around 5:30" or a time said alone."""
    at = _AT.search(lowered)
    if at:
        return at.group(1), at.group(2), at.group(3)
    alone = _CLOCK_ALONE.search(lowered)
    if alone is None:
        return None
    if alone.group(1):
        return alone.group(1), alone.group(2), alone.group(3)
    return alone.group(4), alone.group(5), None


def parse_when(text: str | None, words: Words, now: datetime | None = None) -> When | None:
    """Days and times in the text; When() (empty) for 'any time'; None if there are none."""
    if not text:
        return None
    lowered = text.lower()
    if is_skip(lowered) or re.search(r"\b(any ?time|whenever)\b", lowered):
        return When()
    when = When()
    days: set[str] = set()
    if re.search(r"\bweek ?days?\b|\bweekdays\b|\bmon(day)?\s*(-|to|through|till)\s*fri(day)?\b",
                 lowered):
        days.update(DAYS[:5])
    if re.search(r"\bweek ?ends?\b", lowered):
        days.update(DAYS[5:])
    for token in re.findall(r"[a-z]+", lowered):
        named = _word(words.days, token)
        if named:
            days.update(named)
        elif len(token) > 5 and token.endswith("day"):
            close = difflib.get_close_matches(token, DAYS, n=1, cutoff=0.8)
            days.update(close)
    relative = re.search(r"\b(tomorrow|today|day after tomorrow|in \w+ days?)\b",
                         re.sub(r"\b(tomorow|tommorow|tommorrow|tmrw|tmr)\b", "tomorrow", lowered))
    if relative and not days:
        parsed = dateparser.parse(relative.group(0), settings={
            "PREFER_DATES_FROM": "future", **({"RELATIVE_BASE": now} if now else {})})
        if parsed:
            days.add(DAYS[parsed.weekday()])
    when.days = [day for day in DAYS if day in days]
    for token in re.findall(r"[a-z]+", lowered):
        part = _word(words.day_parts, token)
        if part and part not in when.times:
            when.times.append(part)
    if "after work" in lowered and "evening" not in when.times:
        when.after = "17:00"
    between = _BETWEEN.search(lowered)
    if between:
        when.after = _hhmm(*between.group(1, 2, 3), assume_pm=False)
        when.before = _hhmm(*between.group(4, 5, 6),
                            assume_pm=int(between.group(4)) < int(between.group(1)))
    else:
        after = _AFTER.search(lowered)
        before = _BEFORE.search(lowered)
        at = _time_at(lowered)
        if after:
            when.after = _hhmm(*after.group(1, 2, 3), assume_pm=True)
        if before:
            when.before = _hhmm(*before.group(1, 2, 3), assume_pm=True)
        if at and not after and not before:
            start = _hhmm(*at, assume_pm=True)
            if start:
                when.after = start
                when.before = f"{(int(start[:2]) + 2) % 24:02d}:{start[3:]}"
    return None if when.is_empty() else when


_INDIFFERENT = re.compile(
    r"\b(any|either|whatever|no preference|don'?t mind|do not mind|doesn'?t matter|"
    r"does not matter|not fussed|not bothered|don'?t care|not important|isn'?t important)\b")
# The filters a member can let go of by name, and the words naming them.
_FILTER_NAMES = {
    "gender": re.compile(r"\b(gender|male or female|man or (a )?woman)\b"),
    "language": re.compile(r"\blanguages?\b"),
    "therapy_type": re.compile(r"\b((type|kind|sort|style) of (therapy|therapist)|"
                               r"therapy (type|style)|approach)\b"),
    "days": re.compile(r"\b(days?|which day)\b"),
}


def cleared_filters(text: str | None) -> list[str]:
    """The filters the text lets go of: "any gender", "I don't mind the type of therapy",
    "any day" (gender, therapy_type, days)."""
    lowered = (text or "").lower()
    if not _INDIFFERENT.search(lowered):
        return []
    return [name for name, pattern in _FILTER_NAMES.items() if pattern.search(lowered)]


# ------------------------------------------------------------------------------ choices, words

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "last": -1}


def parse_choice(text: str | None, names: Sequence[str]) -> int | None:
    """Index chosen from a numbered list: '2', 'the second one', 'last', or a (part of a) name."""
    if not text or not names:
        return None
    lowered = text.lower()
    for word, number in _ORDINALS.items():
        if re.search(rf"\b{word}\b", lowered):
            if number == -1:
                return len(names) - 1
            return number - 1 if number <= len(names) else None
    numbers = parse_numbers(lowered)
    if numbers and 1 <= numbers[0] <= len(names) and len(lowered.strip()) <= 12:
        return numbers[0] - 1
    for index, name in enumerate(names):
        parts = [p for p in re.findall(r"[a-z]+", name.lower()) if len(p) > 2]
        if name.lower() in lowered or any(re.search(rf"\b{p}\b", lowered) for p in parts
                                          if p not in {"dr", "the", "and"}):
            return index
    return None


def match_words(text: str | None, vocabulary: Sequence[str], *, cutoff: float = 0.82) -> list[str]:
    """Vocabulary words found in the text, forgiving typos ("anxeity" -> "anxiety")."""
    if not text:
        return []
    def key(word: str) -> str:
        return re.sub(r"[^a-z0-9 ]", " ", word.lower()).strip()
    lowered = f" {key(text)} "
    found: list[str] = []
    by_key = {key(word): word for word in vocabulary}
    for word_key, word in by_key.items():
        if f" {word_key} " in lowered or f" {word_key}s " in lowered:
            found.append(word)
    tokens = lowered.split()
    grams = tokens + [" ".join(tokens[i:i + 2]) for i in range(len(tokens) - 1)]
    for gram in grams:
        if len(gram) < 4:
            continue
        for close in difflib.get_close_matches(gram, list(by_key), n=1, cutoff=cutoff):
            if by_key[close] not in found:
                found.append(by_key[close])
    return found


def parse_modality(text: str | None, words: Words) -> str | None:
    """in_person, video, phone (as the backend names them), ANY, or None."""
    if not text:
        return None
    lowered = text.lower()
    for modality, names in words.modalities.items():
        if any(re.search(rf"\b{re.escape(name)}\b", lowered) for name in names):
            return modality
    if is_skip(lowered) or re.search(r"\b(either|any|don'?t mind|no preference)\b", lowered):
        return ANY
    return None


# ------------------------------------------------------------------------------ display

def local_time(iso: str | datetime, timezone: str = "Europe/London") -> datetime:
    moment = iso if isinstance(iso, datetime) else datetime.fromisoformat(
        iso.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(timezone))


_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_DAY_OF_MONTH = re.compile(
    r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"\b"
    r"|\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b")


def day_of_month(text: str | None) -> int | None:
    """The day of the month a time is said with: "mon 14 dec", "the 3rd of march", "monday the
    14th"; never an hour ("3pm") or a bare place in a list ("2")."""
    found = _DAY_OF_MONTH.search((text or "").lower())
    if not found:
        return None
    day = int(found.group(1) or found.group(2))
    return day if 1 <= day <= 31 else None


def format_slot(iso: str | datetime, timezone: str = "Europe/London") -> str:
    """'Tue 12 May, 17:00' in the service's time zone."""
    moment = local_time(iso, timezone)
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M}"


def format_day(iso: str | datetime, timezone: str = "Europe/London") -> str:
    """'3 January 2027' in the service's time zone."""
    moment = local_time(iso, timezone)
    return f"{moment.day} {moment:%B %Y}"


def format_money(minor: int | None, currency: str = "GBP") -> str:
    if minor is None:
        return "not shown"
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency.upper(), currency.upper() + " ")
    return f"{symbol}{minor / 100:,.2f}"


def when_allows(when: When, moment: datetime, words: Words) -> bool:
    """Whether a (local) start time fits the preferences; used to order offered slots."""
    if when.days and DAYS[moment.weekday()] not in when.days:
        return False
    hours = words.day_part_hours
    if when.times and not any(first <= moment.hour < last for first, last in
                              (hours[t] for t in when.times if t in hours)):
        return False
    clock = f"{moment:%H:%M}"
    if when.after and clock < when.after:
        return False
    return not (when.before and clock >= when.before)
