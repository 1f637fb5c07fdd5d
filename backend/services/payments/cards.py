"""The company card: what is on file, the link to the provider's hosted page where an admin adds
one, and recording the card the provider reports.

Cards are entered on the provider's page; the backend learns only the reference, brand, last
four digits and expiry, and only from the provider (an event), never from a chat.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.payments import GatewayUnavailable, PaymentGateway, SavedCard
from backend.db import Database
from backend.domain.errors import DomainError
from backend.models import Organisation, PaymentCard
from backend.services import audit, notifications
from backend.services.actors import SYSTEM, Actor, require_admin
from contracts.answers import Card, CardSetup

log = logging.getLogger("backend.payments")


class PaymentsUnavailable(DomainError):
    code = "payments_unavailable"


def card_on_file(db: Database, actor: Actor) -> Card | None:
    organisation_id = require_admin(actor)
    with db.reader() as session:
        card = current_card(session, organisation_id)
        return None if card is None else Card(card.brand, card.last4, card.exp_month,
                                              card.exp_year)


def start_card_setup(db: Database, gateway: PaymentGateway, actor: Actor) -> CardSetup:
    """A link to the provider's hosted page where an admin adds or replaces the company card.
    The card counts as saved only when the provider says so (an event)."""
    organisation_id = require_admin(actor)
    with db.reader() as session:
        organisation = session.get_one(Organisation, organisation_id)
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
    return CardSetup(link.url, "Open this secure page to add the company card. Card "
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


def current_card(session: Session, organisation_id: int) -> PaymentCard | None:
    """The card charged: the one set up most recently at the provider."""
    return session.scalar(
        select(PaymentCard)
        .where(PaymentCard.organisation_id == organisation_id)
        .order_by(PaymentCard.set_up_at.desc(), PaymentCard.id.desc())
        .limit(1)
    )


def customer_of(session: Session, organisation_id: int) -> str | None:
    return session.scalar(select(Organisation.stripe_customer_id)
                          .where(Organisation.id == organisation_id))


def save_card(session: Session, card: SavedCard) -> int | None:
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
    current = current_card(session, organisation_id)
    if current is None or current.id != row.id:
        return None  # an older setup reported late; the newer card stays in use
    audit.record(session, SYSTEM, "card.saved", "organisation", organisation_id,
                 organisation_id=organisation_id, brand=card.brand, last4=card.last4)
    notifications.notify_admins(
        session, organisation_id, "card_saved",
        f"The company card ({card.brand.title()} ending {card.last4}) is saved. Sessions your "
        "people book under your authorisations will be charged to it.")
    return organisation_id
