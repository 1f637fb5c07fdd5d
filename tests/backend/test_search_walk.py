"""The search's walk over `therapist_search_hours` ranks exactly as one ranking statement over
`therapists` does, on random directories, filters and clocks, on both databases; and the
denormalised hour rows follow every profile change."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from backend.db import Database
from backend.demo_directory import add_therapist, generate, populate
from backend.domain.coverage import Covered
from backend.domain.directory import ISSUES, LANGUAGES, LOCATIONS, THERAPY_TYPES
from backend.models import Availability, Therapist, TherapistSearchHour
from backend.models.therapist import HOUR_COLUMNS, SEARCH_HOUR_COPIES, search_hour_rows
from backend.services.policy import DEFAULT_POLICY
from backend.services.search import ranking
from backend.services.search.filters import parse_filters

ALL_HOURS_WALKED = 7 * 24 + 1


def _filters(rng: random.Random) -> dict:
    filters: dict = {"limit": rng.choice((1, 5, 20))}
    if rng.random() < 0.5:
        filters["issues"] = rng.sample(ISSUES[:8], k=rng.choice((1, 1, 2, 3)))
    if rng.random() < 0.3:
        filters["gender"] = rng.choice(("female", "male"))
    if rng.random() < 0.3:
        filters["language"] = rng.choice(LANGUAGES[:4])
    if rng.random() < 0.2:
        filters["therapy_type"] = rng.choice(THERAPY_TYPES[:4])
    if rng.random() < 0.3:
        filters["modality"] = rng.choice(("video", "phone", "in_person"))
        if filters["modality"] == "in_person" and rng.random() < 0.5:
            filters["location"] = rng.choice(LOCATIONS[:3])
    if rng.random() < 0.4:
        filters["days"] = rng.sample(("mon", "tue", "wed", "sat", "sun"), k=rng.choice((1, 2)))
    if rng.random() < 0.4:
        filters["times"] = [rng.choice(("morning", "afternoon", "evening"))]
    return filters


def _order(db: Database, filters: dict, paid: list[Covered] | None, local_now: datetime,
           walk_hours: int, horizon_days: int) -> list[tuple[int, int, int]]:
    query = parse_filters(filters, session_minutes=DEFAULT_POLICY.session_minutes)
    with db.reader() as session:
        return [(c.id, c.matches, c.bound)
                for page in ranking._pages(session, query, paid, local_now, horizon_days,
                                           walk_hours=walk_hours)
                for c in page]


def test_the_walk_ranks_as_the_single_statement_on_random_directories(db):
    rng = random.Random(20261204)
    with db.transaction() as session:  # some without any whole hour free, through the ORM
        for profile in generate(5, seed=3):
            tid = add_therapist(session, profile)
            session.execute(delete(Availability).where(Availability.therapist_id == tid))
    populate(db, 300, seed=rng.randrange(1000), progress=False)  # bulk, after (ids)
    monday = datetime(2026, 12, 7, tzinfo=DEFAULT_POLICY.zone)
    lists = []
    for _ in range(60):
        filters = _filters(rng)
        local_now = monday + timedelta(minutes=rng.randrange(7 * 24 * 60))
        paid = rng.choice((None, [Covered(frozenset(rng.sample(range(1, 306), 150)))],
                           [Covered(None, frozenset(rng.sample(range(1, 306), 50)))]))
        horizon = rng.choice((DEFAULT_POLICY.booking_horizon_days, 3))
        reference = _order(db, filters, paid, local_now, 0, horizon)
        lists.append(reference)
        for walk_hours in (1, ranking.WALK_HOURS, ALL_HOURS_WALKED):
            assert _order(db, filters, paid, local_now, walk_hours, horizon) == reference, (
                filters, local_now, walk_hours)
    assert sum(len(found) > 20 for found in lists) > 30  # most rank many therapists


def _stored(db: Database) -> set[tuple]:
    with db.reader() as session:
        copied = [getattr(TherapistSearchHour, name) for name in SEARCH_HOUR_COPIES]
        return set(session.execute(select(TherapistSearchHour.slot,
                                          TherapistSearchHour.therapist_id, *copied)).all())


def _expected(db: Database) -> set[tuple]:
    names = [*SEARCH_HOUR_COPIES, *HOUR_COLUMNS]
    with db.reader() as session:
        rows = session.execute(select(Therapist.id, *(getattr(Therapist, n) for n in names)))
        return {(row["slot"], row["therapist_id"], *(row[n] for n in SEARCH_HOUR_COPIES))
                for tid, *values in rows
                for row in search_hour_rows(tid, dict(zip(names, values, strict=True)))}


def test_the_hour_rows_follow_bulk_inserts_and_profile_changes(db):
    with db.transaction() as session:
        gone = add_therapist(session, next(iter(generate(1, seed=9))))
    populate(db, 40, seed=5, progress=False)
    assert _stored(db) == _expected(db) and _stored(db)
    with db.transaction() as session:
        first, second = session.scalars(select(Therapist).where(Therapist.id != gone)
                                        .order_by(Therapist.id).limit(2))
        first.gender = "non-binary"
        first.location, first.offers_in_person = "Leeds", True
        second.availability = [Availability(weekday=6, start_minute=6 * 60,
                                            end_minute=9 * 60)]
    assert _stored(db) == _expected(db)
    with db.transaction() as session:
        session.delete(session.get(Therapist, gone))
        session.execute(update(Therapist).where(Therapist.id == first.id + 2).values(bio="changed"))
    stored = _stored(db)
    assert stored == _expected(db)
    assert not any(tid == gone for _, tid, *_ in stored)
    assert {gender for _, tid, gender, *_ in stored if tid == first.id} == {"non-binary"}
    assert {slot for slot, tid, *_ in stored if tid == second.id} == {
        6 * 24 + 6, 6 * 24 + 7, 6 * 24 + 8}
