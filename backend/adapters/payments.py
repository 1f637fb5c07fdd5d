"""The payment port: the gateway the services charge through (Stripe, or an offline stand-in),
what they send it and get back, and the provider-neutral events its webhooks turn into. It
knows no provider; `backend.adapters.gateways` builds the one the settings ask for.

Card numbers never reach this interface: cards are entered on the provider's hosted page and
only their provider reference, brand, last four digits and expiry come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol


class GatewayUnavailable(Exception):
    """The provider could not be reached or had a fault: the outcome is unknown, so the same
    request (same idempotency key) may be sent again later."""


class PaymentOutcome(str, Enum):
    SUCCEEDED = "succeeded"
    PROCESSING = "processing"  # the provider settles it later and says so by webhook
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"  # the card holder must authenticate (e.g. 3-D Secure)


@dataclass(frozen=True)
class CardSetupLink:
    """A provider-hosted page where an admin enters the card."""

    reference: str
    url: str


@dataclass(frozen=True)
class SavedCard:
    customer_reference: str
    payment_method_reference: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    set_up_at: datetime


@dataclass(frozen=True)
class ChargeRequest:
    customer_reference: str
    payment_method_reference: str
    amount_minor: int
    currency: str  # ISO 4217, any case; sent lower-case to Stripe
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeResult:
    outcome: PaymentOutcome
    reference: str | None  # the PaymentIntent, when the provider created one
    failure_code: str | None = None


@dataclass(frozen=True)
class RefundResult:
    reference: str | None  # None when the provider had refunded it already
    succeeded: bool


@dataclass(frozen=True)
class ChargeReference:
    """How an event names one of our charges: by the metadata we sent with the payment (its
    booking and attempt) when it carries it, else by the provider's payment it is about."""

    booking_id: int | None = None
    attempt: int | None = None
    payment_reference: str | None = None  # the PaymentIntent


@dataclass(frozen=True)
class ProviderEvent:
    """Something the provider tells us. `event_id` makes applying it idempotent; `kind` is the
    provider's own name for it, kept in the log of events. An event of this base class itself
    is one we have nothing to do with (it is recorded and ignored)."""

    event_id: str
    kind: str


@dataclass(frozen=True)
class CardSetupCompleted(ProviderEvent):
    """An admin finished the hosted card page; `saved_card(setup_reference)` tells the card."""

    setup_reference: str


@dataclass(frozen=True)
class PaymentSucceeded(ProviderEvent):
    charge: ChargeReference


@dataclass(frozen=True)
class PaymentFailed(ProviderEvent):
    charge: ChargeReference
    failure_code: str
    needs_authentication: bool  # the card holder must authenticate (e.g. 3-D Secure)


@dataclass(frozen=True)
class PaymentRefunded(ProviderEvent):
    """The payment was refunded in full (partial refunds are not ours: we refund in full)."""

    charge: ChargeReference


class PaymentGateway(Protocol):
    def create_customer(self, *, organisation_id: int, name: str) -> str:
        """A new customer for the organisation (idempotent per organisation)."""

    def create_card_setup(self, *, customer_reference: str,
                          organisation_id: int) -> CardSetupLink:
        """A hosted page where an admin saves a card for later off-session charges."""

    def saved_card(self, setup_reference: str) -> SavedCard | None:
        """The card a completed setup saved (by SetupIntent), or None if it is not complete."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """One off-session payment. Declines are results; GatewayUnavailable is raised when the
        outcome is unknown."""

    def refund(self, *, payment_reference: str, idempotency_key: str,
               metadata: dict[str, str]) -> RefundResult:
        """Refund a payment in full."""

    def find_charge(self, *, customer_reference: str, booking_id: int,
                    attempt: int) -> ChargeResult | None:
        """The customer's payment the provider holds for a booking's charge attempt, found by
        the metadata it was sent with; None when the provider never received it.
        GatewayUnavailable when it can't tell."""

