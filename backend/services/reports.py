"""Spend reports for admins, from the backend's own ledger of charges.

Counts and sums only; a figure about fewer people than the policy's minimum group is withheld
(backend/domain/confidentiality.py), as in the authorisation usage figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from backend.db import Database
from backend.domain.confidentiality import disclosed, withheld_reason
from backend.domain.enums import ChargeStatus
from backend.models import Authorisation, Booking, Charge
from backend.services.actors import Actor, require_admin
from backend.services.policy import DEFAULT_POLICY, Policy


@dataclass(frozen=True)
class Figures:
    """Per currency: sessions paid and their sum, refunds, and payments still outstanding."""

    currency: str
    sessions_charged: int
    spend_minor: int
    sessions_refunded: int
    refunded_minor: int
    sessions_unpaid: int
    unpaid_minor: int


@dataclass(frozen=True)
class AuthorisationSpend:
    authorisation_id: int
    name: str
    figures: list[Figures] | None  # None when withheld
    withheld_reason: str | None


@dataclass(frozen=True)
class MonthSpend:
    month: str  # "2025-03", by when the charge was made (UTC)
    figures: list[Figures] | None
    withheld_reason: str | None


@dataclass(frozen=True)
class SpendReport:
    by_authorisation: list[AuthorisationSpend]
    by_month: list[MonthSpend]


def spend(db: Database, actor: Actor, *, policy: Policy = DEFAULT_POLICY) -> SpendReport:
    organisation_id = require_admin(actor)
    minimum = policy.reporting_min_group
    with db.reader() as session:
        offers = session.execute(
            select(Authorisation.id, Authorisation.name, Authorisation.grants_count)
            .where(Authorisation.organisation_id == organisation_id)
            .order_by(Authorisation.id)
        ).all()
        charges = session.execute(
            select(Charge.authorisation_id, Charge.created_at, Charge.status, Charge.currency,
                   Charge.amount_minor, Booking.member_id)
            .join(Booking, Booking.id == Charge.booking_id)
            .where(Charge.organisation_id == organisation_id)
        ).all()
    by_offer: dict[int, list] = defaultdict(list)
    by_month: dict[str, list] = defaultdict(list)
    for row in charges:
        by_offer[row.authorisation_id].append(row)
        by_month[f"{row.created_at:%Y-%m}"].append(row)
    withheld = withheld_reason(minimum)
    return SpendReport(
        by_authorisation=[
            # Like the usage figures: by places taken on the authorisation.
            AuthorisationSpend(offer_id, name, _figures(by_offer[offer_id]), None)
            if disclosed(places, minimum) else AuthorisationSpend(offer_id, name, None, withheld)
            for offer_id, name, places in offers
        ],
        by_month=[
            # A month's figures are about the people charged that month.
            MonthSpend(month, _figures(rows), None)
            if disclosed(len({row.member_id for row in rows}), minimum)
            else MonthSpend(month, None, withheld)
            for month, rows in sorted(by_month.items())
        ],
    )


def _figures(rows: list) -> list[Figures]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for row in rows:
        slot = {ChargeStatus.SUCCEEDED: 0, ChargeStatus.REFUNDED: 2}.get(row.status, 4)
        total = totals[row.currency]
        total[slot] += 1
        total[slot + 1] += row.amount_minor
    return [Figures(currency, *values) for currency, values in sorted(totals.items())]
