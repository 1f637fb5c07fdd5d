"""The organisation's portal page: who is signed in, and the chat identity its widget carries.

People sign in by a one-time email link (backend/services/signin/links.py); each sign-in opens a
server-side session (signin/sessions.py). The portal vouches for a signed-in member to the chat:
the chat identity `web:<member id>` is linked to the member and the widget gets short-lived
identity tokens (contracts/web_identity.py) naming the member and the session, which the Rasa
channel verifies. With PORTAL_DEV_LOGIN=true (development and demos only, refused in production)
a visitor may also sign in as any member. Without a sign-in the visitor chats anonymously and
cannot act on an organisation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from backend.db import Database
from backend.domain.enums import Role
from backend.domain.errors import NotFound, PermissionDenied
from backend.models import Member, Organisation
from backend.services.signin import sessions
from backend.services.signin.principals import Account, Kind, Principal
from backend.services.signin.settings import PortalSettings
from backend.services.validation import required
from contracts import web_identity
from contracts.web_identity import WebIdentity

__all__ = ["ChatToken", "PortalSettings", "PortalUser", "chat_token", "dev_sign_in",
           "sign_in_choices", "user_of"]

MAX_SIGN_IN_CHOICES = 100


@dataclass(frozen=True)
class PortalUser:
    member_id: int
    organisation_id: int
    organisation_name: str
    name: str
    email: str | None
    role: Role


@dataclass(frozen=True)
class ChatToken:
    token: str
    identity: str
    expires_in: int


def _view(member: Member, organisation: Organisation) -> PortalUser:
    return PortalUser(member.id, organisation.id, organisation.name, member.name, member.email,
                      member.role)


def user_of(principal: Principal | None) -> PortalUser | None:
    """The member view of a signed-in member or admin (None for other kinds)."""
    if principal is None or not principal.is_member:
        return None
    assert principal.member_id is not None and principal.organisation_id is not None
    return PortalUser(principal.member_id, principal.organisation_id,
                      principal.organisation_name or "", principal.name, principal.email,
                      principal.role or Role.MEMBER)


def sign_in_choices(db: Database, settings: PortalSettings) -> list[PortalUser]:
    """The people one may sign in as in development mode (none when it is off)."""
    if not settings.dev_login:
        return []
    with db.reader() as session:
        rows = session.execute(
            select(Member, Organisation)
            .join(Organisation, Organisation.id == Member.organisation_id)
            .order_by(Organisation.id, Member.id)
            .limit(MAX_SIGN_IN_CHOICES)
        ).all()
        return [_view(member, organisation) for member, organisation in rows]


def dev_sign_in(db: Database, settings: PortalSettings,
                member_id: int | None) -> sessions.Started:
    """Development sign-in as a member: a session like any other, marked "dev"."""
    if not settings.dev_login:
        raise PermissionDenied("Development sign-in is turned off on this server "
                               "(PORTAL_DEV_LOGIN).", code="dev_login_off")
    member_id = required(member_id, "member id")
    with db.transaction() as session:
        member = session.get(Member, member_id)
        if member is None:
            raise NotFound("No member with that id.")
        return sessions.start(session, settings, Account(Kind.MEMBER, member.email,
                                                         member_id=member.id), "dev")


def chat_token(settings: PortalSettings, principal: Principal | None) -> ChatToken:
    """A short-lived identity token for the widget of a signed-in member, naming the session."""
    if principal is None:
        raise PermissionDenied("Sign in to the portal to chat as yourself.", code="signed_out")
    if not principal.is_member:
        raise PermissionDenied("The chat acts for members of an organisation; sign in with "
                               "your organisation's address.", code="wrong_kind")
    assert principal.member_id is not None and principal.organisation_id is not None
    identity = WebIdentity(principal.member_id, principal.organisation_id, principal.email,
                           principal.session_id)
    token = web_identity.issue_identity_token(settings.tokens, identity)
    return ChatToken(token, identity.identity, settings.tokens.ttl_seconds)
