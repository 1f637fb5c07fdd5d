"""Organisations, the people in them, and the chat identities they speak through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.domain.enums import Role
from backend.models.base import Base, UTCDateTime, str_enum, utcnow


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Work email domain whose verified addresses count as members (access "all members").
    email_domain: Mapped[str | None] = mapped_column(String(200), index=True)
    # Policy overrides; None means the operator's default (see Settings).
    cancellation_window_hours: Mapped[int | None]
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100))
    # The Slack workspace (team id "T...") and Microsoft Teams tenant (AAD tenant id) whose
    # verified users this organisation recognises (see backend/services/identities.py).
    slack_team_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    teams_tenant_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[Member]] = relationship(back_populates="organisation")


class Member(Base):
    """A person of an organisation; admins are members with the admin role."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.MEMBER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="members")

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class ChatIdentity(Base):
    """A verified chat account (Slack user, Teams user, website login) bound to a member or a
    therapist. `external_id` is whatever the channel proves: "T123:U456" for Slack, etc."""

    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
