"""The charge ledger: one `Charge` row per booking, whose status only ever moves forward within
an attempt (pending -> failed or requires action -> succeeded -> refunded). Every move is a
guarded UPDATE, so our own results and the provider's events can arrive in any order, any
number of times, and converge on the same row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.db import changed_rows
from backend.domain.enums import ChargeStatus
from backend.models import Charge
from backend.services import audit, notifications
from backend.services.actors import SYSTEM

NO_CARD = "no_card"
AUTHENTICATION_REQUIRED = "authentication_required"
RETRYABLE = (ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION)
# How far along a charge is within one attempt; a status only ever replaces a lower one.
_RANK = {
    ChargeStatus.PENDING: 0,
    ChargeStatus.FAILED: 1,
    ChargeStatus.REQUIRES_ACTION: 1,
    ChargeStatus.SUCCEEDED: 2,
    ChargeStatus.REFUNDED: 3,
}


@dataclass(frozen=True)
class ChargeView:
    id: int
    booking_id: int
    authorisation_id: int
    amount_minor: int
    currency: str
    status: ChargeStatus
    attempt: int
    failure_code: str | None


def charge_key(booking_id: int, attempt: int) -> str:
    """The idempotency key of one attempt: the provider charges it at most once."""
    return f"booking-{booking_id}-charge-{attempt}"


def refund_key(booking_id: int, attempt: int) -> str:
    return f"booking-{booking_id}-refund-{attempt}"


def charge_metadata(booking_id: int, organisation_id: int, authorisation_id: int,
                    attempt: int) -> dict[str, str]:
    """What we tell the provider about a payment; its events name our charge by it."""
    return {"booking_id": str(booking_id), "organisation_id": str(organisation_id),
            "authorisation_id": str(authorisation_id), "charge_attempt": str(attempt)}


def charge_row(session: Session, booking_id: int) -> Charge | None:
    return session.scalar(select(Charge).where(Charge.booking_id == booking_id)
                          .execution_options(populate_existing=True))


def charge_by_payment(session: Session, payment_reference: str) -> Charge | None:
    return session.scalar(select(Charge).where(Charge.provider_reference == payment_reference)
                          .execution_options(populate_existing=True))


def view(charge: Charge) -> ChargeView:
    return ChargeView(charge.id, charge.booking_id, charge.authorisation_id, charge.amount_minor,
                      charge.currency, charge.status, charge.attempt, charge.failure_code)


def set_status(session: Session, charge_id: int, attempt: int, status: ChargeStatus, *,
               reference: str | None = None, failure_code: str | None = None) -> bool:
    """Move the charge forward to `status` if it is still on `attempt` and behind it; tell the
    admins when this moved it to a failure. Returns whether it moved."""
    if reference:
        session.execute(
            update(Charge)
            .where(Charge.id == charge_id, Charge.attempt == attempt,
                   Charge.provider_reference.is_(None))
            .values(provider_reference=reference)
            .execution_options(synchronize_session=False))
    behind = [earlier for earlier, rank in _RANK.items() if rank < _RANK[status]]
    moved = changed_rows(session, (
        update(Charge)
        .where(Charge.id == charge_id, Charge.attempt == attempt, Charge.status.in_(behind))
        .values(status=status, failure_code=failure_code if status in RETRYABLE else None)
        .execution_options(synchronize_session=False))) == 1
    if moved:
        charge = session.get_one(Charge, charge_id, populate_existing=True)
        audit.record(session, SYSTEM, f"charge.{status.value}", "charge", charge_id,
                     organisation_id=charge.organisation_id, attempt=attempt,
                     failure_code=charge.failure_code)
        if status in RETRYABLE:
            notifications.notify_admins(session, charge.organisation_id, "charge_failed",
                                        _failure_text(charge.failure_code))
    return moved


def mark_unsettled(session: Session, charge_id: int, now: datetime) -> None:
    """The provider could not be asked or did not answer: the reconciliation sweep asks again
    at its next round (unless it already has a time for that)."""
    session.execute(update(Charge)
                    .where(Charge.id == charge_id, Charge.next_try_at.is_(None))
                    .values(next_try_at=now)
                    .execution_options(synchronize_session=False))


def take_try(session: Session, charge: Charge, next_try_at: datetime) -> bool:
    """Claim the next try at what this charge still needs, by a guarded UPDATE on the count of
    tries: of concurrent sweeps, only one asks the provider. The next try is booked at once, so
    a sweep that dies mid-call is followed up at that time."""
    return changed_rows(session, (
        update(Charge)
        .where(Charge.id == charge.id, Charge.tries == charge.tries)
        .values(tries=charge.tries + 1, next_try_at=next_try_at)
        .execution_options(synchronize_session=False))) == 1


def _failure_text(failure_code: str | None) -> str:
    # No amount, person, therapist or date: admins see counts and spend, not who booked what.
    if failure_code == NO_CARD:
        reason = "there is no company card on file yet"
    elif failure_code == AUTHENTICATION_REQUIRED:
        reason = "the card's bank asked for the card holder to authenticate the payment"
    else:
        reason = "the card was declined"
    return (f"A session payment could not be taken: {reason}. Please update the company card "
            "(ask me to \"change the company card\"); I'll retry the payment automatically "
            "once the new card is saved.")
