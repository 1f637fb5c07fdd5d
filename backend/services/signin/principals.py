"""Who signs in to the website: a member (admins are members with the admin role), a therapist,
or someone of the service's own team (STAFF_EMAILS). Each kind sees only its own pages."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.enums import Role
from backend.domain.errors import InvalidInput
from backend.models import Member, Organisation, Therapist

MAX_EMAIL_CHARS = 320
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


class Kind(str, enum.Enum):
    MEMBER = "member"
    ADMIN = "admin"
    THERAPIST = "therapist"
    STAFF = "staff"


# What a person asks to sign in as (an admin signs in as a member and is recognised as admin).
SIGN_IN_KINDS = (Kind.MEMBER, Kind.THERAPIST, Kind.STAFF)


@dataclass(frozen=True)
class Principal:
    """The person a portal session belongs to."""

    kind: Kind
    session_id: str  # the session's public id
    name: str
    email: str | None
    member_id: int | None = None
    organisation_id: int | None = None
    organisation_name: str | None = None
    role: Role | None = None
    therapist_id: int | None = None

    @property
    def is_member(self) -> bool:
        """A member of an organisation (admins included): the widget may act for them."""
        return self.kind in (Kind.MEMBER, Kind.ADMIN)


@dataclass(frozen=True)
class Account:
    """Whom an email address (or a single sign-on identity) signs in as: the session's row."""

    kind: Kind
    email: str | None
    member_id: int | None = None
    therapist_id: int | None = None


def normalise_email(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("Type your email address, like name@example.com.",
                           code="invalid_email")
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(email):
        raise InvalidInput("That does not look like an email address; type it like "
                           "name@example.com.", code="invalid_email")
    return email


def sign_in_kind(value: object) -> Kind:
    if value is None:
        return Kind.MEMBER
    try:
        kind = Kind(value)
    except ValueError:
        kind = None
    if kind not in SIGN_IN_KINDS:
        raise InvalidInput("Sign in as a member, a therapist or staff.", code="invalid_kind")
    assert kind is not None
    return kind


def account_for_email(session: Session, email: str, kind: Kind,
                      staff_emails: frozenset[str]) -> Account | None:
    """The account an address signs in to as `kind`; None for an unknown address."""
    if kind is Kind.STAFF:
        return Account(Kind.STAFF, email) if email in staff_emails else None
    if kind is Kind.THERAPIST:
        therapist_id = session.scalar(select(Therapist.id).where(
            func.lower(Therapist.email) == email))
        return None if therapist_id is None else Account(Kind.THERAPIST, email,
                                                         therapist_id=therapist_id)
    # Someone in two organisations with one address signs in to the first (oldest) membership.
    member_id = session.scalar(select(Member.id).where(func.lower(Member.email) == email)
                               .order_by(Member.id).limit(1))
    return None if member_id is None else Account(Kind.MEMBER, email, member_id=member_id)


def load(session: Session, account: Account, session_id: str,
         staff_emails: frozenset[str]) -> Principal | None:
    """The principal of a session's account as it is now (None if it is gone meanwhile)."""
    if account.kind is Kind.STAFF:
        if account.email not in staff_emails:
            return None  # removed from the team: the session no longer holds
        return Principal(Kind.STAFF, session_id, account.email or "", account.email)
    if account.therapist_id is not None:
        therapist = session.get(Therapist, account.therapist_id)
        if therapist is None:
            return None
        return Principal(Kind.THERAPIST, session_id, therapist.name, therapist.email,
                         therapist_id=therapist.id)
    if account.member_id is None:
        return None
    row = session.execute(
        select(Member, Organisation).join(Organisation, Organisation.id == Member.organisation_id)
        .where(Member.id == account.member_id)).first()
    if row is None:
        return None
    member, organisation = row
    kind = Kind.ADMIN if member.role is Role.ADMIN else Kind.MEMBER
    return Principal(kind, session_id, member.name, member.email, member_id=member.id,
                     organisation_id=organisation.id, organisation_name=organisation.name,
                     role=member.role, therapist_id=None)
