"""Stripe's webhook events, applied exactly once each, in any order: handlers set state from the
object as it is now, and every charge status change only moves forward (see `ledger`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.payments import PaymentGateway, SavedCard
from backend.db import Database
from backend.domain.enums import ChargeStatus
from backend.domain.errors import InvalidInput
from backend.models import Charge, StripeEvent
from backend.services.payments.cards import save_card
from backend.services.payments.charges import retry_failed_charges
from backend.services.payments.ledger import (
    AUTHENTICATION_REQUIRED,
    charge_by_payment,
    charge_row,
    set_status,
)


@dataclass(frozen=True)
class EventResult:
    event_id: str
    type: str
    outcome: str  # "applied", "ignored" or "duplicate"



def verify_event(payload: bytes, signature: str | None, secret: str,
                 tolerance_seconds: int) -> dict[str, Any]:
    """The event, if Stripe signed this payload with our endpoint secret recently enough."""
    if not secret:
        raise InvalidInput("Stripe webhooks are not configured on this server.",
                           code="webhooks_not_configured")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance_seconds)
    except stripe.SignatureVerificationError:
        raise InvalidInput("The Stripe signature is missing, wrong or too old.",
                           code="bad_signature") from None
    try:
        event = json.loads(payload)
        if not (isinstance(event["id"], str) and isinstance(event["type"], str)
                and isinstance(event["data"]["object"], dict)):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("The event is not a Stripe event.") from None
    return event


def handle_event(db: Database, gateway: PaymentGateway, event: dict[str, Any]) -> EventResult:
    """Apply a (verified) Stripe event exactly once. Handlers set state from the object as it
    is now, so events may come in any order."""
    event_id, kind, obj = event["id"], event["type"], event["data"]["object"]
    with db.reader() as session:
        if session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)):
            return EventResult(event_id, kind, "duplicate")
    card = _card_from_event(gateway, kind, obj)  # provider call: before the transaction
    retry_for = None
    with db.transaction() as session:
        record = StripeEvent(event_id=event_id, type=kind, outcome="ignored")
        try:
            with session.begin_nested():
                session.add(record)
        except IntegrityError:
            return EventResult(event_id, kind, "duplicate")
        if card is not None:
            retry_for = save_card(session, card)
            applied = True
        elif kind.startswith("payment_intent."):
            applied = _apply_payment_intent(session, obj)
        elif kind == "charge.refunded":
            applied = _apply_refund(session, obj)
        else:
            applied = False
        record.outcome = "applied" if applied else "ignored"
    if retry_for is not None:
        retry_failed_charges(db, gateway, retry_for)
    return EventResult(event_id, kind, record.outcome)


def _card_from_event(gateway: PaymentGateway, kind: str, obj: dict[str, Any]) -> SavedCard | None:
    if kind == "checkout.session.completed" and obj.get("mode") == "setup":
        setup_intent = obj.get("setup_intent")
    elif kind == "setup_intent.succeeded":
        setup_intent = obj.get("id")
    else:
        return None
    if isinstance(setup_intent, dict):
        setup_intent = setup_intent.get("id")
    if not isinstance(setup_intent, str):
        return None
    return gateway.saved_card(setup_intent)


def _our_charge(session: Session, obj: dict[str, Any],
                payment_intent: str | None) -> tuple[Charge, int] | None:
    """The charge an object is about, and the attempt it belongs to: by our metadata, or by the
    PaymentIntent we recorded."""
    metadata = obj.get("metadata") or {}
    booking_id, attempt = metadata.get("booking_id"), metadata.get("charge_attempt")
    if str(booking_id).isdigit() and str(attempt).isdigit():
        charge = charge_row(session, int(booking_id))
        return None if charge is None else (charge, int(attempt))
    if payment_intent:
        charge = charge_by_payment(session, payment_intent)
        if charge is not None:
            return charge, charge.attempt
    return None


def _apply_payment_intent(session: Session, intent: dict[str, Any]) -> bool:
    found = _our_charge(session, intent, intent.get("id"))
    if found is None:
        return False
    charge, attempt = found
    error = intent.get("last_payment_error") or {}
    code = error.get("decline_code") or error.get("code")
    state = intent.get("status")
    if state == "succeeded":
        status = ChargeStatus.SUCCEEDED
    elif state == "requires_action" or code == AUTHENTICATION_REQUIRED:
        status = ChargeStatus.REQUIRES_ACTION
    elif state in ("requires_payment_method", "canceled"):
        status = ChargeStatus.FAILED
    else:
        return False  # processing: a later event settles it
    set_status(session, charge.id, attempt, status, reference=intent.get("id"),
                failure_code=code or "card_declined")
    return True


def _apply_refund(session: Session, stripe_charge: dict[str, Any]) -> bool:
    if not stripe_charge.get("refunded"):
        return False  # partial refunds are not ours: we refund sessions in full
    intent = stripe_charge.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    found = _our_charge(session, stripe_charge, intent)
    if found is None:
        return False
    charge, attempt = found
    set_status(session, charge.id, attempt, ChargeStatus.REFUNDED, reference=intent)
    return True

