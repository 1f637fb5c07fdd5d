"""Vouchers: the session of a grant that a booking holds, from booking until it is released
(declined, cancelled in time) or used (completed, cancelled late).

Which grant pays is the domain's rule (backend/domain/grants.py); holding a session is one
guarded UPDATE of `Grant.sessions_committed`, so concurrent bookings never exceed the quota,
and giving it back is a guarded decrement. Nothing is charged here: the payments work reads
`Voucher.status`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.db import changed_rows
from backend.domain import grants as grant_rules
from backend.domain.enums import AuthorisationStatus, Coverage, VoucherStatus
from backend.domain.errors import Conflict, NotFound
from backend.models import Authorisation, Grant, Voucher
from backend.models.base import utcnow
from backend.services import grants
from backend.services import payers as member_payers
from backend.services.actors import Actor, member_of

# A place that cannot be taken leaves nothing written: the next offer may still pay.
_PLACE_REFUSALS = ("no_places_left", "authorisation_inactive")


@dataclass(frozen=True)
class Refused:
    """One grant or all-members offer of the member's that cannot pay, and why."""

    offer_name: str
    coverage: Coverage
    refusal: Conflict


@dataclass(frozen=True)
class Payers:
    """What could pay for a session with one therapist, read without writing anything."""

    grants: list[grant_rules.GrantFacts]  # the member's grants that can pay, best first
    offers: list[grant_rules.OfferFacts]  # all-members offers to join when none can, best first
    refused: list[Refused]  # every other grant and offer, with its reason
    seen: frozenset[int]  # every therapist the member has seen
    grant_rows: dict[int, Grant]
    offer_rows: dict[int, Authorisation]

    def refusal(self) -> Conflict:
        """What booking answers when nothing pays."""
        return grant_rules.no_usable_grant([refused.refusal for refused in self.refused])


def payers(session: Session, actor: Actor, therapist_id: int) -> Payers:
    """Which grants, else which all-members offers, the rules of backend/domain/grants.py let
    pay for a session with this therapist: what booking tries, in the order it tries them."""
    found = member_payers.read(session, actor)
    refused = [Refused(grant.offer_name, grant.coverage, reason) for grant in found.grants
               if (reason := grant_rules.refusal(grant, therapist_id)) is not None]
    refused += [Refused(offer.name, offer.coverage, reason) for offer in found.offers
                if (reason := grant_rules.offer_refusal(offer, found.seen, therapist_id))
                is not None]
    return Payers(grants=grant_rules.choose(found.grants, therapist_id).usable,
                  offers=grant_rules.offers_to_join(found.offers, found.seen, therapist_id),
                  refused=refused, seen=found.seen, grant_rows=found.grant_rows,
                  offer_rows=found.offer_rows)


def hold_session(session: Session, actor: Actor, therapist_id: int,
                 grant_id: int | None) -> Grant:
    """Hold one session of the named grant, or of the grant the rules choose; with none of the
    member's grants able to pay, join an all-members offer that can (in the same transaction,
    so a booking refused later takes no place). Refuse otherwise."""
    if grant_id is not None:
        return _hold_named(session, member_of(actor)[0], therapist_id, grant_id)
    found = payers(session, actor, therapist_id)
    for facts in found.grants:
        grant = found.grant_rows[facts.id]
        if _take_session(session, grant):
            return grant
    for offer in found.offers:
        joined = _join_offer(session, actor, found.offer_rows[offer.id])
        if joined is not None:
            return joined
    # Usable grants whose last session went meanwhile are refused like any other.
    raise grant_rules.no_usable_grant([*(refused.refusal for refused in found.refused),
                                       *map(grant_rules.no_sessions_left, found.grants)])


def _hold_named(session: Session, member_id: int, therapist_id: int, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None or grant.member_id != member_id:
        raise NotFound("You have no place on an offer with that id.")
    refusal = grant_rules.refusal(grants.facts(session, grant), therapist_id)
    if refusal is not None:
        raise refusal
    if not _take_session(session, grant):
        facts = grants.facts(session, grant)
        raise grant_rules.refusal(facts, therapist_id) or grant_rules.no_sessions_left(facts)
    return grant


def _join_offer(session: Session, actor: Actor, offer: Authorisation) -> Grant | None:
    """Take a place on an all-members offer and hold one of its sessions; None when its last
    place or session went meanwhile."""
    try:
        place = grants.take_place(session, actor, offer, member_of(actor)[0])
    except Conflict as refusal:
        if refusal.code in _PLACE_REFUSALS:
            return None
        raise
    grant = session.get_one(Grant, place.id)
    return grant if _take_session(session, grant) else None


def _take_session(session: Session, grant: Grant) -> bool:
    """Hold one session: one guarded UPDATE, so concurrent bookings never exceed the quota."""
    allowed = (
        select(Authorisation.sessions_per_user)
        .where(Authorisation.id == Grant.authorisation_id,
               Authorisation.status == AuthorisationStatus.ACTIVE)
        .scalar_subquery()
    )
    taken = changed_rows(
        session,
        update(Grant)
        .where(Grant.id == grant.id, Grant.sessions_committed < allowed)
        .values(sessions_committed=Grant.sessions_committed + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(grant)
    session.refresh(grant.authorisation)
    return taken == 1


def _give_back(session: Session, grant_id: int) -> None:
    session.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.sessions_committed > 0)
        .values(sessions_committed=Grant.sessions_committed - 1)
        .execution_options(synchronize_session=False)
    )


def attach(session: Session, booking_id: int, grant: Grant) -> None:
    session.add(Voucher(booking_id=booking_id, grant_id=grant.id))
    session.flush()


def settle(session: Session, booking_id: int, outcome: VoucherStatus, *,
           from_status: VoucherStatus = VoucherStatus.HELD) -> bool:
    """Move the booking's voucher (if any) from `from_status` to `outcome`; a released session
    goes back to the grant. Guarded, so a session is released at most once."""
    voucher = voucher_of(session, booking_id)
    if voucher is None:
        return False
    settled = changed_rows(
        session,
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.status == from_status)
        .values(status=outcome, settled_at=utcnow())
        .execution_options(synchronize_session=False)
    ) == 1
    if settled and outcome is VoucherStatus.RELEASED:
        _give_back(session, voucher.grant_id)
    return settled


def move(session: Session, from_booking_id: int, to_booking_id: int) -> None:
    """A rescheduled booking's held voucher goes to its replacement: the grant's session is
    never released meanwhile."""
    voucher = voucher_of(session, from_booking_id)
    if voucher is not None:
        session.execute(
            update(Voucher)
            .where(Voucher.id == voucher.id, Voucher.status == VoucherStatus.HELD)
            .values(booking_id=to_booking_id)
            .execution_options(synchronize_session=False)
        )


def voucher_of(session: Session, booking_id: int) -> Voucher | None:
    return session.scalar(
        select(Voucher).where(Voucher.booking_id == booking_id)
        .execution_options(populate_existing=True)
    )
