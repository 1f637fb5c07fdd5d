"""Who is asking: a verified chat identity resolved to a member, admin or therapist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.enums import Role
from backend.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.models import ChatIdentity, Member
from contracts import identity as identity_format


class _Owned(Protocol):
    """A row that belongs to one organisation."""

    @property
    def organisation_id(self) -> int: ...


Owned = TypeVar("Owned", bound=_Owned)


@dataclass(frozen=True)
class Actor:
    channel: str
    external_id: str
    member_id: int | None = None
    organisation_id: int | None = None
    role: Role | None = None
    therapist_id: int | None = None
    # An email address the channel has verified for this identity, if any.
    verified_email: str | None = None

    @property
    def identity(self) -> str:
        return str(identity_format.ChatIdentity(self.channel, self.external_id))

    @property
    def label(self) -> str:
        """How the audit log names this actor."""
        if self.member_id is not None:
            return f"member:{self.member_id}"
        if self.therapist_id is not None:
            return f"therapist:{self.therapist_id}"
        return f"identity:{self.identity}"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


SYSTEM = Actor(channel="system", external_id="backend")


def parse_identity(value: str) -> identity_format.ChatIdentity:
    """The chat identity an `X-Acting-For` value names, in the one format of
    contracts/identity.py; a clear refusal for anything else."""
    try:
        return identity_format.ChatIdentity.parse(value)
    except ValueError as bad:
        raise InvalidInput(str(bad)) from None


def resolve(db: Database, identity: str, verified_email: str | None = None) -> Actor:
    parsed = parse_identity(identity)
    channel, external_id = parsed.channel, parsed.external_id
    email = verified_email.strip().lower() if verified_email else None
    with db.reader() as session:
        row = session.execute(
            select(ChatIdentity, Member)
            .outerjoin(Member, Member.id == ChatIdentity.member_id)
            .where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
        ).first()
    if row is None:
        return Actor(channel, external_id, verified_email=email)
    link, member = row
    return Actor(
        channel,
        external_id,
        member_id=member.id if member else None,
        organisation_id=member.organisation_id if member else None,
        role=member.role if member else None,
        therapist_id=link.therapist_id,
        verified_email=email,
    )


def link_identity(session: Session, actor: Actor, member: Member) -> Actor:
    """Bind the actor's chat identity to a member (first contact, redemption, registration)."""
    existing = session.scalar(
        select(ChatIdentity).where(
            ChatIdentity.channel == actor.channel, ChatIdentity.external_id == actor.external_id
        )
    )
    if existing is not None and existing.member_id not in (None, member.id):
        raise Conflict("This chat account already belongs to someone else here.")
    if existing is None:
        session.add(ChatIdentity(channel=actor.channel, external_id=actor.external_id,
                                 member_id=member.id))
    else:
        existing.member_id = member.id
    return Actor(
        actor.channel,
        actor.external_id,
        member_id=member.id,
        organisation_id=member.organisation_id,
        role=member.role,
        verified_email=actor.verified_email,
    )


def find_member_by_email(session: Session, organisation_id: int, email: str) -> Member | None:
    return session.scalar(
        select(Member).where(
            Member.organisation_id == organisation_id,
            func.lower(Member.email) == email.strip().lower(),
        )
    )


def member_of(actor: Actor) -> tuple[int, int]:
    """The actor's member id and organisation, or a refusal if they belong to none yet."""
    if actor.member_id is None or actor.organisation_id is None:
        raise PermissionDenied(
            "I don't know which organisation you belong to yet. Redeem an invite code, "
            "or ask your organisation's admin to add you."
        )
    return actor.member_id, actor.organisation_id


def require_member(actor: Actor) -> int:
    """The actor's organisation, or a refusal if they belong to none yet."""
    return member_of(actor)[1]


def require_admin(actor: Actor) -> int:
    organisation_id = require_member(actor)
    if not actor.is_admin:
        raise PermissionDenied("Only your organisation's admins can do that.")
    return organisation_id


def require_therapist(actor: Actor) -> int:
    if actor.therapist_id is None:
        raise PermissionDenied("Only the therapist of this booking can do that.")
    return actor.therapist_id


def owned_by(session: Session, model: type[Owned], object_id: int, organisation_id: int,
             what: str) -> Owned:
    """The organisation's object with that id. Another organisation's is reported as missing,
    like an unknown id, so that ids reveal nothing."""
    found = session.get(model, object_id)
    if found is None or found.organisation_id != organisation_id:
        raise NotFound(f"No {what} with that id in your organisation.")
    return found
