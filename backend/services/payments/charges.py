"""Charging for sessions: one charge per booking on the organisation's card, retried under a new
attempt once the card changes, asked again when its answer never came back, and refunded in
full when the session is no longer owed.

A booking is charged at most once. Its `Charge` row is inserted (unique per booking) BEFORE
the provider is called, in a write transaction; only the transaction that inserted the row (or
that moved a failed row to its next attempt, by a guarded UPDATE) calls the provider, after it
committed and outside any transaction, with an idempotency key naming the booking and the
attempt.

The settle rule, "charged when owed, refunded when no longer owed", comes as a pair for a
booking change to run in its own single transaction: `claim_settlement` inside it, then
`complete_settlement` once it has committed. `settle_booking` is the pair on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.payments import (
    ChargeRequest,
    ChargeResult,
    GatewayUnavailable,
    PaymentGateway,
    PaymentOutcome,
)
from backend.db import Database, changed_rows
from backend.domain import settlement
from backend.domain.enums import ChargeStatus
from backend.domain.errors import Conflict, NotFound
from backend.models import Booking, Charge, Grant, Member, PaymentCard, Therapist, Voucher
from backend.models.base import utcnow
from backend.services import audit
from backend.services.actors import SYSTEM
from backend.services.payments.cards import PaymentsUnavailable, current_card, customer_of
from backend.services.payments.ledger import (
    NO_CARD,
    RETRYABLE,
    ChargeView,
    charge_key,
    charge_metadata,
    charge_row,
    mark_unsettled,
    refund_key,
    set_status,
    view,
)

log = logging.getLogger("backend.payments")

_STATUS_BY_OUTCOME = {
    PaymentOutcome.SUCCEEDED: ChargeStatus.SUCCEEDED,
    PaymentOutcome.PROCESSING: ChargeStatus.PENDING,
    PaymentOutcome.DECLINED: ChargeStatus.FAILED,
    PaymentOutcome.REQUIRES_ACTION: ChargeStatus.REQUIRES_ACTION,
}


@dataclass(frozen=True)
class ChargeAttempt:
    """A charge attempt its claimer owns: it alone calls the provider for it."""

    charge_id: int
    booking_id: int
    attempt: int
    request: ChargeRequest


@dataclass(frozen=True)
class RefundDue:
    """A taken payment to give back in full (the provider refunds one key at most once)."""

    charge_id: int
    attempt: int
    payment_reference: str
    idempotency_key: str
    metadata: dict[str, str]


Settlement = ChargeAttempt | RefundDue


# --- the settle rule -------------------------------------------------------------------------


def claim_settlement(session: Session, booking_id: int) -> Settlement | None:
    """Inside the caller's open write transaction (the booking change's): apply the settle rule.
    When the organisation now owes the session and it has no charge yet, the pending charge row
    is inserted here; when it no longer owes a payment taken, a refund is due. Returns the
    provider call still to make with `complete_settlement` once the transaction has committed,
    or None. Concurrent claims on one booking make one charge row; only one gets the attempt."""
    booking = session.get(Booking, booking_id, populate_existing=True)
    if booking is None:
        raise NotFound("No such booking.")
    is_owed = owed(session, booking)
    charge = charge_row(session, booking_id)
    if is_owed and charge is None:
        return claim_first_attempt(session, booking)
    if (not is_owed and charge is not None and charge.status is ChargeStatus.SUCCEEDED
            and charge.provider_reference):
        return refund_due(charge)
    return None


def complete_settlement(db: Database, gateway: PaymentGateway,
                        claim: Settlement | None) -> None:
    """Make the provider call a claim left to do (after its transaction committed, with none
    open) and record the answer. A provider that can't answer is logged, never raised: the
    booking change stands; what the provider did not settle is asked again by the reconciliation
    sweep (`reconciliation.reconcile`)."""
    if isinstance(claim, ChargeAttempt):
        send(db, gateway, claim)
    elif isinstance(claim, RefundDue):
        try_refund(db, gateway, claim)


def try_refund(db: Database, gateway: PaymentGateway, due: RefundDue) -> bool:
    """Refund, or leave it to the sweep when the provider can't now; returns whether it was
    refunded."""
    try:
        _refund(db, gateway, due)
    except (GatewayUnavailable, PaymentsUnavailable) as error:
        log.warning("refund of charge %s failed for now: %s", due.charge_id, error)
        with db.transaction() as session:
            mark_unsettled(session, due.charge_id, utcnow())
        return False
    return True


def settle_booking(db: Database, gateway: PaymentGateway, booking_id: int) -> ChargeView | None:
    """Bring the booking's charge in line with the booking (after a change that committed):
    charged when the organisation owes the session, refunded when it no longer does."""
    with db.transaction() as session:
        claim = claim_settlement(session, booking_id)
    complete_settlement(db, gateway, claim)
    return charge_for_booking(db, booking_id)


def owed(session: Session, booking: Booking) -> bool:
    """Whether the organisation pays for this booking now (`domain.settlement.owed`)."""
    voucher = session.scalar(select(Voucher).where(Voucher.booking_id == booking.id)
                             .execution_options(populate_existing=True))
    return settlement.owed(booking.status, None if voucher is None else voucher.status)


# --- charging --------------------------------------------------------------------------------


def charge_booking(db: Database, gateway: PaymentGateway, booking_id: int) -> ChargeView | None:
    """Charge the organisation for a booking it pays for (call after the confirmation has
    committed). Safe to call any number of times, concurrently: one charge at most."""
    with db.transaction() as session:
        booking = session.get(Booking, booking_id)
        attempt = None
        if (booking is not None and owed(session, booking)
                and charge_row(session, booking_id) is None):
            attempt = claim_first_attempt(session, booking)
    complete_settlement(db, gateway, attempt)
    return charge_for_booking(db, booking_id)


def charge_for_booking(db: Database, booking_id: int) -> ChargeView | None:
    with db.reader() as session:
        charge = charge_row(session, booking_id)
        return None if charge is None else view(charge)


def retry_failed_charges(db: Database, gateway: PaymentGateway,
                         organisation_id: int) -> list[ChargeView]:
    """After the card changed: charge again what failed, each under a new attempt (and so a new
    idempotency key: the old one would only replay the decline)."""
    attempts = []
    with db.transaction() as session:
        card = current_card(session, organisation_id)
        customer = customer_of(session, organisation_id)
        if card is None or customer is None:
            return []
        failed = session.scalars(
            select(Charge).where(Charge.organisation_id == organisation_id,
                                 Charge.status.in_(RETRYABLE)).order_by(Charge.id)
        ).all()
        for charge in failed:
            if not owed(session, session.get_one(Booking, charge.booking_id)):
                continue
            attempt = _claim_next_attempt(session, charge, customer, card)
            if attempt is not None:
                attempts.append(attempt)
    for attempt in attempts:
        send(db, gateway, attempt)
    with db.reader() as session:
        return [view(session.get_one(Charge, attempt.charge_id)) for attempt in attempts]


def claim_first_attempt(session: Session, booking: Booking) -> ChargeAttempt | None:
    """Insert the booking's pending charge; None if a concurrent claim inserted it (that one
    charges) or there is no card to charge (the charge is recorded as failed)."""
    voucher = session.scalars(select(Voucher).where(Voucher.booking_id == booking.id)).one()
    grant = session.get_one(Grant, voucher.grant_id)
    organisation_id = session.scalar(select(Member.organisation_id)
                                     .where(Member.id == booking.member_id))
    therapist = session.get_one(Therapist, booking.therapist_id)
    charge = Charge(booking_id=booking.id, organisation_id=organisation_id,
                    authorisation_id=grant.authorisation_id,
                    amount_minor=therapist.fee_minor, currency=therapist.currency.upper(),
                    status=ChargeStatus.PENDING, attempt=1,
                    idempotency_key=charge_key(booking.id, 1))
    try:
        with session.begin_nested():
            session.add(charge)
    except IntegrityError:
        return None
    attempt = attempt_for(session, charge, 1)
    if attempt is None:
        set_status(session, charge.id, 1, ChargeStatus.FAILED, failure_code=NO_CARD)
    return attempt


def attempt_for(session: Session, charge: Charge, attempt: int) -> ChargeAttempt | None:
    card = current_card(session, charge.organisation_id)
    customer = customer_of(session, charge.organisation_id)
    if card is None or customer is None:
        return None
    return ChargeAttempt(charge.id, charge.booking_id, attempt,
                         _request(charge, attempt, customer, card))


def _claim_next_attempt(session: Session, charge: Charge, customer: str,
                        card: PaymentCard) -> ChargeAttempt | None:
    """Move a failed charge to its next attempt; only one concurrent retry can."""
    following = charge.attempt + 1
    claimed = changed_rows(session, (
        update(Charge)
        .where(Charge.id == charge.id, Charge.attempt == charge.attempt,
               Charge.status.in_(RETRYABLE))
        .values(attempt=following, status=ChargeStatus.PENDING, failure_code=None,
                provider_reference=None, idempotency_key=charge_key(charge.booking_id, following))
        .execution_options(synchronize_session=False)))
    if claimed != 1:
        return None
    audit.record(session, SYSTEM, "charge.retried", "charge", charge.id,
                 organisation_id=charge.organisation_id, attempt=following)
    return ChargeAttempt(charge.id, charge.booking_id, following,
                         _request(charge, following, customer, card))


def _request(charge: Charge, attempt: int, customer: str, card: PaymentCard) -> ChargeRequest:
    return ChargeRequest(
        customer_reference=customer, payment_method_reference=card.provider_reference,
        amount_minor=charge.amount_minor, currency=charge.currency,
        idempotency_key=charge_key(charge.booking_id, attempt),
        metadata=charge_metadata(charge.booking_id, charge.organisation_id,
                                 charge.authorisation_id, attempt))


def send(db: Database, gateway: PaymentGateway, attempt: ChargeAttempt) -> bool:
    """Call the provider (no transaction open), then record what it said; returns whether it
    answered."""
    try:
        result = gateway.charge(attempt.request)
    except GatewayUnavailable as error:
        # Outcome unknown: the charge stays pending; the reconciliation sweep asks again.
        log.warning("charge %s attempt %s: provider unavailable: %s", attempt.charge_id,
                    attempt.attempt, error)
        with db.transaction() as session:
            mark_unsettled(session, attempt.charge_id, utcnow())
        return False
    with db.transaction() as session:
        record(session, attempt.charge_id, attempt.attempt, result)
    return True


def record(session: Session, charge_id: int, attempt: int, result: ChargeResult) -> None:
    status = _STATUS_BY_OUTCOME[result.outcome]
    set_status(session, charge_id, attempt, status, reference=result.reference,
               failure_code=result.failure_code)


# --- refunds ---------------------------------------------------------------------------------


def refund_charge(db: Database, gateway: PaymentGateway, charge_id: int) -> ChargeView:
    """Give a taken payment back in full (the same refund at most once at the provider)."""
    with db.reader() as session:
        charge = session.get(Charge, charge_id)
        if charge is None:
            raise NotFound("No such charge.")
        if charge.status is ChargeStatus.REFUNDED:
            return view(charge)
        if charge.status is not ChargeStatus.SUCCEEDED or not charge.provider_reference:
            raise Conflict("Only a payment that was taken can be refunded.")
        due = refund_due(charge)
    return _refund(db, gateway, due)


def refund_due(charge: Charge) -> RefundDue:
    if charge.provider_reference is None:
        raise Conflict("Only a payment that was taken can be refunded.")
    return RefundDue(charge.id, charge.attempt, charge.provider_reference,
                     refund_key(charge.booking_id, charge.attempt),
                     charge_metadata(charge.booking_id, charge.organisation_id,
                                     charge.authorisation_id, charge.attempt))


def _refund(db: Database, gateway: PaymentGateway, due: RefundDue) -> ChargeView:
    result = gateway.refund(payment_reference=due.payment_reference,
                            idempotency_key=due.idempotency_key, metadata=due.metadata)
    if not result.succeeded:
        raise PaymentsUnavailable("The refund did not go through yet; it will be retried.")
    with db.transaction() as session:
        set_status(session, due.charge_id, due.attempt, ChargeStatus.REFUNDED)
        session.execute(update(Charge)
                        .where(Charge.id == due.charge_id, Charge.refund_reference.is_(None))
                        .values(refund_reference=result.reference)
                        .execution_options(synchronize_session=False))
        return view(session.get_one(Charge, due.charge_id, populate_existing=True))
