"""The payment gateway on Stripe: Checkout in setup mode for cards, off-session PaymentIntents
for charges, refunds. Runs unchanged against Stripe's test mode or a local stand-in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, ParamSpec, TypeVar

import stripe
from stripe.params import PaymentIntentCreateParams
from stripe.params.checkout import SessionCreateParams

from backend.adapters.payments import (
    CardSetupLink,
    ChargeRequest,
    ChargeResult,
    GatewayUnavailable,
    PaymentOutcome,
    RefundResult,
    SavedCard,
)

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("backend.payments.stripe")

MAX_NETWORK_RETRIES = 2  # safe: every write carries an idempotency key
_OUTCOME_BY_STATUS = {
    "succeeded": PaymentOutcome.SUCCEEDED,
    "processing": PaymentOutcome.PROCESSING,
    "requires_capture": PaymentOutcome.PROCESSING,
    "requires_action": PaymentOutcome.REQUIRES_ACTION,
    "requires_confirmation": PaymentOutcome.REQUIRES_ACTION,
}
# Stripe's code for an off-session payment whose bank wants the card holder to authenticate.
AUTHENTICATION_REQUIRED = "authentication_required"


def card_setup_return_url(public_base_url: str, result: str) -> str:
    return f"{public_base_url.rstrip('/')}/card-setup/finished?result={result}"


def _reference(value: Any) -> str | None:
    """An id, whether Stripe sent the object expanded or only its id."""
    if value is None or isinstance(value, str):
        return value
    return value["id"]


def _intent_result(intent: Any) -> ChargeResult:
    outcome = _OUTCOME_BY_STATUS.get(intent.status, PaymentOutcome.DECLINED)
    failure = None
    if outcome is PaymentOutcome.DECLINED:
        error = getattr(intent, "last_payment_error", None)
        failure = (getattr(error, "decline_code", None) or getattr(error, "code", None)
                   if error else None) or intent.status
    return ChargeResult(outcome, intent.id, failure)


class StripeGateway:
    def __init__(self, api_key: str, *, public_base_url: str, api_base: str | None = None,
                 timeout_seconds: float = 15):
        # Every call is bounded (Stripe's own default waits 80 s): a request that settles a
        # payment must answer before its caller gives up (contracts/backend_client.py).
        self._client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base} if api_base else None,
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=stripe.new_default_http_client(timeout=timeout_seconds))
        self._public_base_url = public_base_url

    def create_customer(self, *, organisation_id: int, name: str) -> str:
        customer = self._call(
            self._client.v1.customers.create,
            params={"name": name, "metadata": {"organisation_id": str(organisation_id)}},
            options={"idempotency_key": f"organisation-{organisation_id}-customer"},
        )
        return customer.id

    def create_card_setup(self, *, customer_reference: str,
                          organisation_id: int) -> CardSetupLink:
        metadata = {"organisation_id": str(organisation_id)}
        # Since API version 2026-09-30 Stripe refuses `payment_method_types` (400); the allowed
        # types filter what the dashboard enables.
        params: SessionCreateParams = {
            "mode": "setup",
            "customer": customer_reference,
            "allowed_payment_method_types": ["card"],
            "success_url": card_setup_return_url(self._public_base_url, "saved"),
            "cancel_url": card_setup_return_url(self._public_base_url, "cancelled"),
            "metadata": metadata,
            "setup_intent_data": {"metadata": metadata},
        }
        session = self._call(self._client.v1.checkout.sessions.create, params=params)
        if session.url is None:  # only embedded sessions have none; this one is hosted
            raise GatewayUnavailable(f"Stripe gave no page for checkout session {session.id}")
        return CardSetupLink(reference=session.id, url=session.url)

    def saved_card(self, setup_reference: str) -> SavedCard | None:
        intent = self._call(self._client.v1.setup_intents.retrieve, setup_reference,
                            params={"expand": ["payment_method"]})
        if intent.status != "succeeded" or intent.payment_method is None:
            return None
        method = intent.payment_method
        if isinstance(method, str):
            method = self._call(self._client.v1.payment_methods.retrieve, method)
        card = method.card
        customer = _reference(intent.customer) or _reference(method.customer)
        if card is None or customer is None:  # setups are for cards of the organisation's customer
            log.warning("setup %s saved no card of a customer (%s); ignored", setup_reference,
                        method.type)
            return None
        return SavedCard(
            customer_reference=customer,
            payment_method_reference=method.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            set_up_at=datetime.fromtimestamp(intent.created, timezone.utc),
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        params: PaymentIntentCreateParams = {
            "amount": request.amount_minor,
            "currency": request.currency.lower(),
            "customer": request.customer_reference,
            "payment_method": request.payment_method_reference,
            "allowed_payment_method_types": ["card"],
            "confirm": True,
            "off_session": True,
            "metadata": request.metadata,
        }
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": request.idempotency_key})
        except stripe.CardError as error:
            return self._card_error_result(error)
        except stripe.InvalidRequestError as error:
            # Permanent for this card (e.g. it was removed): a new card is needed.
            log.warning("payment refused by Stripe: %s", error.user_message or error)
            return ChargeResult(PaymentOutcome.DECLINED, None, error.code or "invalid_request")
        except stripe.StripeError as error:
            raise GatewayUnavailable(str(error)) from error
        return _intent_result(intent)

    def find_charge(self, *, customer_reference: str, booking_id: int,
                    attempt: int) -> ChargeResult | None:
        """By Stripe's search of PaymentIntents on the metadata every charge carries."""
        customer = customer_reference.replace("'", "")
        query = (f"customer:'{customer}' AND metadata['booking_id']:'{int(booking_id)}' AND "
                 f"metadata['charge_attempt']:'{int(attempt)}'")
        found = self._call(self._client.v1.payment_intents.search,
                           params={"query": query, "limit": 10})
        intents = list(found.data)
        if not intents:
            return None
        # Our one key per attempt makes one intent; should there be more, a taken one counts.
        taken = [intent for intent in intents if intent.status == "succeeded"]
        return _intent_result(taken[0] if taken else intents[0])

    @staticmethod
    def _card_error_result(error: stripe.CardError) -> ChargeResult:
        details = error.error
        intent = getattr(details, "payment_intent", None) if details else None
        decline_code = getattr(details, "decline_code", None) if details else None
        code = error.code or decline_code or "card_declined"
        needs_authentication = AUTHENTICATION_REQUIRED in (code, decline_code)
        outcome = (PaymentOutcome.REQUIRES_ACTION if needs_authentication
                   else PaymentOutcome.DECLINED)
        return ChargeResult(outcome, _reference(intent), decline_code or code)

    def refund(self, *, payment_reference: str, idempotency_key: str,
               metadata: dict[str, str]) -> RefundResult:
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": payment_reference, "metadata": metadata},
                options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as error:
            if error.code == "charge_already_refunded":
                return RefundResult(reference=None, succeeded=True)
            raise GatewayUnavailable(str(error)) from error
        except stripe.StripeError as error:
            raise GatewayUnavailable(str(error)) from error
        return RefundResult(reference=refund.id, succeeded=refund.status in ("succeeded",
                                                                             "pending"))

    @staticmethod
    def _call(method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except stripe.StripeError as error:
            raise GatewayUnavailable(str(error)) from error
