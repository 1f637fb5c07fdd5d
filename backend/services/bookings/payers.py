"""What can pay for this member's sessions now, asked when a booking starts: each of their grants
and each all-members offer they may join, with whom it pays for, or why it can pay for nobody
(paused, revoked, used up, full) and what to do instead. The rules are backend/domain/grants.py's
and coverage.py's, read through `services.payers` as booking and the search read them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain import coverage as coverage_rules
from backend.domain import grants as grant_rules
from backend.domain.enums import Coverage
from backend.domain.errors import Conflict
from backend.models import Therapist
from backend.services.actors import Actor
from backend.services.bookings.alternatives import ADMIN_REASONS, Alternative, money
from backend.services.payers import MemberPayers, read


@dataclass(frozen=True)
class Payer:
    """One grant of the member's, or one all-members offer they may join."""

    grant_id: int | None
    authorisation_id: int | None  # the offer to join (None for a grant)
    offer_name: str
    coverage: Coverage
    joins_offer: bool
    sessions_left: int  # on the grant, or per place on the offer
    usable: bool
    pays_for: str  # whom it pays for, in the member's words
    reason: str | None  # why it can pay for nobody now
    message: str


@dataclass(frozen=True)
class PayersAnswer:
    """What can pay for a new session now, said when the booking starts."""

    can_pay: bool
    payers: list[Payer]
    reason: str | None  # authorisation_inactive, no_sessions_left, no_places_left, coverage,
    #                     no_usable_grant (none or several reasons)
    message: str
    alternatives: list[Alternative]


def what_pays(db: Database, actor: Actor) -> PayersAnswer:
    """Each grant and offer of the member's, and whether any can pay for a new session."""
    with db.reader() as session:
        found = read(session, actor, closed_offers=True)
        answered = [_grant(grant) for grant in found.grants]
        answered += [_offer(offer, found.seen) for offer in found.offers]
        usable = [payer for payer in answered if payer.usable]
        if usable:
            return PayersAnswer(True, answered, None,
                                " ".join(payer.pays_for for payer in usable), [])
        refusal = grant_rules.nothing_pays_now(_why_not(found))
        return PayersAnswer(False, answered, refusal.code, refusal.message,
                            _alternatives(session, refusal.code))


def _why_not(found: MemberPayers) -> list[Conflict]:
    """Why each grant, then each offer, can pay for nobody; an offer the member's history does
    not fit is told only when nothing else is (it was never theirs to use)."""
    closed = [refused for grant in found.grants
              if (refused := grant_rules.closed_refusal(grant)) is not None]
    offers = [refused for offer in found.offers
              if (refused := grant_rules.offer_closed_refusal(offer, found.seen)) is not None]
    closed += [refused for refused in offers if refused.code != "coverage"]
    return closed or offers


def _grant(grant: grant_rules.GrantFacts) -> Payer:
    refusal = grant_rules.closed_refusal(grant)
    return Payer(grant_id=grant.id, authorisation_id=None, offer_name=grant.offer_name,
                 coverage=grant.coverage, joins_offer=False,
                 sessions_left=grant.sessions_remaining, usable=refusal is None,
                 pays_for=coverage_rules.pays_for(grant.offer_name, grant.coverage),
                 reason=None if refusal is None else refusal.code,
                 message="" if refusal is None else refusal.message)


def _offer(offer: grant_rules.OfferFacts, seen: frozenset[int]) -> Payer:
    refusal = grant_rules.offer_closed_refusal(offer, seen)
    return Payer(grant_id=None, authorisation_id=offer.id, offer_name=offer.name,
                 coverage=offer.coverage, joins_offer=True,
                 sessions_left=offer.sessions_per_user, usable=refusal is None,
                 pays_for=coverage_rules.pays_for(offer.name, offer.coverage),
                 reason=None if refusal is None else refusal.code,
                 message="" if refusal is None else refusal.message)


def _alternatives(session: Session, reason: str | None) -> list[Alternative]:
    """Asking for more (when the organisation can lift it), paying yourself, a person."""
    alternatives = []
    if reason in ADMIN_REASONS:
        alternatives.append(Alternative("ask_admin", "Ask your admin for more sessions or "
                                                     "another offer."))
    cheapest = session.execute(
        select(Therapist.fee_minor, Therapist.currency).order_by(Therapist.fee_minor).limit(1)
    ).first()
    if cheapest is not None:
        alternatives.append(Alternative(
            "self_pay", f"You can pay a therapist yourself; sessions start at "
                        f"{money(cheapest.fee_minor, cheapest.currency)}.",
            fee_minor=cheapest.fee_minor, currency=cheapest.currency))
    alternatives.append(Alternative("talk_to_person", "A person from our team can help."))
    return alternatives

