"""A booking change and its payment as one use case (one service call, the charge row claimed in
the change's transaction), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from backend.domain.enums import BookingStatus, ChargeStatus
from backend.domain.errors import Conflict
from backend.services import bookings
from backend.services.payments import charges
from tests.backend.booking_factories import slot
from tests.backend.stripe_standins import PayingOrganisation, paying_organisation
from tests.backend.test_payments_settlement import UnreachableGateway, charge_count


@pytest.fixture
def org(db, gateway) -> PayingOrganisation:
    organisation = paying_organisation(db, gateway)
    organisation.save_offline_card()
    return organisation


def test_confirming_charges_the_organisation_in_the_same_call(org):
    booking_id = org.book()
    confirmed = bookings.confirm(org.db, org.therapist, booking_id, gateway=org.gateway)
    assert confirmed.status is BookingStatus.CONFIRMED
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.SUCCEEDED
    assert [p.idempotency_key for p in org.gateway.payments] == [f"booking-{booking_id}-charge-1"]


def test_a_refused_change_claims_no_charge(org):
    booking_id = org.book()
    bookings.decline(org.db, org.therapist, booking_id, gateway=org.gateway)
    with pytest.raises(Conflict):
        bookings.confirm(org.db, org.therapist, booking_id, gateway=org.gateway)
    assert charge_count(org.db) == 0
    assert org.gateway.payments == []


def test_a_late_cancellation_is_charged_and_an_in_time_one_refunded(org):
    late = org.book(hours_ahead=24)
    bookings.confirm(org.db, org.therapist, late, gateway=org.gateway)
    bookings.cancel(org.db, org.member, late, gateway=org.gateway)
    assert charges.charge_for_booking(org.db, late).status is ChargeStatus.SUCCEEDED

    in_time = org.book(hours_ahead=24 * 7)
    bookings.confirm(org.db, org.therapist, in_time, gateway=org.gateway)
    bookings.cancel(org.db, org.member, in_time, gateway=org.gateway)
    assert charges.charge_for_booking(org.db, in_time).status is ChargeStatus.REFUNDED


def test_rescheduling_a_charged_session_refunds_the_old_booking(org):
    old = org.book(hours_ahead=24 * 7)
    bookings.confirm(org.db, org.therapist, old, gateway=org.gateway)
    moved = bookings.reschedule(org.db, org.member, old, starts_at=slot(24 * 8),
                                gateway=org.gateway)
    assert moved.status is BookingStatus.REQUESTED
    assert charges.charge_for_booking(org.db, old).status is ChargeStatus.REFUNDED
    assert charges.charge_for_booking(org.db, moved.id) is None  # charged once confirmed


def test_an_unreachable_provider_leaves_the_confirmation_standing(db):
    org = paying_organisation(db, UnreachableGateway(public_base_url="http://backend.test"))
    org.save_offline_card()
    booking_id = org.book()
    confirmed = bookings.confirm(db, org.therapist, booking_id, gateway=org.gateway)
    assert confirmed.status is BookingStatus.CONFIRMED
    assert charges.charge_for_booking(db, booking_id).status is ChargeStatus.PENDING
