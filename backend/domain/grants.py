"""Which of a member's grants pays for a session, and why one cannot.

A grant can pay when its authorisation is active, it has sessions left, and its coverage
includes the therapist; of those, the one with most sessions left pays. When none can, an
all-members offer the member may still join can pay instead (taking a place on it). The
guarded UPDATEs on `grants_count` and `sessions_committed` in the data layer enforce the quotas.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backend.domain import coverage as coverage_rules
from backend.domain.enums import AuthorisationStatus, Coverage
from backend.domain.errors import Conflict


@dataclass(frozen=True)
class GrantFacts:
    """What the rules need to know about one of the member's grants."""

    id: int
    offer_name: str
    status: AuthorisationStatus
    coverage: Coverage
    sessions_per_user: int
    sessions_remaining: int
    seen: frozenset[int]  # therapists the member has seen outside this grant


@dataclass(frozen=True)
class OfferFacts:
    """An all-members authorisation the member has not joined."""

    id: int
    status: AuthorisationStatus
    coverage: Coverage
    sessions_per_user: int
    places_left: int | None  # None: unlimited
    name: str = ""


def refusal(grant: GrantFacts, therapist_id: int) -> Conflict | None:
    """Why this grant cannot pay for a session with this therapist, or None if it can."""
    closed = closed_refusal(grant)
    if closed is not None:
        return closed
    problem = coverage_rules.therapist_problem(grant.coverage, grant.seen, therapist_id)
    return None if problem is None else Conflict(problem, code="coverage")


def closed_refusal(grant: GrantFacts) -> Conflict | None:
    """Why this grant can pay for no new session at all (paused, revoked, used up), or None."""
    if grant.status is not AuthorisationStatus.ACTIVE:
        return Conflict(f"Your organisation's offer “{grant.offer_name}” is "
                        f"{grant.status.value}, so it can't pay for new bookings.",
                        code="authorisation_inactive")
    if grant.sessions_remaining <= 0:
        return no_sessions_left(grant)
    return None


def open_for_bookings(grant: GrantFacts) -> bool:
    """Whether the grant can pay for a new session at all (its coverage decides with whom)."""
    return closed_refusal(grant) is None


def grant_covers(grant: GrantFacts) -> coverage_rules.Covered:
    """The therapists this grant pays for (none when it is closed)."""
    if not open_for_bookings(grant):
        return coverage_rules.NOBODY
    return coverage_rules.covered(grant.coverage, grant.seen)


def no_sessions_left(grant: GrantFacts) -> Conflict:
    return Conflict(f"You have used all {grant.sessions_per_user} sessions of "
                    f"“{grant.offer_name}”. You can ask your admin for more.",
                    code="no_sessions_left")


@dataclass(frozen=True)
class Choice:
    usable: list[GrantFacts]  # best first: the grant with most sessions left
    refusals: list[Conflict]  # of the grants that cannot pay


def choose(grants: Iterable[GrantFacts], therapist_id: int) -> Choice:
    """The member's grants that can pay, best first (ties keep the given order)."""
    usable, refusals = [], []
    for grant in grants:
        reason = refusal(grant, therapist_id)
        if reason is None:
            usable.append(grant)
        else:
            refusals.append(reason)
    usable.sort(key=lambda grant: -grant.sessions_remaining)
    return Choice(usable, refusals)


def offer_refusal(offer: OfferFacts, seen: frozenset[int], therapist_id: int) -> Conflict | None:
    """Why a place on this all-members offer cannot pay for this therapist, or None if it can.
    `seen`: every therapist the member has seen."""
    closed = offer_closed_refusal(offer, seen)
    if closed is not None:
        return closed
    problem = coverage_rules.therapist_problem(offer.coverage, seen, therapist_id)
    return None if problem is None else Conflict(problem, code="coverage")


def offer_closed_refusal(offer: OfferFacts, seen: frozenset[int]) -> Conflict | None:
    """Why a place on this offer can pay for no session at all (paused, full, the member's
    history does not fit), or None."""
    if offer.status is not AuthorisationStatus.ACTIVE:
        return Conflict(f"The offer “{offer.name}” is {offer.status.value} at the moment. Ask "
                        "your admin about it." if offer.name else
                        f"This offer is {offer.status.value} at the moment. Ask your admin "
                        "about it.", code="authorisation_inactive")
    if offer.places_left is not None and offer.places_left <= 0:
        return Conflict("All places on this offer have been taken. Ask your admin to add more.",
                        code="no_places_left")
    problem = coverage_rules.eligibility_problem(offer.coverage, seen)
    return None if problem is None else Conflict(problem, code="coverage")


def offer_covers(offer: OfferFacts, seen: frozenset[int]) -> coverage_rules.Covered:
    """The therapists a place on this offer would pay for (none when it cannot be joined)."""
    if offer_closed_refusal(offer, seen) is not None:
        return coverage_rules.NOBODY
    return coverage_rules.covered(offer.coverage, seen)


def payer_for(grants: Iterable[GrantFacts], offers: Iterable[OfferFacts], seen: frozenset[int],
              therapist_id: int) -> GrantFacts | OfferFacts | None:
    """What booking this therapist would pay with: the best usable grant, else the best offer
    to join (the order `hold_session` tries them in), else None."""
    usable = choose(grants, therapist_id).usable
    if usable:
        return usable[0]
    joinable = offers_to_join(offers, seen, therapist_id)
    return joinable[0] if joinable else None


def offers_to_join(offers: Iterable[OfferFacts], seen: frozenset[int],
                   therapist_id: int) -> list[OfferFacts]:
    """All-members offers whose place would pay for this therapist, best first (most
    sessions per place, then the oldest offer). `seen`: every therapist the member has seen."""
    joinable = [offer for offer in offers if offer_refusal(offer, seen, therapist_id) is None]
    return sorted(joinable, key=lambda offer: (-offer.sessions_per_user, offer.id))


def nothing_pays_now(refusals: Sequence[Conflict]) -> Conflict:
    """Why the member's organisation can pay for no new session at all, said before a search:
    the one reason all refusals share as the code, else no_usable_grant."""
    if not refusals:
        return no_usable_grant(refusals)
    codes = {reason.code for reason in refusals}
    reasons = " ".join(dict.fromkeys(reason.message for reason in refusals))
    return Conflict(f"Your organisation can't pay for a new session at the moment. {reasons}",
                    code=codes.pop() if len(codes) == 1 else "no_usable_grant")


def no_usable_grant(refusals: Sequence[Conflict]) -> Conflict:
    if not refusals:
        return Conflict("You don't have sessions paid by your organisation yet. Redeem an invite "
                        "code from your admin, or book as self-paid if you'd like to pay the "
                        "therapist yourself.", code="no_usable_grant")
    reasons = " ".join(dict.fromkeys(reason.message for reason in refusals))
    return Conflict(f"None of your organisation's offers can pay for this session. {reasons} "
                    "You can still book it as self-paid if you'd like to pay yourself.",
                    code="no_usable_grant")
