"""Builders for test data, going through the service layer wherever a use case exists."""

from __future__ import annotations

import itertools

from backend.db import Database
from backend.domain.enums import Access, Coverage, Role
from backend.models import ChatIdentity, Member
from backend.services import actors, authorisations, invites, organisations
from contracts import answers

_counter = itertools.count(1)


def new_identity(channel: str = "test") -> str:
    return f"{channel}:user-{next(_counter)}"


def register_organisation(db: Database, name: str = "Acme Ltd") -> actors.Actor:
    """A new organisation; returns its first admin."""
    identity = new_identity()
    n = next(_counter)
    return organisations.register(
        db, actors.resolve(db, identity), name=name, admin_name=f"Admin {n}",
        admin_email=f"admin{n}@example.com",
    )


def add_member(db: Database, organisation_id: int, *, role: Role = Role.MEMBER,
               email: str | None = None) -> actors.Actor:
    """A member already known to the organisation, with a linked chat identity."""
    identity = new_identity()
    n = next(_counter)
    with db.transaction() as session:
        member = Member(organisation_id=organisation_id, name=f"Person {n}",
                        email=email or f"person{n}@example.com", role=role)
        session.add(member)
        session.flush()
        parsed = actors.parse_identity(identity)
        session.add(ChatIdentity(channel=parsed.channel, external_id=parsed.external_id,
                                 member_id=member.id))
    return actors.resolve(db, identity)


def stranger(db: Database) -> actors.Actor:
    """A verified chat identity the backend has never seen."""
    return actors.resolve(db, new_identity())


def authorisation(
    db: Database, admin: actors.Actor, **overrides
) -> answers.Authorisation:
    """An authorisation; `coverage` and `access` may be given as their words."""
    fields = {"coverage": "first_relationship", "sessions_per_user": 7, "user_limit": 5,
              **overrides}
    fields["coverage"] = Coverage(fields["coverage"])
    fields["access"] = Access(fields.get("access", Access.INVITE_ONLY))
    return authorisations.create(db, admin, **fields)


def member_with_grant(db: Database, admin: actors.Actor, authorisation_id: int):
    """A new person who redeemed an invite to the authorisation: (actor, grant)."""
    invite = invites.create(db, admin, authorisation_id)
    redemption = invites.redeem(db, stranger(db), invite.code)
    return redemption.actor, redemption.grant
