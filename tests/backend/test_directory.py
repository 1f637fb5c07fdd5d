"""The synthetic directory and the denormalised search data kept from the normalised rows."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import delete, func, select

from backend.demo_directory import Profile, add_therapist, generate, populate
from backend.domain import directory as vocabulary
from backend.domain.slots import Window
from backend.models import (
    Availability,
    Therapist,
    TherapistIssue,
    TherapistLanguage,
    TherapistTherapyType,
)
from backend.models.therapist import HOUR_COLUMNS, refresh_search_data, window_hours

SEARCH_COLUMNS = ("issues_mask", "therapy_types_mask", "languages_mask", "modalities_mask",
                  *HOUR_COLUMNS)


def stored_search_data(db) -> dict[int, tuple[int, ...]]:
    columns = [getattr(Therapist, name) for name in SEARCH_COLUMNS]
    with db.reader() as session:
        return {row[0]: tuple(row[1:]) for row in session.execute(
            select(Therapist.id, *columns).order_by(Therapist.id))}


def test_generation_is_deterministic_for_a_seed():
    assert list(generate(50, seed=3)) == list(generate(50, seed=3))
    assert list(generate(50, seed=3)) != list(generate(50, seed=4))


def test_generated_profiles_are_realistic():
    profiles = list(generate(3000, seed=11))
    genders = Counter(p.gender for p in profiles)
    assert set(genders) == set(vocabulary.GENDERS) and genders["female"] > genders["male"]
    issues = Counter(issue for p in profiles for issue in p.issues)
    assert set(issues) <= set(vocabulary.ISSUES)
    assert issues["anxiety"] > issues["infertility"] * 5  # common issues are common
    assert all(p.languages[0] == "English" for p in profiles)
    others = sum(len(p.languages) > 1 for p in profiles) / len(profiles)
    assert 0.1 < others < 0.4
    for p in profiles:
        assert 5000 <= p.fee_minor <= 15000 and p.currency == "GBP"
        assert 1 <= len(p.windows) <= 4
        assert len({w.weekday for w in p.windows}) == len(p.windows)  # never overlapping
        assert all(0 <= w.start_minute < w.end_minute <= 24 * 60 for w in p.windows)
        assert p.offers_in_person or p.offers_video or p.offers_phone
        assert (p.location in vocabulary.LOCATIONS) if p.offers_in_person else p.location is None
        assert set(p.therapy_types) <= set(vocabulary.THERAPY_TYPES) and p.therapy_types
    in_person = Counter(p.location for p in profiles if p.offers_in_person)
    assert in_person.most_common(1)[0][0] == "London"


def test_populate_bulk_inserts_and_stores_the_same_search_data_as_the_truth(db):
    assert populate(db, 120, seed=5, progress=False) == 120
    assert populate(db, 30, seed=6, progress=False) == 30
    with db.reader() as session:
        assert session.scalar(select(func.count(Therapist.id))) == 150
        windows = session.scalar(select(func.count(Availability.id)))
        assert 150 <= windows <= 600
    bulk = stored_search_data(db)
    with db.transaction() as session:
        refresh_search_data(session.connection(), bulk)
    assert stored_search_data(db) == bulk
    assert all(data[0] and data[2] & 1 for data in bulk.values())  # issues, English


def test_search_data_follows_every_profile_write(db):
    with db.transaction() as session:
        tid = add_therapist(session, Profile(
            name="Ada", gender="female", fee_minor=7000, issues=("anxiety",),
            therapy_types=("CBT",), windows=(Window(1, 17 * 60, 19 * 60),)))
    [(issues, types, languages, modalities, *hours)] = stored_search_data(db).values()
    assert (issues, types, languages, modalities) == (1, 1, 1, 2)
    assert hours == [0, (1 << 17) | (1 << 18), 0, 0, 0, 0, 0]
    with db.transaction() as session:
        therapist = session.get(Therapist, tid)
        therapist.issues.append(TherapistIssue(issue="stress"))
        therapist.languages.append(TherapistLanguage(language="Polish"))
        therapist.offers_phone = True
        therapist.availability.append(Availability(weekday=6, start_minute=600, end_minute=660))
    with db.transaction() as session:
        session.add(TherapistTherapyType(therapist_id=tid, therapy_type="EMDR"))
    with db.transaction() as session:
        session.execute(delete(TherapistIssue).where(TherapistIssue.issue == "anxiety"))
        refresh_search_data(session.connection(), [tid])  # Core writes refresh explicitly
    with db.transaction() as session:
        therapist = session.get(Therapist, tid)
        assert therapist.issues_mask == 1 << vocabulary.ISSUES.index("stress")
        assert therapist.therapy_types_mask == 1 | 1 << vocabulary.THERAPY_TYPES.index("EMDR")
        assert therapist.languages_mask == 1 | 1 << vocabulary.LANGUAGES.index("Polish")
        assert therapist.modalities_mask == 2 | 4
        assert therapist.hours_sun == 1 << 10
        therapist.availability.clear()
    assert stored_search_data(db)[tid][4:] == (0,) * 7


def test_unknown_vocabulary_cannot_be_stored(db):
    with pytest.raises(ValueError, match="unknown issue"):
        Profile(name="Bo", gender="male", fee_minor=6000, issues=("astrology",),
                therapy_types=("CBT",))
    with db.transaction() as session:
        tid = add_therapist(session, Profile(name="Bo", gender="male", fee_minor=6000,
                                             issues=("anxiety",), therapy_types=("CBT",)))
    with pytest.raises(ValueError, match="unknown language"), db.transaction() as session:
        session.add(TherapistLanguage(therapist_id=tid, language="Elvish"))
    with db.reader() as session:
        assert session.scalars(select(TherapistLanguage.language)).all() == ["English"]


@pytest.mark.parametrize(("start", "end", "hours"), [
    (9 * 60, 12 * 60, [9, 10, 11]),
    (9 * 60 + 30, 11 * 60 + 30, [10, 11]),
    (0, 24 * 60, list(range(24))),
    (17 * 60, 17 * 60 + 50, [17]),
])
def test_window_hours_are_the_whole_hours_inside_the_window(start, end, hours):
    assert window_hours(start, end) == sum(1 << hour for hour in hours)
