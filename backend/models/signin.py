"""Portal sign-in: one-time email links and the server-side sessions they open.

Only hashes of secrets are stored: the link's token, the browser nonce the link is bound to, and
the session cookie's token. A session row is the truth: ending it (sign-out, revocation) signs the
person out everywhere, including the chat sockets opened with it (channels/webchat.py asks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime, utcnow


class SignInLink(Base):
    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The hash of the nonce in the HttpOnly cookie of the browser that asked for the link.
    browser_hash: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # who the person signs in as (principals.Kind)
    client: Mapped[str] = mapped_column(String(64), index=True)  # the asking client's address
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PortalSession(Base):
    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named in the widget's identity tokens, so the chat channel can ask whether it still holds.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # member (admins included), therapist, staff
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    method: Mapped[str] = mapped_column(String(16))  # email, oidc, dev
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrganisationSso(Base):
    """An organisation's single sign-on over OpenID Connect (Microsoft Entra ID, Google
    Workspace...): its provider, the client registered there, and whom it admits."""

    __tablename__ = "organisation_sso"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    # Encrypted with SIGNIN_ENCRYPTION_KEY (backend/services/signin/sealing.py).
    client_secret_sealed: Mapped[str] = mapped_column(String(1000))
    # Whom the provider's ID tokens must name: a tenant (`tid`, Entra ID) and/or a domain
    # (`hd`, Google Workspace, or else the verified email's domain).
    allowed_tenant: Mapped[str | None] = mapped_column(String(100))
    allowed_domain: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmbedSecret(Base):
    """A key with which an organisation's intranet signs its employees' identity (HS256) for
    the widget embedded there. Shown once, stored encrypted; rotating keeps the previous one
    valid for a grace period."""

    __tablename__ = "embed_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    secret_sealed: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
