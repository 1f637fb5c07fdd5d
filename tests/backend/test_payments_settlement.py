"""The settle rule as a pair a booking change can run in its one transaction, on SQLite and
PostgreSQL: `claim_settlement` inside the change's open write transaction, then
`complete_settlement` (the provider call) once it has committed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from backend.adapters.offline_gateway import OfflineGateway
from backend.adapters.payments import ChargeRequest, ChargeResult, GatewayUnavailable
from backend.domain.enums import BookingStatus, ChargeStatus, VoucherStatus
from backend.domain.errors import NotFound
from backend.models import Booking, Charge, Voucher
from backend.services import bookings, notifications
from backend.services.payments import charges
from tests.backend.concurrently import all_at_once
from tests.backend.stripe_standins import (
    PayingOrganisation,
    paying_organisation,
)


@pytest.fixture
def org(db, gateway) -> PayingOrganisation:
    return paying_organisation(db, gateway)


def confirm_and_claim(db, booking_id: int) -> charges.Settlement | None:
    """A confirmation as a booking use case will run it: the change and the claim in one
    transaction. The booking is loaded first, as the use case does, then moved by a guarded
    UPDATE that the session's copy does not see."""
    with db.transaction() as session:
        booking = session.get(Booking, booking_id)  # held, so the session keeps this copy
        assert booking.status is BookingStatus.REQUESTED
        session.execute(update(Booking)
                        .where(Booking.id == booking_id,
                               Booking.status == BookingStatus.REQUESTED)
                        .values(status=BookingStatus.CONFIRMED)
                        .execution_options(synchronize_session=False))
        claim = charges.claim_settlement(session, booking_id)
        assert booking.status is BookingStatus.CONFIRMED  # the claim read the change
        return claim


def payment_of(db, booking_id: int) -> str:
    with db.reader() as session:
        return session.scalar(select(Charge.provider_reference)
                              .where(Charge.booking_id == booking_id))


def charge_count(db) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count(Charge.id)))


def test_the_claim_inserts_the_pending_charge_in_the_changes_transaction(org):
    org.save_offline_card()
    booking_id = org.book()
    claim = confirm_and_claim(org.db, booking_id)
    assert isinstance(claim, charges.ChargeAttempt)
    assert (claim.booking_id, claim.attempt) == (booking_id, 1)
    assert claim.request.idempotency_key == f"booking-{booking_id}-charge-1"
    pending = charges.charge_for_booking(org.db, booking_id)
    assert (pending.status, pending.attempt, pending.amount_minor) == (ChargeStatus.PENDING, 1,
                                                                       8000)
    assert org.gateway.payments == []  # nothing is charged before the change has committed

    charges.complete_settlement(org.db, org.gateway, claim)
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.SUCCEEDED
    [paid] = org.gateway.payments
    assert paid == claim.request
    with org.db.transaction() as session:
        assert charges.claim_settlement(session, booking_id) is None  # settled: nothing to do


def test_a_change_that_rolls_back_leaves_no_charge(org):
    org.save_offline_card()
    booking_id = org.book()

    class Refused(Exception):
        pass

    with pytest.raises(Refused), org.db.transaction() as session:
        session.execute(update(Booking).where(Booking.id == booking_id)
                        .values(status=BookingStatus.CONFIRMED))
        assert charges.claim_settlement(session, booking_id) is not None
        raise Refused
    assert charge_count(org.db) == 0
    assert charges.settle_booking(org.db, org.gateway, booking_id) is None  # still requested


def test_nothing_is_claimed_for_what_the_organisation_does_not_owe(org):
    org.save_offline_card()
    requested = org.book()
    with org.db.transaction() as session:
        assert charges.claim_settlement(session, requested) is None
        with pytest.raises(NotFound):
            charges.claim_settlement(session, requested + 1000)
    bookings.decline(org.db, org.therapist, requested)
    with org.db.transaction() as session:
        assert charges.claim_settlement(session, requested) is None
    charges.complete_settlement(org.db, org.gateway, None)
    assert charge_count(org.db) == 0


def test_without_a_card_the_claim_records_the_failure_and_tells_the_admins(org):
    booking_id = org.book()
    assert confirm_and_claim(org.db, booking_id) is None
    failed = charges.charge_for_booking(org.db, booking_id)
    assert (failed.status, failed.failure_code) == (ChargeStatus.FAILED, "no_card")
    assert [n.kind for n in notifications.take_mine(org.db, org.admin)] == ["charge_failed"]

    org.save_offline_card()  # the card's event retries it, under attempt 2
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.SUCCEEDED
    assert [p.idempotency_key for p in org.gateway.payments] == [
        f"booking-{booking_id}-charge-2"]


def test_a_session_no_longer_owed_claims_its_refund(org):
    org.save_offline_card()
    booking_id = org.confirmed_booking()
    charged = charges.charge_booking(org.db, org.gateway, booking_id)
    with org.db.transaction() as session:  # an in-time cancellation, in the same transaction
        session.execute(update(Booking).where(Booking.id == booking_id)
                        .values(status=BookingStatus.CANCELLED))
        session.execute(update(Voucher).where(Voucher.booking_id == booking_id)
                        .values(status=VoucherStatus.RELEASED))
        claim = charges.claim_settlement(session, booking_id)
    assert claim == charges.RefundDue(
        charged.id, 1, payment_of(org.db, booking_id),
        f"booking-{booking_id}-refund-1",
        {"booking_id": str(booking_id), "organisation_id": str(org.organisation_id),
         "authorisation_id": str(org.offer_id), "charge_attempt": "1"})
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.SUCCEEDED

    charges.complete_settlement(org.db, org.gateway, claim)
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.REFUNDED
    with org.db.transaction() as session:
        assert charges.claim_settlement(session, booking_id) is None  # refunded once


class UnreachableGateway(OfflineGateway):
    def charge(self, request: ChargeRequest) -> ChargeResult:
        raise GatewayUnavailable("connection reset")

    def refund(self, **_) -> None:
        raise GatewayUnavailable("connection reset")


def test_an_unreachable_provider_never_undoes_the_change(db):
    org = paying_organisation(db, UnreachableGateway(public_base_url="http://backend.test"))
    org.save_offline_card()
    booking_id = org.book()
    charges.complete_settlement(db, org.gateway, confirm_and_claim(db, booking_id))
    assert charges.charge_for_booking(db, booking_id).status is ChargeStatus.PENDING  # swept later

    with db.transaction() as session:  # as if the sweep had got the answer since
        session.execute(update(Charge).values(status=ChargeStatus.SUCCEEDED,
                                              provider_reference="pi_1"))
    bookings.cancel(db, org.member, booking_id)
    assert charges.settle_booking(db, org.gateway, booking_id).status is ChargeStatus.SUCCEEDED


def test_eight_claims_of_one_booking_make_one_charge_row_and_one_payment(org):
    org.save_offline_card()
    booking_id = org.confirmed_booking()

    claims = all_at_once([lambda: org.settle_as_a_booking_change(booking_id)] * 8)
    assert len([claim for claim in claims if claim is not None]) == 1
    assert charge_count(org.db) == 1
    assert len(org.gateway.payments) == 1
    assert charges.charge_for_booking(org.db, booking_id).status is ChargeStatus.SUCCEEDED
