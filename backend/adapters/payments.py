"""The payment gateway the services charge through: Stripe, or an offline stand-in.

Card numbers never reach this interface: cards are entered on the provider's hosted page and
only their provider reference, brand, last four digits and expiry come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol

from backend.settings import Settings


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


class PaymentGateway(Protocol):
    @property
    def is_offline(self) -> bool: ...

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


def build_gateway(settings: Settings) -> PaymentGateway:
    """Stripe when a key is configured, the offline gateway otherwise."""
    if settings.stripe_api_key:
        from backend.adapters.stripe_gateway import StripeGateway

        return StripeGateway(settings.stripe_api_key, public_base_url=settings.public_base_url,
                             api_base=settings.stripe_api_base or None)
    from backend.adapters.offline_gateway import OfflineGateway

    return OfflineGateway(public_base_url=settings.public_base_url)
