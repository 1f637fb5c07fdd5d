"""The serving process runs the reconciliation sweep: it re-asks the provider about charges left
pending."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from backend.adapters.offline_gateway import OfflineGateway
from backend.adapters.payments import ChargeRequest, ChargeResult, PaymentOutcome
from backend.api.app import create_app
from backend.api.background import pending_charge_sweeper
from backend.domain.enums import ChargeStatus
from backend.models import Charge
from backend.models.base import utcnow
from backend.services.payments import charges
from backend.settings import Settings
from tests.backend.stripe_standins import paying_organisation


class UnreachableThenWorkingGateway(OfflineGateway):
    """The first answer never comes back (the charge stays pending); later ones do."""

    reachable = False

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if not self.reachable:
            return ChargeResult(PaymentOutcome.PROCESSING, None)
        return super().charge(request)


async def test_the_sweeper_settles_a_charge_left_pending(aiohttp_client, db):
    gateway = UnreachableThenWorkingGateway(public_base_url="http://backend.test")
    org = paying_organisation(db, gateway)
    org.save_offline_card()
    booking_id = org.confirmed_booking()
    assert charges.charge_booking(db, gateway, booking_id).status is ChargeStatus.PENDING
    with db.transaction() as session:  # as if the answer had been lost half an hour ago
        session.execute(update(Charge).values(updated_at=utcnow() - timedelta(minutes=30)))
    gateway.reachable = True

    app = create_app(db, Settings(), gateway=gateway)
    app.cleanup_ctx.append(pending_charge_sweeper(0.05))
    await aiohttp_client(app)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if charges.charge_for_booking(db, booking_id).status is ChargeStatus.SUCCEEDED:
            break
    charge = charges.charge_for_booking(db, booking_id)
    assert charge.status is ChargeStatus.SUCCEEDED and charge.attempt == 1
