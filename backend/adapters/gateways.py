"""Builds the payment gateway the settings ask for: Stripe when a key is configured, the
offline gateway otherwise. The one module that knows both; the port knows neither."""

from __future__ import annotations

from backend.adapters.offline_gateway import OfflineGateway
from backend.adapters.payments import PaymentGateway
from backend.adapters.stripe_gateway import StripeGateway
from backend.settings import Settings


def build_gateway(settings: Settings) -> PaymentGateway:
    if settings.stripe_api_key:
        return StripeGateway(settings.stripe_api_key, public_base_url=settings.public_base_url,
                             api_base=settings.stripe_api_base or None,
                             timeout_seconds=settings.stripe_timeout_seconds)
    return OfflineGateway(public_base_url=settings.public_base_url)
