"""The organisation's portal page: who is signed in, and the chat identity its widget carries.

Real single sign-on is out of scope. With PORTAL_DEV_LOGIN=true (development and demos only) a
visitor may sign in as any member; the portal then vouches for that member to the chat: it links
the chat identity `web:<member id>` to the member and issues short-lived identity tokens (see
contracts/web_identity.py) that the Rasa channel verifies. Without a sign-in the visitor chats
anonymously and cannot act on an organisation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select

from backend.db import Database
from backend.domain.enums import Role
from backend.domain.errors import NotFound, PermissionDenied
from backend.models import Member, Organisation
from backend.services import audit
from backend.services.actors import Actor, link_identity
from backend.services.validation import required
from contracts import web_identity
from contracts.settings import DEFAULT_RASA_SOCKET_PATH, DEFAULT_RASA_SOCKET_URL
from contracts.web_identity import InvalidWebToken, TokenConfig, WebIdentity

SESSION_AUDIENCE = "therapy-portal-session"
MAX_SIGN_IN_CHOICES = 100


class PortalSettings(BaseSettings):
    """Environment variables of the portal page (documented defaults, see README)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    dev_login: bool = Field(False, alias="PORTAL_DEV_LOGIN")
    session_hours: int = Field(8, alias="PORTAL_SESSION_HOURS", gt=0, le=24 * 30)
    # The session cookie's key. Unset: a random key per start (sessions end at a restart).
    session_secret: str = Field("", alias="PORTAL_SESSION_SECRET")
    identity_secret: str = Field(web_identity.DEV_SECRET, alias=web_identity.SECRET_ENV)
    identity_ttl_seconds: int = Field(web_identity.DEFAULT_TTL_SECONDS,
                                      alias=web_identity.TTL_ENV, gt=0, le=3600)
    allowed_origins_text: str = Field("", alias=web_identity.ORIGINS_ENV)
    public_base_url: str = Field(web_identity.DEFAULT_BASE_URL, alias=web_identity.BASE_URL_ENV)
    # Where browsers reach the Rasa server's socket.io endpoint (the widget connects there).
    rasa_socket_url: str = Field(DEFAULT_RASA_SOCKET_URL, alias="RASA_SOCKET_URL")
    rasa_socket_path: str = Field(DEFAULT_RASA_SOCKET_PATH, alias="RASA_SOCKET_PATH")

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < web_identity.MIN_SECRET_LENGTH:
            raise ValueError(f"PORTAL_SESSION_SECRET must be at least "
                             f"{web_identity.MIN_SECRET_LENGTH} characters.")
        return value

    @cached_property
    def session_key(self) -> str:
        secret = self.session_secret or secrets.token_hex(32)
        return TokenConfig(secret).derived_key(SESSION_AUDIENCE)

    @cached_property
    def tokens(self) -> TokenConfig:
        return TokenConfig(self.identity_secret, self.identity_ttl_seconds)

    @cached_property
    def allowed_origins(self) -> frozenset[str]:
        return web_identity.parse_origins(self.allowed_origins_text, self.public_base_url)


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


def dev_sign_in(db: Database, settings: PortalSettings, member_id: int | None) -> PortalUser:
    """Development sign-in as a member. No actor: the caller is, by definition, not yet known."""
    if not settings.dev_login:
        raise PermissionDenied("Development sign-in is turned off on this server "
                               "(PORTAL_DEV_LOGIN).", code="dev_login_off")
    member_id = required(member_id, "member id")
    with db.transaction() as session:
        member = session.get(Member, member_id)
        if member is None:
            raise NotFound("No member with that id.")
        actor = link_identity(session, Actor(web_identity.IDENTITY_CHANNEL, str(member.id)),
                              member)
        audit.record(session, actor, "portal.dev_signed_in", "member", member.id,
                     organisation_id=member.organisation_id)
        return _view(member, session.get_one(Organisation, member.organisation_id))


@dataclass(frozen=True)
class PortalSession:
    user: PortalUser | None
    sign_in_choices: list[PortalUser]


def describe_session(db: Database, settings: PortalSettings,
                     member_id: int | None) -> PortalSession:
    """Who is signed in (per the session cookie) and, in development mode, whom one may be."""
    return PortalSession(signed_in_user(db, member_id), sign_in_choices(db, settings))


def signed_in_user(db: Database, member_id: int | None) -> PortalUser | None:
    if member_id is None:
        return None
    with db.reader() as session:
        row = session.execute(
            select(Member, Organisation)
            .join(Organisation, Organisation.id == Member.organisation_id)
            .where(Member.id == member_id)
        ).first()
        return None if row is None else _view(*row)


def chat_token(db: Database, settings: PortalSettings, member_id: int | None) -> ChatToken:
    """A short-lived identity token for the widget of a signed-in member."""
    user = signed_in_user(db, member_id)
    if user is None:
        raise PermissionDenied("Sign in to the portal to chat as yourself.", code="signed_out")
    identity = WebIdentity(user.member_id, user.organisation_id, user.email)
    token = web_identity.issue_identity_token(settings.tokens, identity)
    return ChatToken(token, identity.identity, settings.tokens.ttl_seconds)


# --- The portal's own session (a signed cookie naming the member) ---------------------------


def session_cookie(settings: PortalSettings, member_id: int) -> str:
    return web_identity.sign_claims(settings.session_key, SESSION_AUDIENCE, str(member_id),
                                    settings.session_hours * 3600)


def member_of_session(settings: PortalSettings, cookie: str | None) -> int | None:
    """The member a session cookie names, or None for a missing, forged or expired one."""
    if not cookie:
        return None
    try:
        claims = web_identity.read_claims(settings.session_key, SESSION_AUDIENCE, cookie)
    except InvalidWebToken:
        return None
    subject = str(claims["sub"])
    return int(subject) if subject.isdigit() and len(subject) <= 18 else None
