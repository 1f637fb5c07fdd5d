"""Paying for sessions: the company card, one charge per booking, refunds, Stripe's webhooks.

Rules kept here (PRODUCT.md 2 and 6):
- A booking is charged at most once. Its `Charge` row is inserted (unique per booking) BEFORE
  the provider is called, in its own transaction; only the request that inserted the row (or
  that moved a failed row to its next attempt, by a guarded UPDATE) calls the provider, outside
  any transaction, with an idempotency key naming the booking and the attempt.
- Every status change is a guarded UPDATE that only moves a charge "forward" within the same
  attempt (pending -> failed/requires action -> succeeded -> refunded), so our own result and
  webhooks can arrive in any order, any number of times, and converge on the same row.
- Cards are entered on the provider's hosted page; the backend learns only the reference,
  brand, last four digits and expiry, and only from the provider (a webhook), never from a chat.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import stripe
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.payments import (
    ChargeRequest,
    ChargeResult,
    GatewayUnavailable,
    PaymentGateway,
    PaymentOutcome,
    SavedCard,
)
from backend.db import Database
from backend.domain.enums import BookingStatus, ChargeStatus, VoucherStatus
from backend.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from backend.models import (
    Booking,
    Charge,
    Grant,
    Member,
    Organisation,
    PaymentCard,
    StripeEvent,
    Therapist,
    Voucher,
)
from backend.models.base import utcnow
from backend.services import audit, notifications
from backend.services.actors import SYSTEM, Actor, require_admin

log = logging.getLogger("backend.payments")

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
_STATUS_BY_OUTCOME = {
    PaymentOutcome.SUCCEEDED: ChargeStatus.SUCCEEDED,
    PaymentOutcome.PROCESSING: ChargeStatus.PENDING,
    PaymentOutcome.DECLINED: ChargeStatus.FAILED,
    PaymentOutcome.REQUIRES_ACTION: ChargeStatus.REQUIRES_ACTION,
}


class PaymentsUnavailable(DomainError):
    code = "payments_unavailable"


@dataclass(frozen=True)
class CardView:
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class CardSetupView:
    url: str
    message: str


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


@dataclass(frozen=True)
class EventResult:
    event_id: str
    type: str
    outcome: str  # "applied", "ignored" or "duplicate"


@dataclass(frozen=True)
class _Attempt:
    """A charge attempt this request owns: it alone calls the provider for it."""

    charge_id: int
    booking_id: int
    attempt: int
    request: ChargeRequest


def charge_key(booking_id: int, attempt: int) -> str:
    return f"booking-{booking_id}-charge-{attempt}"


# --- the company card ------------------------------------------------------------------------


def card_on_file(db: Database, actor: Actor) -> CardView | None:
    organisation_id = require_admin(actor)
    with db.reader() as session:
        card = _current_card(session, organisation_id)
        return None if card is None else CardView(card.brand, card.last4, card.exp_month,
                                                   card.exp_year)


def start_card_setup(db: Database, gateway: PaymentGateway, actor: Actor) -> CardSetupView:
    """A link to the provider's hosted page where an admin adds or replaces the company card.
    The card counts as saved only when the provider says so (webhook)."""
    organisation_id = require_admin(actor)
    with db.reader() as session:
        organisation = session.get(Organisation, organisation_id)
        customer, name = organisation.stripe_customer_id, organisation.name
    try:
        if customer is None:
            customer = _attach_customer(
                db, organisation_id,
                gateway.create_customer(organisation_id=organisation_id, name=name))
        link = gateway.create_card_setup(customer_reference=customer,
                                         organisation_id=organisation_id)
    except GatewayUnavailable as error:
        log.warning("card setup for organisation %s failed: %s", organisation_id, error)
        raise PaymentsUnavailable("The payment provider can't be reached just now. Please try "
                                  "again in a few minutes.") from None
    with db.transaction() as session:
        audit.record(session, actor, "card.setup_started", "organisation", organisation_id,
                     organisation_id=organisation_id)
    return CardSetupView(link.url, "Open this secure page to add the company card. Card "
                                   "details go straight to our payment provider, never through "
                                   "this chat. I'll tell you here once the card is saved.")


def _attach_customer(db: Database, organisation_id: int, customer: str) -> str:
    """Store the customer unless a concurrent request stored one first; returns the one kept.
    (The provider call is idempotent per organisation, so both requests got the same one.)"""
    with db.transaction() as session:
        session.execute(
            update(Organisation)
            .where(Organisation.id == organisation_id, Organisation.stripe_customer_id.is_(None))
            .values(stripe_customer_id=customer)
            .execution_options(synchronize_session=False)
        )
        return session.scalar(
            select(Organisation.stripe_customer_id).where(Organisation.id == organisation_id))


def _current_card(session: Session, organisation_id: int) -> PaymentCard | None:
    return session.scalar(
        select(PaymentCard)
        .where(PaymentCard.organisation_id == organisation_id)
        .order_by(PaymentCard.set_up_at.desc(), PaymentCard.id.desc())
        .limit(1)
    )


def _save_card(session: Session, card: SavedCard) -> int | None:
    """Record a card the provider saved; returns the organisation when this made it the
    organisation's current card (a new card, newer than any other)."""
    organisation_id = session.scalar(
        select(Organisation.id).where(Organisation.stripe_customer_id == card.customer_reference))
    if organisation_id is None:
        return None
    row = PaymentCard(organisation_id=organisation_id,
                      provider_reference=card.payment_method_reference, brand=card.brand,
                      last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year,
                      set_up_at=card.set_up_at)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None  # already known: the other event about this setup got here first
    if _current_card(session, organisation_id).id != row.id:
        return None  # an older setup reported late; the newer card stays in use
    audit.record(session, SYSTEM, "card.saved", "organisation", organisation_id,
                 organisation_id=organisation_id, brand=card.brand, last4=card.last4)
    notifications.notify_admins(
        session, organisation_id, "card_saved",
        f"The company card ({card.brand.title()} ending {card.last4}) is saved. Sessions your "
        "people book under your authorisations will be charged to it.")
    return organisation_id


# --- charging --------------------------------------------------------------------------------


def charge_booking(db: Database, gateway: PaymentGateway, booking_id: int) -> ChargeView | None:
    """Charge the organisation for a booking it pays for (call after the confirmation has
    committed). Safe to call any number of times, concurrently: one charge at most."""
    attempt = _claim_first_attempt(db, booking_id)
    if attempt is not None:
        _send(db, gateway, attempt)
    return charge_for_booking(db, booking_id)


def on_booking_cancelled(db: Database, gateway: PaymentGateway,
                         booking_id: int) -> ChargeView | None:
    """After a cancellation (or decline, waiver, reschedule) committed: a late cancellation is
    charged (voucher used); a released session that was already charged is refunded."""
    return settle_booking(db, gateway, booking_id)


def settle_booking(db: Database, gateway: PaymentGateway, booking_id: int) -> ChargeView | None:
    """Bring the booking's charge in line with the booking: charged when the organisation owes
    the session, refunded when it no longer does."""
    with db.reader() as session:
        booking = session.get(Booking, booking_id)
        if booking is None:
            raise NotFound("No such booking.")
        owed = _owed(session, booking)
        charge = _charge_row(session, booking_id)
    if owed and charge is None:
        return charge_booking(db, gateway, booking_id)
    if not owed and charge is not None and charge.status is ChargeStatus.SUCCEEDED:
        try:
            return refund_charge(db, gateway, charge.id)
        except GatewayUnavailable as error:
            log.warning("refund of charge %s failed for now: %s", charge.id, error)
    return charge_for_booking(db, booking_id)


def charge_for_booking(db: Database, booking_id: int) -> ChargeView | None:
    with db.reader() as session:
        charge = _charge_row(session, booking_id)
        return None if charge is None else _view(charge)


def refund_charge(db: Database, gateway: PaymentGateway, charge_id: int) -> ChargeView:
    """Give a taken payment back in full (the same refund at most once at the provider)."""
    with db.reader() as session:
        charge = session.get(Charge, charge_id)
        if charge is None:
            raise NotFound("No such charge.")
        if charge.status is ChargeStatus.REFUNDED:
            return _view(charge)
        if charge.status is not ChargeStatus.SUCCEEDED or not charge.provider_reference:
            raise Conflict("Only a payment that was taken can be refunded.")
    result = gateway.refund(
        payment_reference=charge.provider_reference,
        idempotency_key=f"booking-{charge.booking_id}-refund-{charge.attempt}",
        metadata=_metadata(charge.booking_id, charge.organisation_id, charge.authorisation_id,
                           charge.attempt))
    if not result.succeeded:
        raise PaymentsUnavailable("The refund did not go through yet; it will be retried.")
    with db.transaction() as session:
        _set_status(session, charge.id, charge.attempt, ChargeStatus.REFUNDED)
        session.execute(update(Charge)
                        .where(Charge.id == charge.id, Charge.refund_reference.is_(None))
                        .values(refund_reference=result.reference)
                        .execution_options(synchronize_session=False))
        return _view(session.get(Charge, charge.id, populate_existing=True))


def retry_failed_charges(db: Database, gateway: PaymentGateway,
                         organisation_id: int) -> list[ChargeView]:
    """After the card changed: charge again what failed, each under a new attempt (and so a new
    idempotency key: the old one would only replay the decline)."""
    attempts = []
    with db.transaction() as session:
        card = _current_card(session, organisation_id)
        customer = session.scalar(select(Organisation.stripe_customer_id)
                                  .where(Organisation.id == organisation_id))
        if card is None or customer is None:
            return []
        failed = session.scalars(
            select(Charge).where(Charge.organisation_id == organisation_id,
                                 Charge.status.in_(RETRYABLE)).order_by(Charge.id)
        ).all()
        for charge in failed:
            if not _owed(session, session.get(Booking, charge.booking_id)):
                continue
            attempt = _claim_next_attempt(session, charge, customer, card)
            if attempt is not None:
                attempts.append(attempt)
    for attempt in attempts:
        _send(db, gateway, attempt)
    with db.reader() as session:
        return [_view(session.get(Charge, attempt.charge_id)) for attempt in attempts]


def resume_pending_charges(db: Database, gateway: PaymentGateway, *,
                           older_than: timedelta = timedelta(minutes=10)) -> int:
    """Charges whose outcome never came back (provider unreachable, process stopped): ask
    again with the same key, which the provider answers without charging twice."""
    cutoff = utcnow() - older_than
    with db.reader() as session:
        stuck = session.scalars(
            select(Charge).where(Charge.status == ChargeStatus.PENDING,
                                 Charge.updated_at < cutoff).order_by(Charge.id)
        ).all()
        attempts = [_attempt_for(session, charge, charge.attempt) for charge in stuck]
    resumed = [attempt for attempt in attempts if attempt is not None]
    for attempt in resumed:
        _send(db, gateway, attempt)
        settle_booking(db, gateway, attempt.booking_id)  # refund if no longer owed
    return len(resumed)


def _claim_first_attempt(db: Database, booking_id: int) -> _Attempt | None:
    with db.transaction() as session:
        booking = session.get(Booking, booking_id)
        if booking is None or not _owed(session, booking) or _charge_row(session, booking_id):
            return None
        voucher = session.scalar(select(Voucher).where(Voucher.booking_id == booking_id))
        grant = session.get(Grant, voucher.grant_id)
        organisation_id = session.scalar(select(Member.organisation_id)
                                         .where(Member.id == booking.member_id))
        therapist = session.get(Therapist, booking.therapist_id)
        charge = Charge(booking_id=booking_id, organisation_id=organisation_id,
                        authorisation_id=grant.authorisation_id,
                        amount_minor=therapist.fee_minor, currency=therapist.currency.upper(),
                        status=ChargeStatus.PENDING, attempt=1,
                        idempotency_key=charge_key(booking_id, 1))
        try:
            with session.begin_nested():
                session.add(charge)
        except IntegrityError:
            return None  # a concurrent request inserted it: that one charges
        attempt = _attempt_for(session, charge, 1)
        if attempt is None:
            _set_status(session, charge.id, 1, ChargeStatus.FAILED, failure_code=NO_CARD)
        return attempt


def _attempt_for(session: Session, charge: Charge, attempt: int) -> _Attempt | None:
    card = _current_card(session, charge.organisation_id)
    customer = session.scalar(select(Organisation.stripe_customer_id)
                              .where(Organisation.id == charge.organisation_id))
    if card is None or customer is None:
        return None
    return _Attempt(charge.id, charge.booking_id, attempt,
                    _request(charge, attempt, customer, card))


def _claim_next_attempt(session: Session, charge: Charge, customer: str,
                        card: PaymentCard) -> _Attempt | None:
    """Move a failed charge to its next attempt; only one concurrent retry can."""
    following = charge.attempt + 1
    claimed = session.execute(
        update(Charge)
        .where(Charge.id == charge.id, Charge.attempt == charge.attempt,
               Charge.status.in_(RETRYABLE))
        .values(attempt=following, status=ChargeStatus.PENDING, failure_code=None,
                provider_reference=None, idempotency_key=charge_key(charge.booking_id, following))
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return None
    audit.record(session, SYSTEM, "charge.retried", "charge", charge.id,
                 organisation_id=charge.organisation_id, attempt=following)
    return _Attempt(charge.id, charge.booking_id, following,
                    _request(charge, following, customer, card))


def _request(charge: Charge, attempt: int, customer: str, card: PaymentCard) -> ChargeRequest:
    return ChargeRequest(
        customer_reference=customer, payment_method_reference=card.provider_reference,
        amount_minor=charge.amount_minor, currency=charge.currency,
        idempotency_key=charge_key(charge.booking_id, attempt),
        metadata=_metadata(charge.booking_id, charge.organisation_id, charge.authorisation_id,
                           attempt))


def _metadata(booking_id: int, organisation_id: int, authorisation_id: int,
              attempt: int) -> dict[str, str]:
    return {"booking_id": str(booking_id), "organisation_id": str(organisation_id),
            "authorisation_id": str(authorisation_id), "charge_attempt": str(attempt)}


def _send(db: Database, gateway: PaymentGateway, attempt: _Attempt) -> None:
    """Call the provider (no transaction open), then record what it said."""
    try:
        result = gateway.charge(attempt.request)
    except GatewayUnavailable as error:
        # Outcome unknown: the charge stays pending; resume_pending_charges asks again.
        log.warning("charge %s attempt %s: provider unavailable: %s", attempt.charge_id,
                    attempt.attempt, error)
        return
    with db.transaction() as session:
        _record(session, attempt.charge_id, attempt.attempt, result)


def _record(session: Session, charge_id: int, attempt: int, result: ChargeResult) -> None:
    status = _STATUS_BY_OUTCOME[result.outcome]
    _set_status(session, charge_id, attempt, status, reference=result.reference,
                failure_code=result.failure_code)


def _set_status(session: Session, charge_id: int, attempt: int, status: ChargeStatus, *,
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
    moved = session.execute(
        update(Charge)
        .where(Charge.id == charge_id, Charge.attempt == attempt, Charge.status.in_(behind))
        .values(status=status, failure_code=failure_code if status in RETRYABLE else None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if moved:
        charge = session.get(Charge, charge_id, populate_existing=True)
        audit.record(session, SYSTEM, f"charge.{status.value}", "charge", charge_id,
                     organisation_id=charge.organisation_id, attempt=attempt,
                     failure_code=charge.failure_code)
        if status in RETRYABLE:
            notifications.notify_admins(session, charge.organisation_id, "charge_failed",
                                        _failure_text(charge.failure_code))
    return moved


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


def _owed(session: Session, booking: Booking) -> bool:
    """Whether the organisation pays for this booking now: confirmed or held, or cancelled late
    (voucher used). Declined and released sessions are never charged."""
    voucher = session.scalar(select(Voucher).where(Voucher.booking_id == booking.id))
    if voucher is None or voucher.status is VoucherStatus.RELEASED:
        return False
    if booking.status in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED):
        return True
    return booking.status is BookingStatus.CANCELLED and voucher.status is VoucherStatus.USED


def _charge_row(session: Session, booking_id: int) -> Charge | None:
    return session.scalar(select(Charge).where(Charge.booking_id == booking_id)
                          .execution_options(populate_existing=True))


def _view(charge: Charge) -> ChargeView:
    return ChargeView(charge.id, charge.booking_id, charge.authorisation_id, charge.amount_minor,
                      charge.currency, charge.status, charge.attempt, charge.failure_code)


# --- webhooks --------------------------------------------------------------------------------


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
            retry_for = _save_card(session, card)
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
        charge = _charge_row(session, int(booking_id))
        return None if charge is None else (charge, int(attempt))
    if payment_intent:
        charge = session.scalar(select(Charge).where(Charge.provider_reference == payment_intent)
                                .execution_options(populate_existing=True))
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
    _set_status(session, charge.id, attempt, status, reference=intent.get("id"),
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
    _set_status(session, charge.id, attempt, ChargeStatus.REFUNDED, reference=intent)
    return True

