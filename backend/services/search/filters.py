"""Search filters: what a person may ask for, checked and put in the directory's words.

Every refusal says what would be valid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from backend.domain import directory
from backend.domain.directory import (
    DAY_NAMES,
    DAY_PARTS,
    GENDERS,
    ISSUES,
    LANGUAGES,
    LOCATIONS,
    MODALITIES,
    THERAPY_TYPES,
)
from backend.domain.errors import InvalidInput
from backend.services.validation import identifier, whole_number
from contracts.answers import Vocabulary

DEFAULT_LIMIT = 5
MAX_LIMIT = 20
MAX_LIST_LENGTH = 40
MAX_WORD_LENGTH = 100
FILTER_KEYS = ("issues", "days", "times", "after", "before", "modality", "location",
               "therapy_type", "gender", "language", "grant_id", "limit")
ALL_HOURS = (1 << 24) - 1


def vocabulary() -> Vocabulary:
    return Vocabulary(list(ISSUES), list(THERAPY_TYPES), list(LANGUAGES), list(GENDERS),
                      list(LOCATIONS), list(MODALITIES), list(DAY_NAMES), list(DAY_PARTS))


@dataclass(frozen=True)
class Query:
    issues: tuple[str, ...] = ()
    therapy_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    days: tuple[int, ...] = ()
    times: tuple[str, ...] = ()
    after: int | None = None  # minutes after local midnight
    before: int | None = None
    grant_id: int | None = None
    limit: int = DEFAULT_LIMIT
    day_hours: tuple[int, ...] = field(default=(ALL_HOURS,) * 7)  # allowed start hours per day

    @property
    def by_time(self) -> bool:
        return bool(self.days or self.times or self.after is not None
                    or self.before is not None)

    def allows(self, local: datetime) -> bool:
        return bool(self.day_hours[local.weekday()] >> local.hour & 1)

    def canonical(self) -> dict[str, object]:
        words: dict[str, object] = {
            "issues": list(self.issues), "days": [DAY_NAMES[d] for d in self.days],
            "times": list(self.times), "after": clock(self.after), "before": clock(self.before),
            "modality": list(self.modalities), "location": list(self.locations),
            "therapy_type": list(self.therapy_types), "gender": list(self.genders),
            "language": list(self.languages), "grant_id": self.grant_id,
        }
        return {key: value for key, value in words.items() if value} | {"limit": self.limit}


def parse_filters(filters: object, *, session_minutes: int) -> Query:
    """Check and canonicalise a search request."""
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise InvalidInput("The search filters must be a JSON object.")
    unknown = sorted(str(key) for key in filters if key not in FILTER_KEYS)
    if unknown:
        raise InvalidInput(f"I don't know the filter '{unknown[0]}'. "
                           f"Filters: {', '.join(FILTER_KEYS)}.")
    given = {key: value for key, value in filters.items() if value not in (None, "", [])}
    modalities = _words(given.get("modality"), MODALITIES, "modality")
    locations = _words(given.get("location"), LOCATIONS, "location")
    if locations and not modalities:
        modalities = ("in_person",)
    if locations and "in_person" not in modalities:
        raise InvalidInput("A location applies only to in-person sessions: choose in_person, "
                           "or leave the location out.")
    after = _time_of_day(given.get("after"), "after")
    before = _time_of_day(given.get("before"), "before")
    if after is not None and before is not None and after >= before:
        raise InvalidInput("'after' must be earlier than 'before'.")
    days = _days(given.get("days"))
    times = _words(given.get("times"), tuple(DAY_PARTS), "time of day")
    query = Query(
        issues=_words(given.get("issues"), ISSUES, "issue"),
        therapy_types=_words(given.get("therapy_type"), THERAPY_TYPES, "therapy type"),
        languages=_words(given.get("language"), LANGUAGES, "language"),
        genders=_words(given.get("gender"), GENDERS, "gender"),
        modalities=modalities, locations=locations, days=days, times=times,
        after=after, before=before,
        grant_id=identifier(given["grant_id"], "grant id") if "grant_id" in given else None,
        limit=whole_number(given.get("limit", DEFAULT_LIMIT), "number of results",
                           maximum=MAX_LIMIT),
        day_hours=_day_hours(days, times, after, before, session_minutes),
    )
    if query.by_time and not any(query.day_hours):
        raise InvalidInput("No session fits those days and times; try a wider time range.")
    return query


def clock(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def _list(value: object, what: str) -> list[object]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_LIST_LENGTH:
        raise InvalidInput(f"Too many values for {what} (at most {MAX_LIST_LENGTH}).")
    return items


def _words(value: object, vocabulary: Sequence[str], what: str) -> tuple[str, ...]:
    chosen: list[str] = []
    for item in _list(value, what):
        if not isinstance(item, str) or len(item) > MAX_WORD_LENGTH:
            raise InvalidInput(f"The {what} must be a word or a list of words, "
                               f"one of: {', '.join(vocabulary)}.")
        word = directory.canonical(item, tuple(vocabulary), what)
        if word is None:
            raise InvalidInput(f"I don't know the {what} '{item.strip()}'. "
                               f"Choose from: {', '.join(vocabulary)}.")
        if word not in chosen:
            chosen.append(word)
    return tuple(chosen)


def _days(value: object) -> tuple[int, ...]:
    days: set[int] = set()
    for item in _list(value, "days"):
        named = directory.day_numbers(item) if isinstance(item, str) else None
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
            days.add(item)
        elif named is not None:
            days.update(named)
        else:
            raise InvalidInput(f"I don't know the day '{item}'. Use day names ("
                               f"{', '.join(DAY_NAMES)}, weekdays, weekend) or numbers "
                               "0-6 with Monday as 0.")
    return tuple(sorted(days))


def _time_of_day(value: object, what: str) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip()) if isinstance(value, str) else None
    if not match or int(match[1]) > 24 or int(match[2]) > 59 or (
            int(match[1]) == 24 and int(match[2]) > 0):
        raise InvalidInput(f"'{what}' must be a time like 18:00 (24-hour clock).")
    return int(match[1]) * 60 + int(match[2])


def _day_hours(days: Iterable[int], times: tuple[str, ...], after: int | None,
               before: int | None, session_minutes: int) -> tuple[int, ...]:
    """Per weekday, the local start hours that satisfy the day and time filters."""
    hours = 0
    for hour in sorted(directory.hours_of_parts(times)):
        start = hour * 60
        if after is not None and start < after:
            continue
        if before is not None and start + session_minutes > before:
            continue
        hours |= 1 << hour
    chosen = set(days) or set(range(7))
    return tuple(hours if day in chosen else 0 for day in range(7))
