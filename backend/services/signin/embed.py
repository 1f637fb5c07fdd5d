"""The widget on an organisation's own intranet: the intranet signs its signed-in employee's
identity as a JWT (HS256) with a key the organisation holds; the backend checks it and gives the
widget a chat identity token for that member, as the portal does after a sign-in.

Keys are made here (shown once, stored encrypted), and rotating keeps the previous key valid
for EMBED_ROTATION_GRACE_HOURS so that the intranet can switch without an outage. The token must
name the organisation (`iss`), our audience, the employee's email (in the organisation's email
domain, when it has one), and live at most EMBED_TOKEN_MAX_MINUTES.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import func, select

from backend.db import Database
from backend.domain.enums import Role
from backend.domain.errors import NotFound, PermissionDenied
from backend.models import EmbedSecret, Member, Organisation
from backend.models.base import utcnow
from backend.services import audit
from backend.services.actors import SYSTEM, Actor, link_identity
from backend.services.portal import ChatToken
from backend.services.signin import principals
from backend.services.signin.settings import PortalSettings
from contracts import web_identity
from contracts.web_identity import WebIdentity

AUDIENCE = "therapy-sessions-embed"
ALGORITHM = "HS256"
KEY_PREFIX = "emb_"
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class NewKey:
    organisation_id: int
    key: str  # shown once
    previous_valid_until: datetime | None


def rotate_key(db: Database, settings: PortalSettings, organisation_id: int,
               now: datetime | None = None) -> NewKey:
    """A new key for the organisation's intranet; older keys end after the grace period."""
    now = now or utcnow()
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    grace_end = now + timedelta(hours=settings.embed_rotation_grace_hours)
    with db.transaction() as session:
        if session.get(Organisation, organisation_id) is None:
            raise NotFound("No organisation with that id.")
        older = session.scalars(select(EmbedSecret).where(
            EmbedSecret.organisation_id == organisation_id,
            (EmbedSecret.expires_at.is_(None)) | (EmbedSecret.expires_at > grace_end))).all()
        for row in older:
            row.expires_at = grace_end
        session.add(EmbedSecret(organisation_id=organisation_id, created_at=now,
                                secret_sealed=settings.sealer.seal(key)))
        audit.record(session, SYSTEM, "embed.key_rotated", "organisation", organisation_id,
                     organisation_id=organisation_id)
    return NewKey(organisation_id, key, grace_end if older else None)


def _refused() -> PermissionDenied:
    return PermissionDenied("Your intranet's sign-in could not be verified; reload the page.",
                            code="embed_refused")


def _claims(db: Database, settings: PortalSettings, organisation_id: int, token: object,
            now: datetime) -> dict[str, Any]:
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise _refused()
    with db.reader() as session:
        sealed = session.scalars(select(EmbedSecret.secret_sealed).where(
            EmbedSecret.organisation_id == organisation_id,
            (EmbedSecret.expires_at.is_(None)) | (EmbedSecret.expires_at > now))
            .order_by(EmbedSecret.id.desc())).all()
    for value in sealed:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, settings.sealer.open(value), algorithms=[ALGORITHM], audience=AUDIENCE,
                issuer=str(organisation_id), leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "email"], "verify_iat": False})
        except jwt.InvalidSignatureError:
            continue  # perhaps the other (rotated) key
        except jwt.PyJWTError:
            raise _refused() from None
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > settings.embed_token_max_minutes * 60:
            raise _refused()
        return claims
    raise _refused()


def chat_token(db: Database, settings: PortalSettings, organisation_id: object, token: object,
               now: datetime | None = None) -> ChatToken:
    """The widget's identity token for the employee the intranet vouches for."""
    if not isinstance(organisation_id, int) or isinstance(organisation_id, bool):
        raise _refused()
    now = now or utcnow()
    claims = _claims(db, settings, organisation_id, token, now)
    email = principals.normalise_email(claims.get("email"))
    name = claims.get("name") if isinstance(claims.get("name"), str) else None
    with db.transaction() as session:
        organisation = session.get_one(Organisation, organisation_id)
        domain = (organisation.email_domain or "").lower()
        if domain and email.rsplit("@", 1)[1] != domain:
            raise _refused()
        member = session.scalar(select(Member).where(Member.organisation_id == organisation_id,
                                                     func.lower(Member.email) == email))
        if member is None:
            member = Member(organisation_id=organisation_id, role=Role.MEMBER, email=email,
                            name=(name or email.split("@")[0])[:200])
            session.add(member)
            session.flush()
            audit.record(session, SYSTEM, "member.joined_by_embed", "member", member.id,
                         organisation_id=organisation_id)
        link_identity(session, Actor(web_identity.IDENTITY_CHANNEL, str(member.id)), member)
        identity = WebIdentity(member.id, organisation_id, email)
    issued = web_identity.issue_identity_token(settings.tokens, identity)
    return ChatToken(issued, identity.identity, settings.tokens.ttl_seconds)
