"""Fixtures and helpers for tests of the real `stripe` library against the stand-in
(localstripe behind the front of stripe_standins): import them into a test module.

    from tests.backend.stripe_fixtures import client, front, localstripe, stripe_org  # noqa: F401

(tests/backend/conftest.py and tests/faults/conftest.py do).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe
from sqlalchemy import select

from backend.adapters.stripe_gateway import StripeGateway
from backend.models import Organisation, PaymentCard
from backend.services.payments import cards
from tests.backend.stripe_standins import (
    API_KEY,
    LocalStripe,
    PayingOrganisation,
    StripeFront,
    apply_stripe_event,
    paying_organisation,
)

STRIPE_TIMEOUT_SECONDS = 2  # a held request times out quickly


@pytest.fixture(scope="module")
def localstripe() -> Iterator[LocalStripe]:
    local = LocalStripe()
    yield local
    local.stop()


@pytest.fixture
def front(localstripe) -> Iterator[StripeFront]:
    """A fresh front per test: its idempotency keys (like Stripe's) are per account, and the
    two databases of a parametrised test would otherwise share booking ids, hence keys."""
    standin = StripeFront(localstripe.url)
    yield standin
    standin.stop()


@pytest.fixture
def client(front) -> stripe.StripeClient:
    """Our own view of what Stripe holds, to check what the backend did there."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": front.url})


@pytest.fixture
def stripe_org(db, front) -> PayingOrganisation:
    """A paying organisation whose gateway is the real Stripe one, talking to the front."""
    gateway = StripeGateway(API_KEY, public_base_url="http://backend.test", api_base=front.url,
                            timeout_seconds=STRIPE_TIMEOUT_SECONDS)
    return paying_organisation(db, gateway)


def save_card(org: PayingOrganisation, front: StripeFront,
              payment_method: str = "pm_card_visa") -> str:
    """The admin opens Stripe's page and enters a test card; Stripe's webhook arrives.
    Returns the saved PaymentMethod's id."""
    setup = cards.start_card_setup(org.db, org.gateway, org.admin)
    session_id = front.latest_checkout_session()
    assert setup.url == front.checkout_sessions[session_id]["url"]
    completed = front.complete_checkout(session_id, payment_method)
    assert apply_stripe_event(org.db, org.gateway, completed).outcome == "applied"
    with org.db.reader() as session:
        return session.scalar(select(PaymentCard.provider_reference)
                              .where(PaymentCard.organisation_id == org.organisation_id)
                              .order_by(PaymentCard.id.desc()).limit(1))


def intents_for(client: stripe.StripeClient, org: PayingOrganisation, booking_id: object) -> list:
    """The PaymentIntents at Stripe for one of this organisation's bookings."""
    with org.db.reader() as session:
        customer = session.get(Organisation, org.organisation_id).stripe_customer_id
    return [intent for intent in client.v1.payment_intents.list(params={"limit": 100})
            .auto_paging_iter()
            if intent.customer == customer
            and intent.metadata.to_dict().get("booking_id") == str(booking_id)]
