"""The reconciliation sweep: brings every booking's money in line with what the organisation
owes (`domain.settlement.owed`), whatever crashed or timed out on the way.

One round (`reconcile`), run by `serve` every PENDING_CHARGE_SWEEP_SECONDS:
1. a booking owed with no charge row (the process stopped before claiming it) gets its charge;
2. a charge still pending (its answer never came back, or the provider was down) is looked up
   at the provider by the metadata it was sent with: a payment found there is recorded as it
   stands (a lost answer is found, not guessed); one never received is sent again under the
   same idempotency key; a payment found and no longer owed is then refunded;
3. a payment taken and no longer owed (a refund that failed, or never ran) is refunded, under
   the one refund key of its attempt.
Each try is claimed by a guarded UPDATE of the charge's `tries` (one sweep asks, however many
run) that books the next try with a doubling delay; each is in the audit log; the admins are
told once when a charge or refund keeps failing. Items whose change is younger than the grace
period are left to the request that is settling them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, not_, or_, select
from sqlalchemy.orm import Session

from backend.adapters.payments import GatewayUnavailable, PaymentGateway
from backend.db import Database
from backend.domain import settlement
from backend.domain.enums import ChargeStatus
from backend.models import Booking, Charge, Voucher
from backend.models.base import utcnow
from backend.services import audit, notifications
from backend.services.actors import SYSTEM
from backend.services.payments import charges
from backend.services.payments.ledger import take_try

log = logging.getLogger("backend.payments.reconciliation")


@dataclass(frozen=True)
class RetryPolicy:
    """How the sweep paces itself (settings PAYMENT_RETRY_*, PAYMENT_SWEEP_GRACE_SECONDS)."""

    grace: timedelta = timedelta(minutes=10)
    first_delay: timedelta = timedelta(minutes=1)
    longest_delay: timedelta = timedelta(hours=6)
    alert_after: int = 5

    def next_try(self, now: datetime, tries: int) -> datetime:
        return now + settlement.retry_delay(tries, base=self.first_delay,
                                            cap=self.longest_delay)


DEFAULT_POLICY = RetryPolicy()


@dataclass
class SweepReport:
    charged: list[int] = field(default_factory=list)  # bookings whose charge the sweep claimed
    resumed: list[int] = field(default_factory=list)  # pending charges asked again
    found: list[int] = field(default_factory=list)  # of those, answered by the provider's search
    refunded: list[int] = field(default_factory=list)  # charges refunded
    failing: list[int] = field(default_factory=list)  # charges the provider could not settle

    def __bool__(self) -> bool:
        return any((self.charged, self.resumed, self.refunded, self.failing))


def reconcile(db: Database, gateway: PaymentGateway, *, policy: RetryPolicy = DEFAULT_POLICY,
              now: Callable[[], datetime] = utcnow) -> SweepReport:
    """One round of the sweep (see the module); safe to run concurrently and repeatedly."""
    report = SweepReport()
    for booking_id in _unclaimed_bookings(db, now() - policy.grace):
        _charge_unclaimed(db, gateway, booking_id, report)
    for charge in _due(db, _pending(), Charge.updated_at, now(), policy):
        _resume(db, gateway, charge, policy, now, report)
    for charge in _due(db, _refund_owed(), Booking.updated_at, now(), policy):
        _refund(db, gateway, charge, policy, now, report)
    return report


# --- what is out of line -----------------------------------------------------------------


def _owed_clause() -> ColumnElement[bool]:
    return or_(false(), *(and_(Booking.status == booking, Voucher.status == voucher)
                          for booking, voucher in sorted(settlement.OWED_STATES)))


def _unclaimed_bookings(db: Database, changed_before: datetime) -> list[int]:
    with db.reader() as session:
        return list(session.scalars(
            select(Booking.id)
            .join(Voucher, Voucher.booking_id == Booking.id)
            .outerjoin(Charge, Charge.booking_id == Booking.id)
            .where(Charge.id.is_(None), _owed_clause(), Booking.updated_at < changed_before)
            .order_by(Booking.id)))


def _pending() -> ColumnElement[bool]:
    return Charge.status == ChargeStatus.PENDING


def _refund_owed() -> ColumnElement[bool]:
    """Taken, and its booking no longer owed."""
    return and_(Charge.status == ChargeStatus.SUCCEEDED, Charge.provider_reference.is_not(None),
                or_(Voucher.id.is_(None), not_(_owed_clause())))


def _due(db: Database, which: ColumnElement[bool], changed_at: Any, now: datetime,
         policy: RetryPolicy) -> list[Charge]:
    """Charges in `which` whose next try has come, or, never tried, whose last change
    (`changed_at`: the charge's for a payment, the booking's for a refund) is older than the
    grace period."""
    due = or_(Charge.next_try_at <= now,
              and_(Charge.next_try_at.is_(None), changed_at < now - policy.grace))
    with db.reader() as session:
        found = list(session.scalars(
            select(Charge)
            .join(Booking, Booking.id == Charge.booking_id)
            .outerjoin(Voucher, Voucher.booking_id == Booking.id)
            .where(which, due).order_by(Charge.id)))
        session.expunge_all()
        return found


# --- putting it in line ------------------------------------------------------------------


def _charge_unclaimed(db: Database, gateway: PaymentGateway, booking_id: int,
                      report: SweepReport) -> None:
    with db.transaction() as session:
        claim = charges.claim_settlement(session, booking_id)
        if isinstance(claim, charges.ChargeAttempt):
            _audit(session, claim.charge_id, "charge.claimed_by_sweep", booking_id=booking_id)
    if isinstance(claim, charges.ChargeAttempt):
        report.charged.append(booking_id)
        charges.send(db, gateway, claim)


def _claim_try(db: Database, charge: Charge, action: str, policy: RetryPolicy,
               now: datetime) -> bool:
    with db.transaction() as session:
        if not take_try(session, charge, policy.next_try(now, charge.tries + 1)):
            return False
        _audit(session, charge.id, action, attempt=charge.attempt, tries=charge.tries + 1)
        return True


def _resume(db: Database, gateway: PaymentGateway, charge: Charge, policy: RetryPolicy,
            now: Callable[[], datetime], report: SweepReport) -> None:
    if not _claim_try(db, charge, "charge.swept", policy, now()):
        return
    report.resumed.append(charge.id)
    with db.reader() as session:
        attempt = charges.attempt_for(session, charge, charge.attempt)
    if attempt is None:  # no card or customer any more: nothing to ask or send
        _failed(db, charge, "payment", policy, report)
        return
    try:
        found = gateway.find_charge(customer_reference=attempt.request.customer_reference,
                                    booking_id=charge.booking_id, attempt=charge.attempt)
    except GatewayUnavailable as error:
        log.warning("charge %s: the provider can't be searched now: %s", charge.id, error)
        _failed(db, charge, "payment", policy, report)
        return
    if found is not None:
        report.found.append(charge.id)
        with db.transaction() as session:
            charges.record(session, charge.id, charge.attempt, found)
            _audit(session, charge.id, "charge.found_at_provider", attempt=charge.attempt,
                   outcome=found.outcome.value)
    elif not charges.send(db, gateway, attempt):
        _failed(db, charge, "payment", policy, report)
        return
    with db.transaction() as session:  # taken, and meanwhile no longer owed: give it back
        due = charges.claim_settlement(session, charge.booking_id)
    if isinstance(due, charges.RefundDue) and charges.try_refund(db, gateway, due):
        report.refunded.append(charge.id)


def _refund(db: Database, gateway: PaymentGateway, charge: Charge, policy: RetryPolicy,
            now: Callable[[], datetime], report: SweepReport) -> None:
    if not _claim_try(db, charge, "refund.swept", policy, now()):
        return
    if charges.try_refund(db, gateway, charges.refund_due(charge)):
        report.refunded.append(charge.id)
    else:
        _failed(db, charge, "refund", policy, report)


def _failed(db: Database, charge: Charge, what: str, policy: RetryPolicy,
            report: SweepReport) -> None:
    tries = charge.tries + 1
    report.failing.append(charge.id)
    with db.transaction() as session:
        _audit(session, charge.id, f"{'refund' if what == 'refund' else 'charge'}.try_failed",
               attempt=charge.attempt, tries=tries)
        if settlement.keeps_failing(tries, policy.alert_after):
            notifications.notify_admins(session, charge.organisation_id, f"{what}_failing",
                                        _failing_text(what, tries))


def _failing_text(what: str, tries: int) -> str:
    # No amount, person, therapist or date: admins see counts and spend, not who booked what.
    return (f"A session {what} has not gone through after {tries} tries: the payment provider "
            "could not be reached or did not answer. I keep trying automatically and will not "
            "charge twice; if this goes on, please check the payment provider's status.")


def _audit(session: Session, charge_id: int, action: str, **details: object) -> None:
    organisation_id = session.scalar(select(Charge.organisation_id)
                                     .where(Charge.id == charge_id))
    audit.record(session, SYSTEM, action, "charge", charge_id, organisation_id=organisation_id,
                 **details)
