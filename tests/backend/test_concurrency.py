"""Quotas and slots under real concurrency: threads released together by a barrier, against
SQLite and PostgreSQL. Outcomes are counted from the database rows, not from return values."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import func, select

from backend.domain.enums import BookingStatus, Modality, Role, VoucherStatus
from backend.domain.errors import Conflict
from backend.models import Authorisation, Booking, Grant, Invite, Member, Voucher
from backend.services import bookings, grants, invites, organisations
from tests.backend import booking_factories as bf
from tests.backend import factories
from tests.backend.concurrently import all_at_once

WORKERS = 30


def run_together(calls: list[Callable[[], Any]]) -> tuple[list[Any], list[Conflict]]:
    """Run every call in its own thread, all starting at once. Returns the successes and the
    Conflicts; any other exception (a deadlock, a lock timeout...) fails the test."""

    def refusal_or_result(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Conflict as refusal:
            return refusal

    outcomes = all_at_once([partial(refusal_or_result, call) for call in calls])
    refusals = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    return [outcome for outcome in outcomes if not isinstance(outcome, Conflict)], refusals


def count(db, query) -> int:
    with db.reader() as session:
        return session.scalar(query)


def test_concurrent_redemptions_never_exceed_the_user_limit(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, user_limit=5)
    codes = [invites.create(db, admin, offer.id).code for _ in range(WORKERS)]
    people = [factories.stranger(db) for _ in range(WORKERS)]

    successes, refusals = run_together([
        partial(invites.redeem, db, person, code)
        for person, code in zip(people, codes, strict=True)
    ])

    assert len(successes) == 5 and len(refusals) == WORKERS - 5
    assert {refusal.code for refusal in refusals} == {"no_places_left"}
    assert count(db, select(func.count(Grant.id)).where(Grant.authorisation_id == offer.id)) == 5
    assert count(db, select(Authorisation.grants_count).where(Authorisation.id == offer.id)) == 5
    assert count(db, select(func.count(Invite.id)).where(Invite.redeemed_at.is_not(None))) == 5


def test_concurrent_bookings_never_exceed_the_sessions_per_user(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=3)
    member, grant = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db)
    slots = [bf.slot(50 + hour) for hour in range(WORKERS)]

    # Half name the grant, half let the service pick it: both paths race for the same quota.
    successes, refusals = run_together([
        partial(bookings.book, db, member, therapist_id=therapist_id, starts_at=starts_at,
                modality=Modality.VIDEO, grant_id=grant.id if index % 2 else None)
        for index, starts_at in enumerate(slots)
    ])

    assert len(successes) == 3 and len(refusals) == WORKERS - 3
    assert {refusal.code for refusal in refusals} <= {"no_sessions_left", "no_usable_grant"}
    assert count(db, select(func.count(Booking.id))) == 3
    assert count(db, select(func.count(Voucher.id)).where(
        Voucher.grant_id == grant.id, Voucher.status == VoucherStatus.HELD)) == 3
    assert count(db, select(Grant.sessions_committed).where(Grant.id == grant.id)) == 3


def test_concurrent_bookings_of_one_slot_make_exactly_one_booking(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, user_limit=None, access="all_members")
    members = [factories.add_member(db, admin.organisation_id) for _ in range(WORKERS)]
    for member in members:
        grants.join(db, member, offer.id)
    therapist_id = bf.therapist(db)
    starts_at = bf.slot(60)

    successes, refusals = run_together([
        partial(bookings.book, db, member, therapist_id=therapist_id, starts_at=starts_at,
                modality=Modality.VIDEO)
        for member in members
    ])

    assert len(successes) == 1 and len(refusals) == WORKERS - 1
    assert {refusal.code for refusal in refusals} == {"slot_taken"}
    assert count(db, select(func.count(Booking.id))) == 1
    assert count(db, select(func.count(Voucher.id))) == 1
    assert count(db, select(func.sum(Grant.sessions_committed))) == 1


def test_concurrent_cancel_and_reschedule_of_one_booking_stay_consistent(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=7)
    member, grant = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db)
    workers = 20
    for round_number in range(3):
        booked = bookings.book(db, member, therapist_id=therapist_id,
                               starts_at=bf.slot(60 + 50 * round_number), modality=Modality.VIDEO)
        targets = [bf.slot(61 + 50 * round_number + index) for index in range(workers)]

        successes, refusals = run_together([
            partial(bookings.cancel, db, member, booked.id) if index % 2 else
            partial(bookings.reschedule, db, member, booked.id, starts_at=starts_at)
            for index, starts_at in enumerate(targets)
        ])

        assert len(successes) == 1 and len(refusals) == workers - 1
        _assert_consistent(db, member.member_id, grant.id)
        with db.reader() as session:
            old = session.get(Booking, booked.id)
            replacements = session.scalars(
                select(Booking).where(Booking.rescheduled_from_id == booked.id)).all()
            vouchers = session.scalars(select(Voucher).where(
                Voucher.booking_id.in_([booked.id, *(b.id for b in replacements)]))).all()
        assert old.status is BookingStatus.CANCELLED
        assert len(vouchers) == 1
        if successes[0].rescheduled_from_id == booked.id:  # the reschedule won
            assert [b.id for b in replacements] == [successes[0].id]
            assert replacements[0].status is BookingStatus.REQUESTED
            assert (vouchers[0].booking_id, vouchers[0].status) == (
                replacements[0].id, VoucherStatus.HELD)
        else:  # the cancel won
            assert replacements == []
            assert vouchers[0].status is VoucherStatus.RELEASED
        # Start each round clean: cancel whatever the winner left open.
        for open_booking in bookings.list_mine(db, member):
            bookings.cancel(db, member, open_booking.id)
        _assert_consistent(db, member.member_id, grant.id)


def _assert_consistent(db, member_id: int, grant_id: int) -> None:
    """The grant's counter equals the sessions its vouchers hold or used; no slot is doubled."""
    with db.reader() as session:
        committed = session.scalar(select(Grant.sessions_committed).where(Grant.id == grant_id))
        holding = session.scalar(select(func.count(Voucher.id)).where(
            Voucher.grant_id == grant_id,
            Voucher.status.in_([VoucherStatus.HELD, VoucherStatus.USED])))
        open_bookings = session.scalar(select(func.count(Booking.id)).where(
            Booking.member_id == member_id, Booking.status.in_(
                [BookingStatus.REQUESTED, BookingStatus.CONFIRMED])))
    assert committed == holding
    assert open_bookings <= 1


def test_admins_removing_each_other_at_once_leave_the_organisation_an_admin(db):
    first = factories.register_organisation(db)
    others = [factories.add_member(db, first.organisation_id, role=Role.ADMIN)
              for _ in range(5)]
    everyone = [first, *others]
    # Each admin removes the next one, all at the same moment: five go, the last one stays.
    successes, refusals = run_together([
        partial(organisations.remove_admin, db, remover, removed.member_id)
        for remover, removed in zip(everyone, everyone[1:] + everyone[:1], strict=True)
    ])
    left = count(db, select(func.count(Member.id)).where(
        Member.organisation_id == first.organisation_id, Member.role == Role.ADMIN))
    assert left == 1 and len(successes) == 5
    assert [refusal.code for refusal in refusals] == ["last_admin"]
