"""Grants: a member's place on an authorisation, and the sessions it still holds."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import Database, changed_rows
from backend.domain import coverage as coverage_rules
from backend.domain import grants as grant_rules
from backend.domain.enums import (
    RELATIONSHIP_BOOKING_STATUSES,
    Access,
    AuthorisationStatus,
)
from backend.domain.errors import Conflict
from backend.models import Authorisation, Booking, Grant, Voucher
from backend.services import audit, spelling
from backend.services.actors import Actor, member_of, owned_by, require_member
from backend.services.validation import required
from contracts import answers


def seen_therapists(session: Session, member_id: int, *, excluding_grant: int | None = None
                    ) -> set[int]:
    """Therapists the member has a relationship with (confirmed or completed bookings),
    leaving out bookings paid by `excluding_grant`."""
    query = (
        select(Booking.therapist_id)
        .outerjoin(Voucher, Voucher.booking_id == Booking.id)
        .where(Booking.member_id == member_id,
               Booking.status.in_(RELATIONSHIP_BOOKING_STATUSES))
    )
    if excluding_grant is not None:
        query = query.where(or_(Voucher.grant_id.is_(None), Voucher.grant_id != excluding_grant))
    return set(session.scalars(query))



def facts(session: Session, grant: Grant) -> grant_rules.GrantFacts:
    """What the rules of backend/domain/grants.py need to know about one of a member's grants."""
    authorisation = grant.authorisation
    return grant_rules.GrantFacts(
        id=grant.id, offer_name=authorisation.name, status=authorisation.status,
        coverage=authorisation.coverage, sessions_per_user=authorisation.sessions_per_user,
        sessions_remaining=grant.sessions_remaining,
        seen=frozenset(seen_therapists(session, grant.member_id,
                                              excluding_grant=grant.id)),
    )

def unjoined_offers(session: Session, organisation_id: int, member_id: int, *,
                    closed: bool = False) -> list[Authorisation]:
    """The organisation's active all-members authorisations the member has no place on (with
    `closed`, paused ones too: revoked ones are gone for good)."""
    joined = select(Grant.authorisation_id).where(Grant.member_id == member_id)
    statuses = [AuthorisationStatus.ACTIVE, *([AuthorisationStatus.PAUSED] if closed else [])]
    return list(session.scalars(
        select(Authorisation).where(
            Authorisation.organisation_id == organisation_id,
            Authorisation.access == Access.ALL_MEMBERS,
            Authorisation.status.in_(statuses),
            Authorisation.id.not_in(joined),
        ).order_by(Authorisation.id)
    ))


def take_place(session: Session, actor: Actor, authorisation: Authorisation, member_id: int,
               *, invite_id: int | None = None) -> answers.Grant:
    """One of the authorisation's user places becomes this member's grant.

    The guarded UPDATE is the whole quota check: whatever runs concurrently, the count only
    moves while it is under the limit and the authorisation is active.
    """
    taken = changed_rows(
        session,
        update(Authorisation)
        .where(
            Authorisation.id == authorisation.id,
            Authorisation.status == AuthorisationStatus.ACTIVE,
            or_(Authorisation.user_limit.is_(None),
                Authorisation.grants_count < Authorisation.user_limit),
        )
        .values(grants_count=Authorisation.grants_count + 1)
        .execution_options(synchronize_session=False)
    )
    if taken != 1:
        session.refresh(authorisation)
        if authorisation.status is not AuthorisationStatus.ACTIVE:
            raise Conflict(f"This offer is {authorisation.status.value} at the moment. "
                           "Ask your admin about it.", code="authorisation_inactive")
        raise Conflict("All places on this offer have been taken. Ask your admin to add more.",
                       code="no_places_left")
    grant = Grant(authorisation_id=authorisation.id, member_id=member_id, invite_id=invite_id)
    try:
        with session.begin_nested():
            session.add(grant)
    except IntegrityError:
        raise Conflict("You already have a place on this offer.", code="already_joined") from None
    session.refresh(authorisation)
    audit.record(session, actor, "grant.created", "grant", grant.id,
                 organisation_id=authorisation.organisation_id,
                 authorisation_id=authorisation.id)
    return view(grant)


def view(grant: Grant) -> answers.Grant:
    authorisation = grant.authorisation
    return answers.Grant(
        id=grant.id,
        authorisation_id=authorisation.id,
        coverage=spelling.coverage(authorisation.coverage),
        sessions_per_user=authorisation.sessions_per_user,
        sessions_remaining=max(0, authorisation.sessions_per_user - grant.sessions_committed),
        active=authorisation.status is AuthorisationStatus.ACTIVE,
    )


def list_mine(db: Database, actor: Actor) -> list[answers.Grant]:
    require_member(actor)
    with db.reader() as session:
        grants = session.scalars(
            select(Grant).where(Grant.member_id == actor.member_id).order_by(Grant.id)
        ).all()
        return [view(grant) for grant in grants]


def open_offers(db: Database, actor: Actor) -> list[answers.Offer]:
    """All-members authorisations of the member's organisation they have not joined yet and
    whose coverage their history allows (the same check `join` makes)."""
    member_id, organisation_id = member_of(actor)
    with db.reader() as session:
        rows = unjoined_offers(session, organisation_id, member_id)
        seen = seen_therapists(session, member_id)
        return [answers.Offer(a.id, a.name, spelling.coverage(a.coverage), a.sessions_per_user)
                for a in rows if coverage_rules.eligibility_problem(a.coverage, seen) is None]


def join(db: Database, actor: Actor, authorisation_id: int | None) -> answers.Grant:
    """Take a place on an all-members authorisation (no invite needed)."""
    member_id, organisation_id = member_of(actor)
    authorisation_id = required(authorisation_id, "offer id")
    with db.transaction() as session:
        authorisation = owned_by(session, Authorisation, authorisation_id, organisation_id,
                                        "offer")
        if authorisation.access is not Access.ALL_MEMBERS:
            raise Conflict("This offer is by invite only. Ask your admin for an invite code.",
                           code="invite_only")
        problem = coverage_rules.eligibility_problem(
            authorisation.coverage, seen_therapists(session, member_id))
        if problem:
            raise Conflict(problem, code="coverage")
        return take_place(session, actor, authorisation, member_id)
