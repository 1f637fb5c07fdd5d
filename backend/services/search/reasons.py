"""Why a therapist matches a search, in short phrases ("helps with anxiety", "video sessions");
with no filter to match, what they offer ("speaks English and Polish", "meets by video or
phone"), so a result never says nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.domain.directory import (
    DAY_NAMES,
    DAY_PARTS,
    ISSUES,
    LANGUAGES,
    MODALITIES,
    THERAPY_TYPES,
)
from backend.services.search.filters import Query, clock


@dataclass(frozen=True)
class Offer:
    """What a candidate offers, as the search masks store it."""

    gender: str
    location: str | None
    issues_mask: int
    therapy_types_mask: int
    languages_mask: int
    modalities_mask: int
    hours: tuple[int, ...]  # per weekday, the local hours a session may start


PROFILE_ISSUES = 3  # issues named when no filter chose any


def reasons(query: Query, offer: Offer) -> list[str]:
    return _matched(query, offer) or _offered(offer)


def _matched(query: Query, offer: Offer) -> list[str]:
    found = []
    issues = _chosen(query.issues, ISSUES, offer.issues_mask)
    if issues:
        found.append(f"helps with {_and(issues)}")
    types = _chosen(query.therapy_types, THERAPY_TYPES, offer.therapy_types_mask)
    if types:
        found.append(f"offers {_and(types)}")
    languages = _chosen(query.languages, LANGUAGES, offer.languages_mask)
    if languages:
        found.append(f"speaks {_and(languages)}")
    if query.genders:
        found.append(f"{offer.gender} therapist")
    for modality in _chosen(MODALITIES, MODALITIES, offer.modalities_mask):
        if modality not in query.modalities:
            continue
        found.append(f"sees people in person in {offer.location}"
                     if modality == "in_person" else f"{modality} sessions")
    if query.by_time:
        found.append(_availability(query, offer))
    return found


def _offered(offer: Offer) -> list[str]:
    issues = _chosen(ISSUES, ISSUES, offer.issues_mask)
    languages = _chosen(LANGUAGES, LANGUAGES, offer.languages_mask)
    ways = [f"in person in {offer.location}" if modality == "in_person" else f"by {modality}"
            for modality in _chosen(MODALITIES, MODALITIES, offer.modalities_mask)]
    found = []
    if issues:
        more = " and more" if len(issues) > PROFILE_ISSUES else ""
        found.append(f"helps with {_and(issues[:PROFILE_ISSUES], last=', ' if more else ' and ')}"
                     f"{more}")
    if languages:
        found.append(f"speaks {_and(languages)}")
    if ways:
        found.append(f"meets {_and(ways, last=' or ')}")
    return found


def _and(words: Sequence[str], last: str = " and ") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])}{last}{words[-1]}"


def _chosen(values: Sequence[str], vocabulary: Sequence[str], mask: int) -> list[str]:
    return [value for value in values if mask >> vocabulary.index(value) & 1]


def _availability(query: Query, offer: Offer) -> str:
    free = [hours & allowed for hours, allowed in zip(offer.hours, query.day_hours, strict=True)]
    days = [DAY_NAMES[day] for day in query.days if free[day]]
    parts = [part for part in query.times
             if any(hours >> hour & 1 for hours in free for hour in range(*DAY_PARTS[part]))]
    limits = "".join(f" {word} {clock(minutes)}" for word, minutes in
                     (("after", query.after), ("before", query.before)) if minutes is not None)
    if parts:
        on_days = _and(days) + " " if days else ""
        return f"has {on_days}{_and([p + 's' for p in parts])} free{limits}"
    if days:
        return f"is free on {_and([day + 's' for day in days])}{limits}"
    return f"is free{limits}"
