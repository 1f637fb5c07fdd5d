"""A synthetic therapist directory: realistic, deterministic for a seed, bulk-inserted fast.

Used to seed development databases and by the search benchmark; it draws from the directory's
vocabulary (backend/domain/directory.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.directory import ISSUES, LANGUAGES, LOCATIONS, THERAPY_TYPES
from backend.domain.slots import Window
from backend.models import (
    Availability,
    Therapist,
    TherapistIssue,
    TherapistLanguage,
    TherapistSearchHour,
    TherapistTherapyType,
)
from backend.models.therapist import search_columns, search_hour_rows

BATCH_SIZE = 5_000


@dataclass(frozen=True)
class Profile:
    """What a therapist offers, before it is stored."""

    name: str
    gender: str
    fee_minor: int
    issues: tuple[str, ...]
    therapy_types: tuple[str, ...]
    languages: tuple[str, ...] = ("English",)
    windows: tuple[Window, ...] = ()
    location: str | None = None
    offers_in_person: bool = False
    offers_video: bool = True
    offers_phone: bool = False
    bio: str = ""
    currency: str = "GBP"
    search: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.offers_in_person and self.location is None:
            raise ValueError("an in-person therapist needs a location")
        object.__setattr__(self, "search", search_columns(
            issues=self.issues, therapy_types=self.therapy_types, languages=self.languages,
            in_person=self.offers_in_person, video=self.offers_video, phone=self.offers_phone,
            windows=[(w.weekday, w.start_minute, w.end_minute) for w in self.windows],
        ))

    def row(self) -> dict[str, object]:
        return {
            "name": self.name, "gender": self.gender, "bio": self.bio,
            "fee_minor": self.fee_minor, "currency": self.currency, "location": self.location,
            "offers_in_person": self.offers_in_person, "offers_video": self.offers_video,
            "offers_phone": self.offers_phone, **self.search,
        }


def add_therapist(session: Session, profile: Profile) -> int:
    """Store one profile through the ORM (the search data follows on flush); returns its id."""
    row = profile.row()
    for column in profile.search:
        row.pop(column)
    therapist = Therapist(
        **row,
        issues=[TherapistIssue(issue=issue) for issue in profile.issues],
        therapy_types=[TherapistTherapyType(therapy_type=t) for t in profile.therapy_types],
        languages=[TherapistLanguage(language=language) for language in profile.languages],
        availability=[Availability(weekday=w.weekday, start_minute=w.start_minute,
                                   end_minute=w.end_minute) for w in profile.windows],
    )
    session.add(therapist)
    session.flush()
    return therapist.id


class _Weighted:
    """Draws from fixed relative weights (cumulative weights computed once)."""

    def __init__(self, weights: dict):
        self.names = list(weights)
        self.cumulative = list(accumulate(weights.values()))

    def one(self, rng: random.Random):
        return rng.choices(self.names, cum_weights=self.cumulative)[0]

    def distinct(self, rng: random.Random, count: int) -> tuple:
        """`count` different values, the likelier ones more often."""
        chosen: list = []
        while len(chosen) < min(count, len(self.names)):
            value = self.one(rng)
            if value not in chosen:
                chosen.append(value)
        return tuple(chosen)


# Rough shares in UK private practice; the weights are relative.
_GENDERS = _Weighted({"female": 74, "male": 23, "non-binary": 3})
_ISSUES = _Weighted(dict(zip(ISSUES, (
    60, 45, 50, 35, 25, 20, 30, 22, 18, 10, 8, 9, 15, 10, 18, 8, 10, 4, 10, 8, 5, 15, 6, 4,
    5, 3, 6, 8, 6, 7, 3, 8, 5, 6), strict=True)))
_THERAPY_TYPES = _Weighted(dict(zip(THERAPY_TYPES, (
    45, 30, 35, 25, 12, 6, 8, 5, 10, 6, 15, 6, 4, 5, 6, 4, 6, 5), strict=True)))
# Other languages spoken besides English, by UK prevalence.
_OTHER_LANGUAGES = _Weighted(dict(zip(LANGUAGES[1:], (
    20, 14, 12, 10, 9, 6, 8, 7, 6, 6, 4, 4, 3, 3, 4, 4, 4, 3, 4, 2, 4, 2, 2, 1, 2, 2),
    strict=True)))
_LOCATIONS = _Weighted(dict(zip(LOCATIONS, (
    40, 9, 8, 6, 6, 6, 5, 5, 4, 4, 4, 4, 3, 4, 3, 3, 3, 3, 2, 2, 2, 2), strict=True)))
_FIRST_NAMES = {
    "female": ("Olivia", "Amelia", "Sophie", "Emily", "Grace", "Hannah", "Priya", "Aisha",
               "Chloe", "Zofia", "Maria", "Fatima", "Rachel", "Laura", "Niamh", "Siobhan",
               "Mei", "Ayesha", "Catherine", "Eleanor", "Freya", "Isla", "Leah", "Rosa"),
    "male": ("Oliver", "James", "Thomas", "Daniel", "Mohammed", "Ravi", "Tomasz", "David",
             "Samuel", "Luca", "Ahmed", "Rhys", "Callum", "Owen", "Patrick", "Chen", "Noah",
             "Jacob", "Adam", "Marcus"),
    "non-binary": ("Alex", "Sam", "Jordan", "Robin", "Charlie", "Jesse", "Riley", "Morgan"),
}
_SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
             "Patel", "Khan", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes",
             "Nowak", "Kowalski", "Murphy", "O'Brien", "Campbell", "Stewart", "Ali", "Shah",
             "Green", "Hall", "Wood", "Clarke", "Singh", "Begum", "Lewis", "Morgan", "Rossi",
             "Garcia", "Silva", "Wong", "Cohen", "Kaur", "Hussain", "Edwards")
# (first local start hour, last start hour, (shortest, longest) window in hours)
_DAY_PARTS = {"morning": (7, 10, (2, 4)), "afternoon": (12, 15, (2, 4)),
              "evening": (17, 19, (2, 3))}
_PARTS = _Weighted({"morning": 35, "afternoon": 35, "evening": 30})
_WEEKDAYS = _Weighted(dict(enumerate((18, 18, 18, 18, 15, 8, 5))))


def _windows(rng: random.Random) -> tuple[Window, ...]:
    # One window a day at most, so that windows never overlap.
    days = sorted(_WEEKDAYS.distinct(rng, rng.randint(1, 4)))
    windows = []
    for day in days:
        first, last, (shortest, longest) = _DAY_PARTS[_PARTS.one(rng)]
        start = rng.randint(first, last) * 60 + rng.choice((0, 0, 0, 30))
        end = min(start + rng.randint(shortest, longest) * 60, 22 * 60)
        windows.append(Window(day, start, end))
    return tuple(windows)


def _profile(rng: random.Random) -> Profile:
    gender = _GENDERS.one(rng)
    name = f"{rng.choice(_FIRST_NAMES[gender])} {rng.choice(_SURNAMES)}"
    issues = _ISSUES.distinct(rng, rng.randint(2, 7))
    therapy_types = _THERAPY_TYPES.distinct(rng, rng.choice((1, 1, 2, 2, 2, 3)))
    languages: tuple[str, ...] = ("English",)
    if rng.random() < 0.22:
        languages += _OTHER_LANGUAGES.distinct(rng, rng.choice((1, 1, 1, 2)))
    in_person = rng.random() < 0.55
    video = rng.random() < 0.9 or not in_person
    phone = rng.random() < 0.4
    location = _LOCATIONS.one(rng) if in_person else None
    fee_minor = 100 * min(150, max(50, 5 * round(rng.gauss(85, 18) / 5)))
    bio = (f"{therapy_types[0][0].upper()}{therapy_types[0][1:]} therapist"
           f"{f' in {location}' if location else ''}, working with {issues[0]} and {issues[1]}.")
    return Profile(
        name=name, gender=gender, fee_minor=fee_minor, issues=issues,
        therapy_types=therapy_types, languages=languages, windows=_windows(rng),
        location=location, offers_in_person=in_person, offers_video=video, offers_phone=phone,
        bio=bio,
    )


def generate(count: int, *, seed: int = 7) -> Iterator[Profile]:
    """`count` realistic profiles; the same seed always gives the same directory."""
    rng = random.Random(seed)
    for _ in range(count):
        yield _profile(rng)


def populate(db: Database, count: int, *, seed: int = 7, progress: bool = True) -> int:
    """Bulk-insert `count` generated therapists (Core executemany, in batches of
    BATCH_SIZE, one transaction); returns the number inserted."""
    from tqdm import tqdm  # only the command-line paths need the progress bar

    inserted = 0
    with db.transaction() as session, tqdm(total=count, disable=not progress,
                                           unit="therapist", desc="directory") as bar:
        connection = session.connection()
        next_id = (connection.scalar(select(func.max(Therapist.id))) or 0) + 1
        profiles = generate(count, seed=seed)
        while inserted < count:
            batch = [next(profiles) for _ in range(min(BATCH_SIZE, count - inserted))]
            _insert_batch(session, next_id, batch)
            next_id += len(batch)
            inserted += len(batch)
            bar.update(len(batch))
    return inserted


def _insert_batch(session: Session, first_id: int, profiles: Sequence[Profile]) -> None:
    therapists: list[dict[str, object]] = []
    issues: list[dict[str, object]] = []
    types: list[dict[str, object]] = []
    languages: list[dict[str, object]] = []
    windows: list[dict[str, object]] = []
    hours: list[dict[str, object]] = []
    for tid, profile in enumerate(profiles, start=first_id):
        therapists.append({"id": tid, **profile.row()})
        hours.extend(search_hour_rows(tid, therapists[-1]))
        issues.extend({"therapist_id": tid, "issue": issue} for issue in profile.issues)
        types.extend({"therapist_id": tid, "therapy_type": t} for t in profile.therapy_types)
        languages.extend({"therapist_id": tid, "language": lang} for lang in profile.languages)
        windows.extend({"therapist_id": tid, "weekday": w.weekday, "start_minute": w.start_minute,
                        "end_minute": w.end_minute} for w in profile.windows)
    connection = session.connection()
    for model, rows in ((Therapist, therapists), (TherapistIssue, issues),
                        (TherapistTherapyType, types), (TherapistLanguage, languages),
                        (Availability, windows), (TherapistSearchHour, hours)):
        if rows:
            connection.execute(insert(model), rows)
