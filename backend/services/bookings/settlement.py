"""A booking change and what it means for the organisation's payment, as one use case.

Inside the change's transaction the settle rule is applied (`charges.claim_settlement`): a charge
the organisation now owes gets its pending row, a payment it no longer owes is marked for refund.
After the commit the provider is called. The change stands whatever the provider says: a payment
problem reaches the admins as a notification, never as an error to the person who changed the
booking, and a charge left pending is asked again by the sweep.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from backend.adapters.payments import PaymentGateway
from backend.db import Database
from backend.services.payments import charges

log = logging.getLogger(__name__)


def claim(session: Session, booking_id: int,
          gateway: PaymentGateway | None) -> charges.Settlement | None:
    """In the booking change's transaction; nothing to claim when no provider is wired (the
    service used on its own, as the booking tests do)."""
    return None if gateway is None else charges.claim_settlement(session, booking_id)


def complete(db: Database, gateway: PaymentGateway | None,
             settlement: charges.Settlement | None) -> None:
    """After the commit, with no transaction open."""
    if gateway is None or settlement is None:
        return
    try:
        charges.complete_settlement(db, gateway, settlement)
    except Exception:
        log.exception("settling the payment of charge %s failed", settlement.charge_id)
