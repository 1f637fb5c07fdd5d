"""A member's grants and the all-members offers they have not joined, read once as the rules of
backend/domain/grants.py and coverage.py see them: booking and the quote (`bookings.vouchers`),
the search (`search.ranking`) and the start of a booking (`bookings.payers`) all read them here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import coverage as coverage_rules
from backend.domain import grants as grant_rules
from backend.domain.enums import Coverage
from backend.models import Authorisation, Grant
from backend.services import grants
from backend.services.actors import Actor, require_member


@dataclass(frozen=True)
class MemberPayers:
    """The member's grants and the all-members offers they have not joined, as the rules see
    them, with the rows booking writes to."""

    grants: list[grant_rules.GrantFacts]
    offers: list[grant_rules.OfferFacts]
    seen: frozenset[int]  # every therapist the member has seen
    grant_rows: dict[int, Grant]
    offer_rows: dict[int, Authorisation]

    def paying(self, therapist_id: int) -> grant_rules.GrantFacts | grant_rules.OfferFacts | None:
        return grant_rules.payer_for(self.grants, self.offers, self.seen, therapist_id)

    def covers(self) -> list[tuple[str, Coverage, coverage_rules.Covered]]:
        """(offer name, coverage, therapists) of each grant or offer that can pay for someone."""
        found = [(grant.offer_name, grant.coverage, grant_rules.grant_covers(grant))
                 for grant in self.grants]
        found += [(offer.name, offer.coverage, grant_rules.offer_covers(offer, self.seen))
                  for offer in self.offers]
        return [entry for entry in found if not entry[2].nobody]


def read(session: Session, actor: Actor, *, closed_offers: bool = False) -> MemberPayers:
    """The member's grants and unjoined all-members offers (active ones; with `closed_offers`,
    paused ones too, so that a member can be told their offer is paused)."""
    organisation_id = require_member(actor)
    member_id = actor.member_id
    assert member_id is not None  # require_member refuses otherwise
    grant_rows = {grant.id: grant for grant in session.scalars(
        select(Grant).where(Grant.member_id == member_id).order_by(Grant.id))}
    offer_rows = {offer.id: offer for offer in grants.unjoined_offers(
        session, organisation_id, member_id, closed=closed_offers)}
    offers = [grant_rules.OfferFacts(id=offer.id, status=offer.status, coverage=offer.coverage,
                                     sessions_per_user=offer.sessions_per_user,
                                     places_left=offer.places_left, name=offer.name)
              for offer in offer_rows.values()]
    return MemberPayers(grants=[grants.facts(session, grant) for grant in grant_rows.values()],
                        offers=offers, seen=frozenset(grants.seen_therapists(session, member_id)),
                        grant_rows=grant_rows, offer_rows=offer_rows)
