"""Booking with no grant of one's own: the backend joins an all-members offer that pays for
the therapist and books in the same transaction, so a refused booking takes no place."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.domain.enums import Modality
from backend.domain.errors import Conflict
from backend.models import AuditEvent, Authorisation, Grant
from backend.services import authorisations, bookings
from backend.services.bookings import checks
from tests.backend import booking_factories as bf
from tests.backend import factories


@pytest.fixture
def org(db):
    """An admin, an all-members offer with 2 places, a member with no grant, a therapist."""
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, access="all_members", user_limit=2,
                                    sessions_per_user=4, name="Everyone")
    member = factories.add_member(db, admin.organisation_id)
    return db, admin, offer, member, bf.therapist(db)


def places(db, offer_id: int) -> tuple[int, int]:
    """(places taken by the count, grant rows) of the offer."""
    with db.reader() as session:
        return (session.get(Authorisation, offer_id).grants_count,
                session.scalar(select(func.count(Grant.id))
                               .where(Grant.authorisation_id == offer_id)))


def book(db, member, therapist_id, hours_ahead=72, **fields):
    return bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(hours_ahead),
                         modality=Modality.VIDEO, **fields)


def test_a_member_without_a_grant_joins_the_offer_and_books_at_once(org):
    db, _, offer, member, therapist_id = org
    booked = book(db, member, therapist_id)
    assert booked.paid_by_organisation and booked.offer_name == "Everyone"
    assert booked.sessions_remaining_on_grant == 3
    assert places(db, offer.id) == (1, 1)
    with db.reader() as session:
        grant = session.scalar(select(Grant).where(Grant.member_id == member.member_id))
        assert grant.id == booked.grant_id and grant.authorisation_id == offer.id
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["grant.created", "booking.requested"]
    # The next booking is paid by the place just taken; no second place is taken.
    assert book(db, member, therapist_id, hours_ahead=96).grant_id == booked.grant_id
    assert places(db, offer.id) == (1, 1)


def test_a_booking_refused_after_the_place_was_taken_leaves_the_places_untouched(
        org, monkeypatch):
    db, admin, offer, member, therapist_id = org
    self_paid = factories.add_member(db, admin.organisation_id)
    book(db, self_paid, therapist_id, self_pay=True)
    # The slot check is fooled (a race), so the place is taken before the unique index
    # refuses the booking: the whole transaction is rolled back.
    monkeypatch.setattr(checks, "is_free_slot", lambda *args, **kwargs: True)
    before = bf.snapshot(db)
    with pytest.raises(Conflict) as refused:
        book(db, member, therapist_id)
    assert refused.value.code == "slot_taken"
    assert places(db, offer.id) == (0, 0)
    assert bf.snapshot(db) == before


def test_a_refused_slot_takes_no_place(org):
    db, _, offer, member, therapist_id = org
    book(db, member, therapist_id)
    colleague = factories.add_member(db, offer_organisation(db, offer.id))
    with pytest.raises(Conflict, match="just been taken"):
        book(db, colleague, therapist_id)
    assert places(db, offer.id) == (1, 1)


def offer_organisation(db, offer_id: int) -> int:
    with db.reader() as session:
        return session.get(Authorisation, offer_id).organisation_id


def test_no_place_is_taken_on_an_offer_that_does_not_cover_the_therapist(db):
    admin = factories.register_organisation(db)
    existing = factories.authorisation(db, admin, access="all_members",
                                       coverage="existing_relationship")
    member = factories.add_member(db, admin.organisation_id)
    seen, other = bf.therapist(db), bf.therapist(db)
    bf.make_seen(db, member, seen)
    with pytest.raises(Conflict) as refused:
        book(db, member, other)
    assert refused.value.code == "no_usable_grant"
    assert places(db, existing.id) == (0, 0)
    assert book(db, member, seen).offer_name == existing.name
    assert places(db, existing.id) == (1, 1)


def test_a_full_paused_or_invite_only_offer_is_not_joined(org):
    db, admin, offer, member, therapist_id = org
    for hours_ahead in (100, 101):
        book(db, factories.add_member(db, admin.organisation_id), therapist_id, hours_ahead)
    assert places(db, offer.id) == (2, 2)
    factories.authorisation(db, admin)  # invite only
    paused = factories.authorisation(db, admin, access="all_members")
    authorisations.change_status(db, admin, paused.id, "pause")
    before = bf.snapshot(db)
    with pytest.raises(Conflict) as refused:
        book(db, member, therapist_id)
    assert refused.value.code == "no_usable_grant"
    assert bf.snapshot(db) == before and places(db, paused.id) == (0, 0)


def test_a_grant_of_ones_own_pays_before_any_offer_is_joined(org):
    db, admin, offer, _, therapist_id = org
    invited = factories.authorisation(db, admin)
    member, grant = factories.member_with_grant(db, admin, invited.id)
    assert book(db, member, therapist_id).grant_id == grant.id
    assert places(db, offer.id) == (0, 0)


def test_self_pay_and_a_named_grant_join_nothing(org):
    db, admin, offer, member, therapist_id = org
    assert not book(db, member, therapist_id, self_pay=True).paid_by_organisation
    invited = factories.authorisation(db, admin, sessions_per_user=1)
    other, grant = factories.member_with_grant(db, admin, invited.id)
    book(db, other, therapist_id, hours_ahead=90, grant_id=grant.id)
    with pytest.raises(Conflict, match="used all 1 sessions"):
        book(db, other, therapist_id, hours_ahead=95, grant_id=grant.id)
    assert places(db, offer.id) == (0, 0)
