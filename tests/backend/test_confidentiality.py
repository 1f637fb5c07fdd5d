"""Confidentiality counted on people, through the services on SQLite and PostgreSQL: usage and
spend figures are sums of whole ended months with at least REPORTING_MIN_GROUP people each, so
one person's booking, payment or refund never shows, not even as the difference of two reports."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from backend.models import AuditEvent, Charge, Voucher
from backend.models.base import utcnow
from backend.services import authorisations, bookings, reports
from backend.services.payments import charges
from tests.backend.stripe_standins import PayingOrganisation, paying_organisation

FEE = 8000  # the stand-in therapist's fee, GBP minor units


@pytest.fixture
def org(db, gateway) -> PayingOrganisation:
    org = paying_organisation(db, gateway)
    org.save_offline_card()
    return org


def next_month() -> datetime:
    """A moment in the month after this one, when this month has ended."""
    return (utcnow().replace(day=1) + timedelta(days=32)).replace(day=2)


def into_last_month(db) -> None:
    """Date everything booked and paid so far in the middle of last month, as if it happened
    then (the report reads when things happened, not when the test ran)."""
    then = utcnow().replace(day=1) - timedelta(days=15)
    with db.transaction() as session:
        session.execute(update(Voucher).values(created_at=then))
        session.execute(update(Charge).values(created_at=then))
        session.execute(update(AuditEvent).values(at=then))


def paid_sessions(org: PayingOrganisation, people: int, start: int = 0) -> list[int]:
    """One confirmed, charged session for the organisation's member and `people - 1` others."""
    members = [org.member] + [org.another_member() for _ in range(people - 1)]
    booked = []
    for n, member in enumerate(members):
        booking_id = org.confirmed_booking(24 * 8 + start + n, member=member)
        charges.charge_booking(org.db, org.gateway, booking_id)
        booked.append(booking_id)
    return booked


def seen(org: PayingOrganisation, now: datetime | None = None):
    """Everything an admin can read about usage and spend."""
    return (authorisations.get(org.db, org.admin, org.offer_id, now=now).usage,
            reports.spend(org.db, org.admin, now=now))


def test_five_places_and_one_person_booking_shows_nothing_about_that_person(org):
    for _ in range(4):
        org.another_member()  # five places taken
    for hours in (24 * 8, 24 * 9, 24 * 10):
        charges.charge_booking(org.db, org.gateway, org.confirmed_booking(hours))
    for now in (None, next_month()):
        usage, report = seen(org, now)
        assert usage.places_taken == 5
        assert (usage.sessions_booked, usage.sessions_used, usage.spend_minor) == (
            None, None, None)
        assert "at least 5 people" in usage.withheld_reason
        [offer] = report.by_authorisation
        assert offer.figures is None and "month that has ended" in offer.withheld_reason
        assert report.by_month == []  # not even which month someone booked in


def test_an_ended_month_with_enough_people_is_shown_in_whole(org):
    paid_sessions(org, 5)
    assert seen(org)[0].sessions_booked is None  # this month has not ended
    usage, report = seen(org, next_month())
    assert (usage.sessions_booked, usage.spend_minor, usage.withheld_reason) == (5, 5 * FEE, None)
    [figures] = report.by_authorisation[0].figures
    assert (figures.currency, figures.sessions_charged, figures.spend_minor) == (
        "GBP", 5, 5 * FEE)
    assert (figures.sessions_refunded, figures.sessions_unpaid) == (0, 0)
    [month] = report.by_month
    assert month.month == f"{utcnow():%Y-%m}" and month.figures == [figures]


def test_two_reports_a_booking_apart_do_not_reveal_the_booking(org):
    paid_sessions(org, 5)
    into_last_month(org.db)
    newcomer = org.another_member()  # a place is not a booking: places taken are shown
    before = seen(org)
    assert before[0].sessions_booked == 5  # last month is shown

    booking_id = org.confirmed_booking(24 * 20, member=newcomer)
    charges.charge_booking(org.db, org.gateway, booking_id)
    assert charges.charge_for_booking(org.db, booking_id).status.value == "succeeded"
    assert seen(org) == before
    # Nor once this month ends: it holds one person's booking and payment.
    assert seen(org, next_month()) == before


def test_a_refund_never_rewrites_the_month_of_the_payment(org):
    first, *_ = paid_sessions(org, 5)
    into_last_month(org.db)
    before = seen(org)
    bookings.cancel(org.db, org.member, first)  # in time: the session is refunded now
    charges.settle_booking(org.db, org.gateway, first)
    assert charges.charge_for_booking(org.db, first).status.value == "refunded"
    assert seen(org) == before
    assert seen(org, next_month()) == before  # one person's refund: withheld for good


def test_people_from_another_organisation_do_not_fill_a_group(db, gateway):
    ours, theirs = paying_organisation(db, gateway), paying_organisation(db, gateway)
    for org in (ours, theirs):
        org.save_offline_card()
    paid_sessions(theirs, 5)
    charges.charge_booking(db, gateway, ours.confirmed_booking(24 * 6))
    usage, report = seen(ours, next_month())
    assert usage.sessions_booked is None and report.by_month == []
    assert seen(theirs, next_month())[0].sessions_booked == 5


def test_a_waived_late_cancellation_never_rewrites_the_month_it_was_used_in(org):
    members = [org.member] + [org.another_member() for _ in range(4)]
    late = []
    for n, member in enumerate(members):
        booking_id = org.book(20 + n, member=member)  # inside the cancellation window
        assert bookings.cancel(org.db, member, booking_id).voucher_status.value == "used"
        late.append(booking_id)
    into_last_month(org.db)
    before = seen(org)
    assert (before[0].sessions_booked, before[0].sessions_used) == (5, 5)
    waived = bookings.waive_late_cancellation(org.db, org.therapist, late[0])
    assert waived.voucher_status.value == "released"
    assert seen(org) == before
    assert seen(org, next_month()) == before
