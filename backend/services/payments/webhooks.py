"""The payment provider's events (provider-neutral, as the gateway adapters hand them over),
applied exactly once each and in any order: each sets state from how things stand now, and a
charge's status only ever moves forward (see `ledger`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.payments import (
    CardSetupCompleted,
    ChargeReference,
    PaymentFailed,
    PaymentGateway,
    PaymentRefunded,
    PaymentSucceeded,
    ProviderEvent,
)
from backend.db import Database
from backend.domain.enums import ChargeStatus
from backend.models import Charge, StripeEvent
from backend.services.payments.cards import save_card
from backend.services.payments.charges import retry_failed_charges
from backend.services.payments.ledger import charge_by_payment, charge_row, set_status


@dataclass(frozen=True)
class EventResult:
    event_id: str
    type: str
    outcome: str  # "applied", "ignored" or "duplicate"


def apply_event(db: Database, gateway: PaymentGateway, event: ProviderEvent) -> EventResult:
    """Apply a (verified) provider event exactly once; once a new card is saved, charge again
    what failed."""
    with db.reader() as session:
        if session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event.event_id)):
            return EventResult(event.event_id, event.kind, "duplicate")
    card = None
    if isinstance(event, CardSetupCompleted):  # a provider call: before the transaction
        card = gateway.saved_card(event.setup_reference)
    retry_for = None
    with db.transaction() as session:
        record = StripeEvent(event_id=event.event_id, type=event.kind, outcome="ignored")
        try:
            with session.begin_nested():
                session.add(record)
        except IntegrityError:
            return EventResult(event.event_id, event.kind, "duplicate")
        if card is not None:
            retry_for = save_card(session, card)
            applied = True
        else:
            applied = _apply_to_charge(session, event)
        record.outcome = "applied" if applied else "ignored"
    if retry_for is not None:
        retry_failed_charges(db, gateway, retry_for)
    return EventResult(event.event_id, event.kind, record.outcome)


def _apply_to_charge(session: Session, event: ProviderEvent) -> bool:
    failure_code = None
    if isinstance(event, PaymentSucceeded):
        status = ChargeStatus.SUCCEEDED
    elif isinstance(event, PaymentFailed):
        status = (ChargeStatus.REQUIRES_ACTION if event.needs_authentication
                  else ChargeStatus.FAILED)
        failure_code = event.failure_code
    elif isinstance(event, PaymentRefunded):
        status = ChargeStatus.REFUNDED
    else:
        return False
    found = _our_charge(session, event.charge)
    if found is None:
        return False
    charge, attempt = found
    set_status(session, charge.id, attempt, status, reference=event.charge.payment_reference,
               failure_code=failure_code)
    return True


def _our_charge(session: Session, named: ChargeReference) -> tuple[Charge, int] | None:
    """The charge an event is about, and the attempt it belongs to: by our metadata, or by the
    payment we recorded."""
    if named.booking_id is not None and named.attempt is not None:
        charge = charge_row(session, named.booking_id)
        return None if charge is None else (charge, named.attempt)
    if named.payment_reference:
        charge = charge_by_payment(session, named.payment_reference)
        if charge is not None:
            return charge, charge.attempt
    return None
