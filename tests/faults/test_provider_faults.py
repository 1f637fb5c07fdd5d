"""The provider fails (5xx, a timeout, an answer lost after it acted) on charges and on refunds;
the reconciliation sweep converges: every booking charged exactly what it owes, once. The real
`stripe` library against the stand-in, on SQLite and PostgreSQL, with a clock the test moves."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from backend.domain.enums import ChargeStatus
from backend.models import AuditEvent, Charge, Notification
from backend.models.base import utcnow
from backend.services import bookings
from backend.services.payments import charges
from backend.services.payments.reconciliation import RetryPolicy, SweepReport, reconcile
from tests.backend.booking_factories import slot
from tests.backend.concurrently import all_at_once
from tests.backend.stripe_fixtures import STRIPE_TIMEOUT_SECONDS, save_card
from tests.backend.stripe_standins import Fault, PayingOrganisation
from tests.faults.money import assert_converged, payments_and_refunds

POLICY = RetryPolicy(grace=timedelta(minutes=10), first_delay=timedelta(minutes=1),
                     longest_delay=timedelta(minutes=30), alert_after=3)
# The stripe library tries a call three times (two retries): a fault must last that long.
EVERY_TRY = 3


class Clock:
    """The sweep's "now", moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def later(self, **delta: float) -> Clock:
        self.now += timedelta(**delta)
        return self


def sweep(org: PayingOrganisation, clock: Clock) -> SweepReport:
    return reconcile(org.db, org.gateway, policy=POLICY, now=clock)


@pytest.fixture
def org(stripe_org, front) -> PayingOrganisation:
    save_card(stripe_org, front)
    return stripe_org


def confirm(org: PayingOrganisation, booking_id: int) -> None:
    """The therapist confirms through the route's service: the charge is claimed and sent."""
    bookings.confirm(org.db, org.therapist, booking_id, gateway=org.gateway)


def charge_of(org: PayingOrganisation, booking_id: int) -> Charge:
    with org.db.reader() as session:
        charge = session.scalar(select(Charge).where(Charge.booking_id == booking_id))
        session.expunge_all()
        return charge


HELD = STRIPE_TIMEOUT_SECONDS + 1


@pytest.mark.parametrize(("kind", "status", "seconds"), [
    ("error", 500, 0), ("error", 503, 0), ("lost", 500, 0), ("hold", 500, HELD),
], ids=["500", "503", "answer-lost", "timeout"])
def test_a_charge_the_provider_failed_is_taken_once_by_the_sweep(org, front, client, kind,
                                                                 status, seconds):
    fault = front.inject(Fault("/v1/payment_intents", kind, EVERY_TRY, status, seconds))
    booking_id = org.book()
    confirm(org, booking_id)  # the confirmation stands whatever the provider did
    assert bookings.get(org.db, org.member, booking_id).status.value == "confirmed"
    charge = charge_of(org, booking_id)
    assert charge.status is ChargeStatus.PENDING and charge.next_try_at is not None

    report = sweep(org, Clock())
    assert report.resumed == [charge.id]
    # The provider acted on a lost or held request: its search finds the payment, not a guess.
    assert report.found == ([charge.id] if fault.kind in ("lost", "hold") else [])
    assert_converged(client, org, booking_id)
    assert sweep(org, Clock().later(hours=1)) == SweepReport()  # nothing left to do
    with org.db.reader() as session:
        actions = session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.subject_id == charge.id,
                                         AuditEvent.subject_type == "charge")).all()
    assert "charge.swept" in actions and "charge.succeeded" in actions


@pytest.mark.parametrize(("kind", "status", "seconds"), [
    ("error", 502, 0), ("lost", 500, 0), ("hold", 500, HELD),
], ids=["502", "answer-lost", "timeout"])
def test_a_refund_the_provider_failed_is_given_once_by_the_sweep(org, front, client, kind,
                                                                 status, seconds):
    booking_id = org.book()
    confirm(org, booking_id)
    front.inject(Fault("/v1/refunds", kind, EVERY_TRY, status, seconds))
    bookings.cancel(org.db, org.member, booking_id, gateway=org.gateway)  # in time: not owed
    assert charge_of(org, booking_id).status is ChargeStatus.SUCCEEDED  # the refund failed

    report = sweep(org, Clock())
    assert report.refunded == [charge_of(org, booking_id).id]
    assert_converged(client, org, booking_id)
    assert payments_and_refunds(client, org, booking_id) == (1, 1)


def test_a_refund_that_keeps_failing_backs_off_tells_the_admins_once_then_goes_through(
        org, front, client):
    booking_id = org.book()
    confirm(org, booking_id)
    outage = front.inject(Fault("/v1/refunds", "error", 1000, status=500))
    bookings.cancel(org.db, org.member, booking_id, gateway=org.gateway)
    clock = Clock()
    waits = []
    for _ in range(POLICY.alert_after + 1):
        assert sweep(org, clock).failing == [charge_of(org, booking_id).id]
        charge = charge_of(org, booking_id)
        waits.append(charge.next_try_at - clock.now)
        assert sweep(org, clock) == SweepReport()  # not before its next try
        clock.later(seconds=waits[-1].total_seconds())
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4),
                     timedelta(minutes=8)]
    with org.db.reader() as session:
        told = session.scalars(select(Notification.text)
                               .where(Notification.kind == "refund_failing")).all()
    assert len(told) == 1 and "3 tries" in told[0]  # one admin, once

    outage.times = 0  # the provider is back
    assert sweep(org, clock).refunded == [charge.id]
    assert_converged(client, org, booking_id)


def test_a_reschedule_while_refunds_fail_ends_with_one_payment_kept(org, front, client):
    old_id = org.book()
    confirm(org, old_id)
    front.inject(Fault("/v1/refunds", "error", EVERY_TRY))
    new_id = bookings.reschedule(org.db, org.member, old_id, starts_at=slot(24 * 9),
                                 gateway=org.gateway).id
    confirm(org, new_id)
    assert payments_and_refunds(client, org, old_id) == (1, 0)  # charged twice for now

    sweep(org, Clock())
    assert_converged(client, org, old_id, new_id)
    assert payments_and_refunds(client, org, old_id) == (1, 1)


def test_a_confirmed_booking_whose_charge_was_never_claimed_is_charged_by_the_sweep(
        org, client):
    booking_id = org.book()
    # As after a crash between the confirmation's commit and its charge: no charge row.
    bookings.confirm(org.db, org.therapist, booking_id)
    assert charges.charge_for_booking(org.db, booking_id) is None
    assert sweep(org, Clock()).charged == []  # within the grace period the request settles it
    assert sweep(org, Clock().later(minutes=11)).charged == [booking_id]
    assert_converged(client, org, booking_id)


def test_sweeps_racing_each_other_take_and_refund_once(org, front, client):
    owed_id, cancelled_id = org.book(), org.book(hours_ahead=24 * 8)
    confirm(org, cancelled_id)
    front.inject(Fault("/v1/payment_intents", "lost", EVERY_TRY))
    confirm(org, owed_id)
    front.inject(Fault("/v1/refunds", "error", EVERY_TRY))
    bookings.cancel(org.db, org.member, cancelled_id, gateway=org.gateway)

    clock = Clock()
    reports = all_at_once([lambda: sweep(org, clock)] * 4)
    assert [charge for report in reports for charge in report.resumed] == [
        charge_of(org, owed_id).id]
    assert len([charge for report in reports for charge in report.refunded]) == 1
    assert_converged(client, org, owed_id, cancelled_id)
