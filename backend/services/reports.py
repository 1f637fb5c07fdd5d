"""Spend reports for admins, and the released cells behind every usage or spend figure.

The figures are built from contributions dated when they happened (a booking made, a session
used, a payment taken or refunded, a payment still owed when its month ended) and shown only as
sums of released cells: months that have ended, each with at least the policy's minimum group of
people (backend/domain/confidentiality.py). Sessions used, payments and refunds are dated by the
audit log (`booking.completed`, a late `booking.cancelled`, `charge.succeeded`,
`charge.refunded`), written where the booking's or charge's state moves, so a later change
(a refund, a waiver) never rewrites an earlier month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.confidentiality import Cell, Contribution, month_of, released_cells
from backend.domain.confidentiality import withheld_reason as withheld_wording
from backend.models import AuditEvent, Authorisation, Booking, Charge, Grant, Voucher
from backend.models.base import utcnow
from backend.services.actors import Actor, require_admin
from backend.services.policy import DEFAULT_POLICY, Policy
from contracts.answers import AuthorisationSpend, Figures, MonthSpend, SpendReport

SESSIONS_BOOKED = "sessions_booked"
SESSIONS_USED = "sessions_used"
USAGE_FIGURES = (SESSIONS_BOOKED, SESSIONS_USED)
# The audit actions after which an organisation-paid session counts as used (a member's
# cancellation only when it was late).
_USED_BY = ("booking.completed", "booking.cancelled")
CHARGED, REFUNDED, UNPAID = "charged", "refunded", "unpaid"  # money figures, per currency


def spend(db: Database, actor: Actor, *, policy: Policy = DEFAULT_POLICY,
          now: datetime | None = None) -> SpendReport:
    organisation_id = require_admin(actor)
    with db.reader() as session:
        offers = session.execute(
            select(Authorisation.id, Authorisation.name)
            .where(Authorisation.organisation_id == organisation_id)
            .order_by(Authorisation.id)
        ).all()
        cells = [cell for cell in released(session, organisation_id, policy, now)
                 if cell.figure not in USAGE_FIGURES]
    by_offer: dict[int, list[Cell]] = defaultdict(list)
    by_month: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        by_offer[cell.authorisation_id].append(cell)
        by_month[cell.month].append(cell)
    withheld = withheld_wording(policy.reporting_min_group)
    return SpendReport(
        by_authorisation=[
            AuthorisationSpend(offer_id, name, _figures(by_offer[offer_id]), None)
            if by_offer[offer_id] else AuthorisationSpend(offer_id, name, None, withheld)
            for offer_id, name in offers
        ],
        by_month=[MonthSpend(month, _figures(rows), None)
                  for month, rows in sorted(by_month.items())],
    )


def released(session: Session, organisation_id: int, policy: Policy,
             now: datetime | None = None, *,
             authorisation_ids: Collection[int] | None = None) -> list[Cell]:
    """The organisation's cells that may be shown at `now` (usage and money figures), of the
    given authorisations only if any are named."""
    return released_cells(_contributions(session, organisation_id, authorisation_ids),
                          policy.reporting_min_group, now or utcnow())


def _contributions(session: Session, organisation_id: int,
                   authorisation_ids: Collection[int] | None) -> Iterator[Contribution]:
    vouchers = session.execute(
        select(Grant.authorisation_id, Booking.member_id, Voucher.booking_id, Voucher.created_at)
        .join(Grant, Grant.id == Voucher.grant_id)
        .join(Booking, Booking.id == Voucher.booking_id)
        .join(Authorisation, Authorisation.id == Grant.authorisation_id)
        .where(Authorisation.organisation_id == organisation_id,
               *_among(Grant.authorisation_id, authorisation_ids))
    ).all()
    paid_by_organisation = {row.booking_id: row for row in vouchers}
    for row in vouchers:
        yield Contribution(row.authorisation_id, SESSIONS_BOOKED, row.member_id, row.created_at)
    # Dated when the session came to count as used; a later waiver gives it back to the grant
    # but does not rewrite the month it was used in.
    for event in _audited(session, organisation_id, "booking", _USED_BY):
        voucher = paid_by_organisation.get(event.subject_id)
        if voucher is not None and (event.action != "booking.cancelled"
                                    or (event.details or {}).get("late")):
            yield Contribution(voucher.authorisation_id, SESSIONS_USED, voucher.member_id,
                               event.at)
    charges = session.execute(
        select(Charge.id, Charge.authorisation_id, Charge.currency, Charge.amount_minor,
               Charge.created_at, Booking.member_id)
        .join(Booking, Booking.id == Charge.booking_id)
        .where(Charge.organisation_id == organisation_id,
               *_among(Charge.authorisation_id, authorisation_ids))
    ).all()
    moves = _audited(session, organisation_id, "charge", ("charge.succeeded", "charge.refunded"))
    paid_at = {row.subject_id: row.at for row in moves if row.action == "charge.succeeded"}
    refunded_at = {row.subject_id: row.at for row in moves if row.action == "charge.refunded"}
    for charge in charges:
        paid = paid_at.get(charge.id)
        if paid is not None:
            yield _money(charge, CHARGED, paid)
        if paid is None or month_of(paid) > month_of(charge.created_at):
            yield _money(charge, UNPAID, charge.created_at)  # still owed when its month ended
        if charge.id in refunded_at:
            yield _money(charge, REFUNDED, refunded_at[charge.id])


def _audited(session: Session, organisation_id: int, subject_type: str,
             actions: Collection[str]) -> Sequence[Row]:
    return session.execute(
        select(AuditEvent.subject_id, AuditEvent.action, AuditEvent.at, AuditEvent.details)
        .where(AuditEvent.organisation_id == organisation_id,
               AuditEvent.subject_type == subject_type, AuditEvent.action.in_(actions))
    ).all()


def _among(column, ids: Collection[int] | None) -> list:
    return [] if ids is None else [column.in_(ids)]


def _money(charge: Row, kind: str, at: datetime) -> Contribution:
    return Contribution(charge.authorisation_id, (kind, charge.currency), charge.member_id, at,
                        charge.amount_minor)


def _figures(cells: list[Cell]) -> list[Figures]:
    columns = {CHARGED: 0, REFUNDED: 2, UNPAID: 4}
    totals: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for cell in cells:
        kind, currency = cast(tuple[str, str], cell.figure)
        total = totals[currency]
        total[columns[kind]] += cell.count
        total[columns[kind] + 1] += cell.total
    return [Figures(currency, *values) for currency, values in sorted(totals.items())]
