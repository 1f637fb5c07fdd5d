"""Issue 13 through the services, on both databases: search results, a therapist's offered
times and booking all start no sooner than the therapist is expected to have confirmed (the
policy's confirmation business hours; the rule itself, on a set clock: unit tier,
test_booking_lead_time.py). The therapists here are free every hour of the week, so a slot
an hour from now always exists and is always too soon (4 business hours are at least 4
hours)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.domain.errors import InvalidInput
from backend.models import Booking, Voucher
from backend.services import bookings
from backend.services import search as finding
from backend.services.bookings.quote import quote
from tests.backend import booking_factories as bf
from tests.backend import factories


@pytest.fixture
def member_and_therapist(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=5)
    member, _ = factories.member_with_grant(db, admin, offer.id)
    return member, bf.therapist(db)


def test_search_and_offered_times_start_once_the_therapist_has_confirmed(db,
                                                                         member_and_therapist):
    member, therapist_id = member_and_therapist
    earliest = bf.earliest_new_booking()
    assert bf.hours_from_now(1) < earliest
    found = finding.search(db, member, {}).results
    assert [match.therapist.id for match in found] == [therapist_id]
    offered = [datetime.fromisoformat(slot) for slot in found[0].next_slots]
    assert offered[0] >= earliest and offered[0] - earliest < timedelta(hours=1)
    slots = finding.free_slots(db, member, therapist_id, days=3)
    assert slots[0] >= earliest and slots[0] - earliest < timedelta(hours=1)
    assert slots[:3] == offered
    soon = bf.hours_from_now(1)
    assert finding.free_slots(db, member, therapist_id, start=soon, days=3)[0] == slots[0]


def test_booking_sooner_is_refused_and_changes_nothing_quoted_alike(db, member_and_therapist):
    member, therapist_id = member_and_therapist
    too_soon = bf.hours_from_now(1)
    answer = quote(db, member, therapist_id=therapist_id, modality="video",
                   starts_at=too_soon.isoformat())
    assert not answer.bookable and answer.reason == "before_confirmation"
    with pytest.raises(InvalidInput) as refused:
        bookings.book(db, member, therapist_id=therapist_id, starts_at=too_soon.isoformat(),
                      modality="video")
    assert refused.value.code == "before_confirmation"
    assert "confirm a new request within 4 business hours" in refused.value.message
    assert refused.value.message == answer.message
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0
        assert session.scalar(select(func.count()).select_from(Voucher)) == 0
    first = finding.free_slots(db, member, therapist_id, days=3)[0]
    booked = bookings.book(db, member, therapist_id=therapist_id, starts_at=first.isoformat(),
                           modality="video")
    assert booked.starts_at == first
