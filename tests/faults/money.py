"""What the provider holds for a booking, and the check that the sweep converged: every booking
charged exactly what it owes, once."""

from __future__ import annotations

import stripe

from backend.domain.enums import ChargeStatus
from backend.models import Booking
from backend.services.payments import charges
from tests.backend.stripe_fixtures import intents_for
from tests.backend.stripe_standins import PayingOrganisation


def payments_and_refunds(client: stripe.StripeClient, org: PayingOrganisation,
                         booking_id: int) -> tuple[int, int]:
    """How many payments the provider took for the booking, and how many it refunded."""
    taken = [intent for intent in intents_for(client, org, booking_id)
             if intent.status == "succeeded"]
    paid = {intent.id for intent in taken}
    refunds = [refund for refund in client.v1.refunds.list(params={"limit": 100})
               .auto_paging_iter() if refund.payment_intent in paid]
    return len(taken), len(refunds)


def assert_converged(client: stripe.StripeClient, org: PayingOrganisation,
                     *booking_ids: int) -> None:
    """Owed: paid once, never refunded, the ledger says succeeded. Not owed: nothing kept (no
    payment, or one payment and its one refund), the ledger agrees."""
    for booking_id in booking_ids:
        with org.db.reader() as session:
            owed = charges.owed(session, session.get(Booking, booking_id))
        charge = charges.charge_for_booking(org.db, booking_id)
        paid, refunded = payments_and_refunds(client, org, booking_id)
        if owed:
            assert (paid, refunded) == (1, 0), f"booking {booking_id}"
            assert charge is not None and charge.status is ChargeStatus.SUCCEEDED
        else:
            assert (paid, refunded) in ((0, 0), (1, 1)), f"booking {booking_id}"
            settled = (ChargeStatus.REFUNDED,) if paid else (ChargeStatus.FAILED,)
            assert charge is None or charge.status in settled, f"booking {booking_id}"
