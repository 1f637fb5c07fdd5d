"""Registering an organisation and managing its admins."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain import admins, cancellation
from backend.domain.enums import Role
from backend.domain.errors import Conflict
from backend.models import Member, Organisation
from backend.services import audit
from backend.services.actors import (
    Actor,
    find_member_by_email,
    link_identity,
    owned_by,
    require_admin,
)
from backend.services.validation import required
from contracts import answers


def register(db: Database, actor: Actor, *, name: str | None, admin_name: str | None,
             admin_email: str | None, email_domain: str | None = None) -> Actor:
    """A new organisation with the speaker as its first admin. Names and addresses come
    trimmed and checked from the API edge; None is "not given"."""
    name = required(name, "organisation name")
    admin_name = required(admin_name, "your name")
    admin_email = required(admin_email, "email address")
    if actor.member_id is not None:
        raise Conflict("You already belong to an organisation here.")
    with db.transaction() as session:
        organisation = Organisation(name=name, email_domain=email_domain)
        session.add(organisation)
        session.flush()
        admin = Member(organisation_id=organisation.id, name=admin_name, email=admin_email,
                       role=Role.ADMIN)
        session.add(admin)
        session.flush()
        linked = link_identity(session, actor, admin)
        audit.record(session, linked, "organisation.registered", "organisation",
                     organisation.id, organisation_id=organisation.id, name=name)
        return linked


def add_admin(db: Database, actor: Actor, *, name: str | None, email: str | None) -> int:
    """Make someone an admin of the actor's organisation (a new or an existing member)."""
    organisation_id = require_admin(actor)
    name = required(name, "name")
    email = required(email, "email address")
    with db.transaction() as session:
        member = find_member_by_email(session, organisation_id, email)
        if member is None:
            member = Member(organisation_id=organisation_id, name=name, email=email,
                            role=Role.ADMIN)
            session.add(member)
        else:
            member.role = Role.ADMIN
        session.flush()
        audit.record(session, actor, "admin.added", "member", member.id,
                     organisation_id=organisation_id)
        return member.id


def list_admins(db: Database, actor: Actor) -> list[answers.Admin]:
    organisation_id = require_admin(actor)
    with db.reader() as session:
        found = session.scalars(
            select(Member).where(Member.organisation_id == organisation_id,
                                 Member.role == Role.ADMIN).order_by(Member.id)
        ).all()
        return [_admin_view(member) for member in found]


def remove_admin(db: Database, actor: Actor, member_id: int) -> answers.Admin:
    """Take someone's admin role away (they stay a member); never the organisation's last admin.
    Admin changes of one organisation take turns (its row is locked), so two admins removing
    each other at once cannot leave it without one."""
    organisation_id = require_admin(actor)
    with db.transaction() as session:
        session.execute(select(Organisation.id).where(Organisation.id == organisation_id)
                        .with_for_update())
        member = owned_by(session, Member, member_id, organisation_id, "person")
        if not member.is_admin:
            return _admin_view(member)
        others = session.scalars(
            select(Member.id).where(Member.organisation_id == organisation_id,
                                    Member.role == Role.ADMIN, Member.id != member.id)
        ).all()
        admins.check_removal(member.name, len(others))
        member.role = Role.MEMBER
        audit.record(session, actor, "admin.removed", "member", member.id,
                     organisation_id=organisation_id)
        return _admin_view(member)


def _admin_view(member: Member) -> answers.Admin:
    return answers.Admin(member_id=member.id, name=member.name, email=member.email,
                         is_admin=member.is_admin)


def set_cancellation_window(db: Database, actor: Actor, hours: int | None) -> answers.Organisation:
    """The organisation's own cancellation window: cancelling later than this many hours before
    a session uses it. It applies to every cancellation from now on, bookings made earlier too."""
    organisation_id = require_admin(actor)
    hours = cancellation.checked_window(required(hours, "number of hours"))
    return _change(db, actor, organisation_id, "cancellation_window_hours", hours,
                   "organisation.cancellation_window_changed")


def set_email_domain(db: Database, actor: Actor, domain: str | None) -> answers.Organisation:
    """The organisation's work email domain: someone speaking from its connected Slack
    workspace or Teams tenant with a verified address at it counts as a member (offers open to
    all members) without an invite (services/identities.py); the website's sign-in and the
    intranet widget read it too (services/signin/). Comes checked and lower-cased from the API
    edge."""
    organisation_id = require_admin(actor)
    domain = required(domain, "email domain")
    return _change(db, actor, organisation_id, "email_domain", domain,
                   "organisation.email_domain_changed")


def _change(db: Database, actor: Actor, organisation_id: int, setting: str, value: object,
            action: str) -> answers.Organisation:
    """One of the organisation's own settings, audited with its value before and after."""
    with db.transaction() as session:
        organisation = session.get_one(Organisation, organisation_id)
        before = getattr(organisation, setting)
        setattr(organisation, setting, value)
        audit.record(session, actor, action, "organisation", organisation_id,
                     organisation_id=organisation_id, before=before, after=value)
        return _view(session, organisation)


def describe(db: Database, actor: Actor) -> answers.Organisation:
    organisation_id = require_admin(actor)
    with db.reader() as session:
        return _view(session, session.get_one(Organisation, organisation_id))


def _view(session: Session, organisation: Organisation) -> answers.Organisation:
    roles = session.scalars(
        select(Member.role).where(Member.organisation_id == organisation.id)
    ).all()
    return answers.Organisation(
        id=organisation.id,
        name=organisation.name,
        email_domain=organisation.email_domain,
        cancellation_window_hours=organisation.cancellation_window_hours,
        admins=sum(role is Role.ADMIN for role in roles),
        members=len(roles),
    )
