"""The quote: what booking this session would do, said before the member confirms, without
writing anything. It runs booking's own checks and reads what pays with booking's own rules
(`checks`, `vouchers.payers`); booking re-checks everything atomically when it happens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.enums import Coverage, Modality
from backend.domain.errors import DomainError
from backend.models import Therapist
from backend.models.base import utcnow
from backend.services.actors import Actor, require_member
from backend.services.bookings import checks, vouchers
from backend.services.bookings.alternatives import ADMIN_REASONS, Alternative, money
from backend.services.policy import DEFAULT_POLICY, Policy
from backend.services.validation import choice, identifier

# Refusals of the time or the way of meeting: another slot or way may do.
_SLOT_REASONS = ("in_the_past", "beyond_horizon", "before_confirmation", "not_a_slot",
                 "slot_taken", "modality_not_offered")

@dataclass(frozen=True)
class RefusedOffer:
    offer_name: str
    coverage: Coverage
    reason: str
    message: str


@dataclass(frozen=True)
class Quote:
    therapist_id: int
    therapist_name: str
    starts_at: datetime
    modality: Modality
    bookable: bool  # the slot can be booked (paid by the organisation or not)
    paid_by_organisation: bool
    grant_id: int | None  # the member's grant that pays
    authorisation_id: int | None  # the offer that pays
    offer_name: str | None
    joins_offer: bool  # booking takes a place on an all-members offer first
    sessions_remaining_after: int | None  # on the grant that pays, after this session
    reason: str | None  # why nothing pays or the slot cannot be booked; None when paid
    message: str  # the backend's wording of all the above
    fee_minor: int  # what the session costs when self-paid
    currency: str
    refused: list[RefusedOffer]  # each grant or offer that cannot pay, and why
    alternatives: list[Alternative]


def quote(db: Database, actor: Actor, *, therapist_id: object, starts_at: object,
          modality: object, policy: Policy = DEFAULT_POLICY) -> Quote:
    """What `bookings.book` would do with the same request (paid by the organisation), read in
    one transaction that writes nothing."""
    require_member(actor)
    wanted_id = identifier(therapist_id, "therapist id")
    moment = checks.moment(starts_at)
    way = choice(modality, Modality, "modality")
    with db.reader() as session:
        therapist = checks.therapist(session, wanted_id)
        answer = _Answer(therapist, moment, way)
        try:
            checks.bookable_time(moment, utcnow(), policy)
            checks.offered_modality(therapist, way)
            checks.free_slot(session, therapist, moment, policy)
        except DomainError as refusal:
            if refusal.code not in _SLOT_REASONS:
                raise
            return answer.unbookable(refusal)
        return _paid_or_refused(session, actor, answer)


def _paid_or_refused(session: Session, actor: Actor, answer: _Answer) -> Quote:
    found = vouchers.payers(session, actor, answer.therapist.id)
    refused = [RefusedOffer(r.offer_name, r.coverage, r.refusal.code, r.refusal.message)
               for r in found.refused]
    if found.grants:
        grant = found.grants[0]
        return answer.paid(grant_id=grant.id, authorisation_id=None, offer_name=grant.offer_name,
                           left_after=grant.sessions_remaining - 1, refused=refused)
    if found.offers:
        offer = found.offers[0]
        return answer.paid(grant_id=None, authorisation_id=offer.id,
                           offer_name=found.offer_rows[offer.id].name,
                           left_after=offer.sessions_per_user - 1, refused=refused)
    return answer.unpaid(found.refusal(), refused,
                         _paid_instead(session, actor, found.seen - {answer.therapist.id}))


def _paid_instead(session: Session, actor: Actor, seen: frozenset[int]) -> list[int]:
    """The therapists the member has seen whom their organisation would pay for instead."""
    return [therapist_id for therapist_id in sorted(seen)
            if (found := vouchers.payers(session, actor, therapist_id)).grants or found.offers]


@dataclass(frozen=True)
class _Answer:
    therapist: Therapist
    moment: datetime
    modality: Modality

    def _quote(self, **fields: Any) -> Quote:
        return Quote(therapist_id=self.therapist.id, therapist_name=self.therapist.name,
                     starts_at=self.moment, modality=self.modality,
                     fee_minor=self.therapist.fee_minor, currency=self.therapist.currency,
                     **fields)

    def paid(self, *, grant_id: int | None, authorisation_id: int | None, offer_name: str,
             left_after: int, refused: list[RefusedOffer]) -> Quote:
        joins = grant_id is None
        uses = ("booking adds you to this offer, which is open to all members, and uses 1 of "
                "its sessions" if joins else "it uses 1 of your sessions")
        message = (f"Your organisation pays for this session through “{offer_name}”: {uses}, "
                   f"leaving {left_after} after this one. You pay nothing.")
        return self._quote(bookable=True, paid_by_organisation=True, grant_id=grant_id,
                           authorisation_id=authorisation_id, offer_name=offer_name,
                           joins_offer=joins, sessions_remaining_after=left_after, reason=None,
                           message=message, refused=refused, alternatives=[])

    def unbookable(self, refusal: DomainError) -> Quote:
        other = Alternative("other_time", "Pick another of the therapist's free times, or "
                                          "another therapist.")
        return self._unpaid(refusal.code, refusal.message, [], [other])

    def unpaid(self, refusal: DomainError, refused: list[RefusedOffer],
               paid_instead: list[int]) -> Quote:
        reasons = {r.reason for r in refused}
        reason = reasons.pop() if len(reasons) == 1 else refusal.code
        alternatives = [*self._other_therapists(refused, paid_instead), self._self_pay()]
        if reasons & set(ADMIN_REASONS) or reason in ADMIN_REASONS:
            alternatives.append(Alternative(
                "ask_admin", "Ask your admin for more sessions or another offer."))
        return self._unpaid(reason, refusal.message, refused, alternatives)

    def _unpaid(self, reason: str, message: str, refused: list[RefusedOffer],
                alternatives: list[Alternative]) -> Quote:
        return self._quote(bookable=reason not in _SLOT_REASONS, paid_by_organisation=False,
                           grant_id=None, authorisation_id=None, offer_name=None,
                           joins_offer=False, sessions_remaining_after=None, reason=reason,
                           message=message, refused=refused, alternatives=alternatives)

    def _other_therapists(self, refused: list[RefusedOffer], paid_instead: list[int]
                          ) -> list[Alternative]:
        coverage = {r.coverage for r in refused if r.reason == "coverage"}
        if paid_instead:
            return [Alternative("other_therapist", "Your organisation's offer covers sessions "
                                "with a therapist you have already seen.",
                                therapist_ids=paid_instead)]
        if Coverage.NEW_RELATIONSHIP in coverage:
            return [Alternative("other_therapist", "Your organisation's offer covers sessions "
                                "with a therapist you have not seen before.")]
        return []

    def _self_pay(self) -> Alternative:
        fee = money(self.therapist.fee_minor, self.therapist.currency)
        return Alternative("self_pay", f"You can book it and pay {fee} for the session yourself.",
                           fee_minor=self.therapist.fee_minor, currency=self.therapist.currency)

