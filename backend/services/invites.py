"""Invites: created and revoked by admins, redeemed by the person they were sent to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.db import Database, changed_rows
from backend.domain import coverage as coverage_rules
from backend.domain import invite_codes
from backend.domain.enums import AuthorisationStatus
from backend.domain.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from backend.models import Authorisation, Invite, Member, Organisation, RedeemAttempt
from backend.models.base import utcnow
from backend.services import audit
from backend.services.actors import (
    Actor,
    find_member_by_email,
    link_identity,
    owned_by,
    require_admin,
)
from backend.services.grants import seen_therapists, take_place
from backend.services.identities import speaks_from_workspace_of
from backend.services.policy import DEFAULT_POLICY, Policy
from backend.services.validation import in_range
from contracts import answers


@dataclass(frozen=True)
class Redemption:
    actor: Actor
    grant: answers.Grant


def create(db: Database, actor: Actor, authorisation_id: int, *, email: str | None = None,
           expires_in_days: int | None = None,
           policy: Policy = DEFAULT_POLICY) -> answers.NewInvite:
    """An invite; with `email` (checked at the API edge), only that address may redeem it."""
    organisation_id = require_admin(actor)
    bound_email = email
    days = policy.invite_ttl_days if expires_in_days is None else in_range(
        expires_in_days, "number of days before the invite expires", maximum=365)
    with db.transaction() as session:
        authorisation = owned_by(session, Authorisation, authorisation_id, organisation_id,
                                        "authorisation")
        if authorisation.status is not AuthorisationStatus.ACTIVE:
            raise Conflict(f"This authorisation is {authorisation.status.value}; "
                           "resume it before inviting people.")
        code = invite_codes.new_code()
        canonical = invite_codes.canonical(code)
        expires_at = utcnow() + timedelta(days=days)
        invite = Invite(
            organisation_id=organisation_id, authorisation_id=authorisation.id,
            code_hash=invite_codes.code_hash(canonical), code_hint=canonical[-4:],
            email=bound_email, expires_at=expires_at, created_by_member_id=actor.member_id,
        )
        session.add(invite)
        session.flush()
        organisation = session.get_one(Organisation, organisation_id)
        audit.record(session, actor, "invite.created", "invite", invite.id,
                     organisation_id=organisation_id, authorisation_id=authorisation.id,
                     bound_to_email=bound_email is not None)
        return answers.NewInvite(invite.id, code, authorisation.id, bound_email, expires_at,
                                 email_text(organisation.name, authorisation, code, expires_at))


def email_text(organisation_name: str, authorisation: Authorisation, code: str,
               expires_at: datetime) -> str:
    return (
        f"Hello,\n\n{organisation_name} would like to offer you up to "
        f"{authorisation.sessions_per_user} therapy sessions, paid for by {organisation_name}.\n\n"
        f"Your invite code is: {code}\n\n"
        "To use it, message our therapy assistant in Slack, Microsoft Teams or the chat on our "
        f"portal and say \"redeem {code}\". It will help you find a therapist and book. "
        "What you discuss and whom you see stay confidential: we only see how many sessions "
        "are used.\n\n"
        f"The code works once and expires on {expires_at:%d %B %Y}.\n"
    )


def list_for_admin(db: Database, actor: Actor, authorisation_id: int) -> list[answers.Invite]:
    organisation_id = require_admin(actor)
    now = utcnow()
    with db.reader() as session:
        owned_by(session, Authorisation, authorisation_id, organisation_id,
                 "authorisation")
        invites = session.scalars(
            select(Invite).where(Invite.authorisation_id == authorisation_id).order_by(Invite.id)
        ).all()
        return [_view(invite, now) for invite in invites]


def revoke(db: Database, actor: Actor, invite_id: int) -> answers.Invite:
    organisation_id = require_admin(actor)
    with db.transaction() as session:
        invite = owned_by(session, Invite, invite_id, organisation_id,
                                 "invite")
        if invite.redeemed_at is not None:
            raise Conflict("This invite has already been redeemed; it can no longer be revoked.")
        if invite.revoked_at is None:
            invite.revoked_at = utcnow()
            audit.record(session, actor, "invite.revoked", "invite", invite.id,
                         organisation_id=organisation_id)
        return _view(invite, utcnow())


def redeem(db: Database, actor: Actor, typed_code: str | None, *, name: str | None = None,
           policy: Policy = DEFAULT_POLICY) -> Redemption:
    """Join the invite's authorisation: one place taken, one grant, the identity linked.

    Wrong codes count against the identity; past the limit it must wait (throttle).
    """
    if typed_code is None:
        raise InvalidInput("Please give the invite code as text.")
    _check_throttle(db, actor, policy)
    canonical = invite_codes.normalise(typed_code)
    try:
        with db.transaction() as session:
            invite = None if canonical is None else session.scalar(
                select(Invite).where(Invite.code_hash == invite_codes.code_hash(canonical)))
            if invite is None:
                raise NotFound("That invite code doesn't match any invite. Check it and try "
                               "again; codes look like 7KQ2M-X9D4R.", code="unknown_code")
            result = _redeem(session, actor, invite, name)
            session.add(RedeemAttempt(identity=actor.identity, succeeded=True))
            return result
    except NotFound:
        with db.transaction() as session:
            session.add(RedeemAttempt(identity=actor.identity, succeeded=False))
        raise


def _redeem(session: Session, actor: Actor, invite: Invite, name: str | None) -> Redemption:
    now = utcnow()
    state = _state(invite, now)
    if state != "open":
        raise Conflict(f"This invite code has been {state}. Ask your admin for a new one.",
                       code=f"invite_{state}")
    if actor.organisation_id not in (None, invite.organisation_id):
        raise Conflict("This invite is for a different organisation from yours.")
    if invite.email and actor.verified_email != invite.email and not _is_member_with_email(
            session, actor, invite.email):
        raise Conflict("This invite was sent to a different email address. Sign in with the "
                       "account for that address, or ask your admin for an invite of your own.",
                       code="invite_email_mismatch")
    member = _member_for(session, actor, invite, name)
    actor = link_identity(session, actor, member)
    authorisation = session.get_one(Authorisation, invite.authorisation_id)
    problem = coverage_rules.eligibility_problem(authorisation.coverage,
                                                 seen_therapists(session, member.id))
    if problem:
        raise Conflict(problem, code="coverage")
    # Single use, even when two people race with the same code.
    claimed = changed_rows(
        session,
        update(Invite)
        .where(Invite.id == invite.id, Invite.redeemed_at.is_(None), Invite.revoked_at.is_(None))
        .values(redeemed_at=now, redeemed_by_member_id=member.id)
    )
    if claimed != 1:
        raise Conflict("This invite code has already been used. Ask your admin for a new one.",
                       code="invite_redeemed")
    grant = take_place(session, actor, authorisation, member.id, invite_id=invite.id)
    audit.record(session, actor, "invite.redeemed", "invite", invite.id,
                 organisation_id=invite.organisation_id, grant_id=grant.id)
    return Redemption(actor, grant)


def _member_for(session: Session, actor: Actor, invite: Invite, name: str | None) -> Member:
    if actor.member_id is not None:
        return session.get_one(Member, actor.member_id)
    email = actor.verified_email or invite.email
    member = find_member_by_email(session, invite.organisation_id, email) if email else None
    if member is not None and email is not None:
        _refuse_takeover(session, actor, invite, email)
        return member
    display = name or "Member"
    member = Member(organisation_id=invite.organisation_id, name=display, email=email)
    session.add(member)
    session.flush()
    return member


def _refuse_takeover(session: Session, actor: Actor, invite: Invite, email: str) -> None:
    """A chat identity joins an existing member only from the organisation's connected
    workspace or tenant, or with an invite addressed to that very email (the admin vouched for
    it): a verified email from another workspace proves nothing to this organisation."""
    if invite.email is not None and invite.email.lower() == email.lower():
        return
    organisation = session.get_one(Organisation, invite.organisation_id)
    if not speaks_from_workspace_of(organisation, actor):
        raise Conflict(
            f"That email address already belongs to someone at {organisation.name}, and this "
            f"chat account isn't in {organisation.name}'s connected workspace, so I can't sign "
            "you in as them. Message me from your organisation's workspace, or ask your admin "
            "for an invite sent to your email address.", code="identity_outside_organisation")


def _is_member_with_email(session: Session, actor: Actor, email: str) -> bool:
    if actor.member_id is None:
        return False
    member = session.get_one(Member, actor.member_id)
    return member.email is not None and member.email.lower() == email.lower()


def _check_throttle(db: Database, actor: Actor, config: Policy) -> None:
    since = utcnow() - timedelta(minutes=config.redeem_attempts_window_minutes)
    with db.reader() as session:
        failures = session.scalar(
            select(func.count(RedeemAttempt.id)).where(
                RedeemAttempt.identity == actor.identity,
                RedeemAttempt.succeeded.is_(False),
                RedeemAttempt.at >= since,
            )
        )
    if (failures or 0) >= config.redeem_attempts_limit:
        raise TooManyAttempts(
            f"Too many wrong codes. Please wait {config.redeem_attempts_window_minutes} minutes "
            "and try again, or ask your admin to check the code."
        )


def _state(invite: Invite, now: datetime) -> answers.InviteState:
    if invite.redeemed_at is not None:
        return "redeemed"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at is not None and invite.expires_at <= now:
        return "expired"
    return "open"


def _view(invite: Invite, now: datetime) -> answers.Invite:
    return answers.Invite(invite.id, invite.authorisation_id, invite.code_hint, invite.email,
                          invite.expires_at, _state(invite, now))
