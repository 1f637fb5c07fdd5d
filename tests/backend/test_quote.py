"""The quote says what booking would do, on both databases: who pays and what is left, or
why nothing pays and what the member can do instead; and booking then does exactly that.
Quoting writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.domain.enums import Modality
from backend.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from backend.models.base import Base
from backend.services import authorisations, bookings
from backend.services.bookings.quote import quote
from tests.backend import booking_factories as bf
from tests.backend import factories


def every_row(db) -> dict[str, list[tuple]]:
    """Every row of every table: what "writes nothing" is checked against."""
    with db.reader() as session:
        return {table.name: sorted(tuple(row) for row in session.execute(select(table)))
                for table in Base.metadata.sorted_tables}


def ask(db, member, therapist_id, hours_ahead=72, modality="video", **fields):
    """The quote, checked to leave every table as it was."""
    before = every_row(db)
    answer = quote(db, member, therapist_id=therapist_id, modality=modality,
                   starts_at=fields.pop("starts_at", bf.slot(hours_ahead)).isoformat())
    assert every_row(db) == before
    return answer


def book_as_quoted(db, member, answer):
    return bookings.book(db, member, therapist_id=answer.therapist_id,
                         starts_at=answer.starts_at, modality=answer.modality)


def assert_booking_refuses_as_quoted(db, member, answer, code=None):
    """Booking refuses with the quote's wording and leaves every table as it was; nothing the
    quote says promises that the organisation pays."""
    assert not any("organisation pays" in said for said in
                   [answer.message, *(a.message for a in answer.alternatives)])
    before = every_row(db)
    with pytest.raises(DomainError) as refused:
        book_as_quoted(db, member, answer)
    assert refused.value.message == answer.message
    assert refused.value.code == (code or answer.reason)
    assert every_row(db) == before


def kinds(answer) -> list[str]:
    return [alternative.kind for alternative in answer.alternatives]


@pytest.fixture
def org(db):
    admin = factories.register_organisation(db)
    return db, admin, bf.therapist(db)


def test_a_grant_of_ones_own_pays_and_booking_uses_that_grant(org):
    db, admin, therapist_id = org
    offer = factories.authorisation(db, admin, sessions_per_user=7, name="Wellbeing support")
    member, grant = factories.member_with_grant(db, admin, offer.id)
    answer = ask(db, member, therapist_id)
    assert answer.bookable and answer.paid_by_organisation and answer.reason is None
    assert answer.grant_id == grant.id and answer.offer_name == "Wellbeing support"
    assert answer.sessions_remaining_after == 6 and not answer.joins_offer
    assert "Your organisation pays" in answer.message and "leaving 6" in answer.message
    assert answer.alternatives == [] and answer.fee_minor == 8000 and answer.currency == "GBP"
    booked = book_as_quoted(db, member, answer)
    assert booked.grant_id == answer.grant_id
    assert booked.sessions_remaining_on_grant == answer.sessions_remaining_after


def test_an_all_members_offer_pays_and_booking_joins_it(org):
    db, admin, therapist_id = org
    offer = factories.authorisation(db, admin, access="all_members", sessions_per_user=4,
                                    name="Everyone")
    member = factories.add_member(db, admin.organisation_id)
    answer = ask(db, member, therapist_id)  # no place is taken by quoting
    assert answer.paid_by_organisation and answer.joins_offer and answer.grant_id is None
    assert answer.authorisation_id == offer.id and answer.sessions_remaining_after == 3
    assert "adds you to this offer" in answer.message
    booked = book_as_quoted(db, member, answer)
    assert booked.offer_name == "Everyone" and booked.sessions_remaining_on_grant == 3


@pytest.mark.parametrize("verb,status", [("pause", "paused"), ("revoke", "revoked")])
def test_a_paused_or_revoked_offer_is_quoted_as_not_paying(org, verb, status):
    db, admin, therapist_id = org
    offer = factories.authorisation(db, admin, name="Wellbeing support")
    member, _ = factories.member_with_grant(db, admin, offer.id)
    authorisations.change_status(db, admin, offer.id, verb)
    answer = ask(db, member, therapist_id)
    assert not answer.paid_by_organisation and answer.bookable
    assert answer.reason == "authorisation_inactive"
    assert status in answer.message and "Your organisation pays" not in answer.message
    assert [(r.offer_name, r.reason) for r in answer.refused] == [
        ("Wellbeing support", "authorisation_inactive")]
    assert kinds(answer) == ["self_pay", "ask_admin"]
    assert "£80.00" in answer.alternatives[0].message
    assert answer.alternatives[0].fee_minor == 8000
    assert_booking_refuses_as_quoted(db, member, answer, code="no_usable_grant")


def test_an_offer_for_existing_relationships_points_to_the_therapist_already_seen(org):
    """Dan's case: his only offer pays for the therapist he has seen, not another one."""
    db, admin, seen = org
    factories.authorisation(db, admin, access="all_members", coverage="existing_relationship",
                            name="Continue with your therapist")
    dan = factories.add_member(db, admin.organisation_id)
    bf.make_seen(db, dan, seen)
    other = bf.therapist(db)
    answer = ask(db, dan, other)
    assert not answer.paid_by_organisation and answer.reason == "coverage"
    assert "already seen" in answer.message
    assert kinds(answer) == ["other_therapist", "self_pay"]
    assert answer.alternatives[0].therapist_ids == [seen]
    assert_booking_refuses_as_quoted(db, dan, answer, code="no_usable_grant")
    assert ask(db, dan, seen, hours_ahead=80).paid_by_organisation


def test_a_new_relationship_offer_says_a_therapist_not_seen_is_paid(org):
    db, admin, seen = org
    factories.authorisation(db, admin, access="all_members", coverage="new_relationship")
    member = factories.add_member(db, admin.organisation_id)
    bf.make_seen(db, member, seen)
    answer = ask(db, member, seen)
    assert answer.reason == "coverage" and "not seen before" in answer.message
    assert kinds(answer) == ["other_therapist", "self_pay"]
    assert answer.alternatives[0].therapist_ids == []
    assert_booking_refuses_as_quoted(db, member, answer, code="no_usable_grant")


def test_a_used_up_grant_is_quoted_as_out_of_sessions(org):
    db, admin, therapist_id = org
    offer = factories.authorisation(db, admin, sessions_per_user=1, name="One session")
    member, _ = factories.member_with_grant(db, admin, offer.id)
    bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(50),
                  modality=Modality.VIDEO)
    answer = ask(db, member, therapist_id)
    assert answer.reason == "no_sessions_left" and "used all 1 sessions" in answer.message
    assert kinds(answer) == ["self_pay", "ask_admin"]
    assert_booking_refuses_as_quoted(db, member, answer, code="no_usable_grant")


def test_a_full_all_members_offer_is_quoted_as_having_no_places(org):
    db, admin, therapist_id = org
    factories.authorisation(db, admin, access="all_members", user_limit=1)
    bookings.book(db, factories.add_member(db, admin.organisation_id),
                  therapist_id=therapist_id, starts_at=bf.slot(50), modality=Modality.VIDEO)
    member = factories.add_member(db, admin.organisation_id)
    answer = ask(db, member, therapist_id)
    assert answer.reason == "no_places_left" and "places" in answer.message
    assert kinds(answer) == ["self_pay", "ask_admin"]
    assert_booking_refuses_as_quoted(db, member, answer, code="no_usable_grant")


def test_with_nothing_from_the_organisation_the_quote_says_so(org):
    db, admin, therapist_id = org
    member = factories.add_member(db, admin.organisation_id)
    answer = ask(db, member, therapist_id)
    assert answer.reason == "no_usable_grant" and answer.refused == []
    assert "don't have sessions paid by your organisation" in answer.message
    assert kinds(answer) == ["self_pay", "ask_admin"]
    assert_booking_refuses_as_quoted(db, member, answer)


def test_mixed_refusals_are_each_listed(org):
    db, admin, therapist_id = org
    paused = factories.authorisation(db, admin, name="Paused one")
    member, _ = factories.member_with_grant(db, admin, paused.id)
    authorisations.change_status(db, admin, paused.id, "pause")
    factories.authorisation(db, admin, access="all_members", coverage="existing_relationship",
                            name="Continue")
    answer = ask(db, member, therapist_id)
    assert answer.reason == "no_usable_grant"
    assert {(r.offer_name, r.reason) for r in answer.refused} == {
        ("Paused one", "authorisation_inactive"), ("Continue", "coverage")}
    assert_booking_refuses_as_quoted(db, member, answer)


@pytest.fixture
def paying(org):
    db, admin, therapist_id = org
    offer = factories.authorisation(db, admin)
    member, _ = factories.member_with_grant(db, admin, offer.id)
    return db, admin, member, therapist_id


def test_a_slot_just_taken_is_quoted_as_gone(paying):
    db, admin, member, therapist_id = paying
    bookings.book(db, factories.add_member(db, admin.organisation_id), therapist_id=therapist_id,
                  starts_at=bf.slot(72), modality=Modality.VIDEO, self_pay=True)
    answer = ask(db, member, therapist_id)
    assert answer.reason == "slot_taken" and not answer.bookable
    assert not answer.paid_by_organisation and kinds(answer) == ["other_time"]
    assert_booking_refuses_as_quoted(db, member, answer)


@pytest.mark.parametrize("reason,when,modality", [
    ("in_the_past", lambda: bf.hours_from_now(-2), "video"),
    ("beyond_horizon", lambda: bf.slot(24 * 400), "video"),
    ("modality_not_offered", lambda: bf.slot(72), "in_person"),
])
def test_times_and_ways_booking_refuses_are_quoted_as_such(paying, reason, when, modality):
    db, _, member, therapist_id = paying
    answer = ask(db, member, therapist_id, starts_at=when(), modality=modality)
    assert answer.reason == reason and not answer.bookable and answer.message
    assert_booking_refuses_as_quoted(db, member, answer)


def test_a_time_that_is_no_slot_is_quoted_as_such(paying):
    db, _, member, _ = paying
    mornings = bf.therapist(db, windows=[(day, 9 * 60, 12 * 60) for day in range(7)])
    evening = bf.slot(72).replace(hour=20)
    answer = ask(db, member, mornings, starts_at=evening + timedelta(days=1))
    assert answer.reason == "not_a_slot" and "no session starting" in answer.message
    assert_booking_refuses_as_quoted(db, member, answer)


def test_bad_requests_are_refused_clearly(paying):
    db, _, member, therapist_id = paying
    stranger = factories.stranger(db)
    before = every_row(db)
    with pytest.raises(InvalidInput, match="offset"):
        quote(db, member, therapist_id=therapist_id, starts_at="tomorrow", modality="video")
    with pytest.raises(InvalidInput):
        quote(db, member, therapist_id=therapist_id, starts_at=bf.slot(72), modality="by owl")
    with pytest.raises(NotFound):
        quote(db, member, therapist_id=999_999, starts_at=bf.slot(72), modality="video")
    with pytest.raises(PermissionDenied):
        quote(db, stranger, therapist_id=therapist_id, starts_at=bf.slot(72), modality="video")
    assert every_row(db) == before
