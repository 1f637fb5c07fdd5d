"""Stripe's webhook events, read where they arrive: the signature checked by the `stripe` library
(with the configured tolerance), then the event turned into a provider-neutral one of
`backend.adapters.payments`. Nothing past this module reads Stripe's event format.

The events are read as Stripe sends them now, whatever order they come in: a PaymentIntent
event says how the payment stands by the intent's status, not by the event's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import stripe
from pydantic import BaseModel, ConfigDict, ValidationError

from backend.adapters.payments import (
    CardSetupCompleted,
    ChargeReference,
    PaymentFailed,
    PaymentRefunded,
    PaymentSucceeded,
    ProviderEvent,
)
from backend.adapters.stripe_gateway import AUTHENTICATION_REQUIRED
from backend.domain.errors import InvalidInput

SIGNATURE_HEADER = "Stripe-Signature"
_FAILED_STATES = ("requires_payment_method", "canceled")
_ID_NUMBER = re.compile(r"[0-9]{1,18}")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)  # an id is a string, never a number made one


class _EventData(_Strict):
    object: dict[str, Any]


class _Envelope(_Strict):
    """What every Stripe event has; the rest of the object is read by `provider_event`."""

    id: str
    type: str
    data: _EventData


def read_event(payload: bytes, signature: str | None, *, secret: str,
               tolerance_seconds: int) -> ProviderEvent:
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
        event = _Envelope.model_validate_json(payload)
    except ValidationError:
        raise InvalidInput("The event is not a Stripe event.") from None
    return provider_event(event.model_dump())


def provider_event(event: Mapping[str, Any]) -> ProviderEvent:
    """The provider-neutral form of a (verified, well-formed) Stripe event."""
    event_id, kind, obj = event["id"], event["type"], event["data"]["object"]
    setup = _setup_reference(kind, obj)
    if setup is not None:
        return CardSetupCompleted(event_id, kind, setup)
    if kind.startswith("payment_intent."):
        return _payment_intent_event(event_id, kind, obj)
    if kind == "charge.refunded" and obj.get("refunded") is True:
        return PaymentRefunded(event_id, kind, _charge(obj, _id(obj.get("payment_intent"))))
    return ProviderEvent(event_id, kind)


def _setup_reference(kind: str, obj: Mapping[str, Any]) -> str | None:
    """The SetupIntent of a finished card setup: Checkout in setup mode, or the intent itself."""
    if kind == "checkout.session.completed" and obj.get("mode") == "setup":
        return _id(obj.get("setup_intent"))
    if kind == "setup_intent.succeeded":
        return _id(obj.get("id"))
    return None


def _payment_intent_event(event_id: str, kind: str, intent: Mapping[str, Any]) -> ProviderEvent:
    charge = _charge(intent, _id(intent.get("id")))
    state = intent.get("status")
    if state == "succeeded":
        return PaymentSucceeded(event_id, kind, charge)
    error = intent.get("last_payment_error")
    error = error if isinstance(error, Mapping) else {}
    code = error.get("decline_code") or error.get("code")
    needs_authentication = state == "requires_action" or code == AUTHENTICATION_REQUIRED
    if needs_authentication or state in _FAILED_STATES:
        return PaymentFailed(event_id, kind, charge, str(code or "card_declined"),
                             needs_authentication)
    return ProviderEvent(event_id, kind)  # processing: a later event settles it


def _charge(obj: Mapping[str, Any], payment_intent: str | None) -> ChargeReference:
    """Our charge, by the metadata we sent with the payment when the object carries it."""
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    booking, attempt = str(metadata.get("booking_id")), str(metadata.get("charge_attempt"))
    if _ID_NUMBER.fullmatch(booking) and _ID_NUMBER.fullmatch(attempt):
        return ChargeReference(int(booking), int(attempt), payment_intent)
    return ChargeReference(payment_reference=payment_intent)


def _id(value: Any) -> str | None:
    """An object's id, whether Stripe sent the object expanded or only its id."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None
