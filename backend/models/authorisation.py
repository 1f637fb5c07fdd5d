"""Authorisations (an organisation's offer to pay), invites to them, and grants (redemptions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.domain.enums import Access, AuthorisationStatus, Coverage
from backend.models.base import Base, UTCDateTime, str_enum, utcnow


class Authorisation(Base):
    __tablename__ = "authorisations"
    __table_args__ = (
        CheckConstraint("sessions_per_user > 0", name="sessions_positive"),
        CheckConstraint("user_limit IS NULL OR user_limit > 0", name="user_limit_positive"),
        CheckConstraint(
            "user_limit IS NULL OR grants_count <= user_limit", name="grants_within_limit"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    coverage: Mapped[Coverage] = mapped_column(str_enum(Coverage))
    sessions_per_user: Mapped[int]
    user_limit: Mapped[int | None]  # None: unlimited users
    access: Mapped[Access] = mapped_column(str_enum(Access), default=Access.INVITE_ONLY)
    status: Mapped[AuthorisationStatus] = mapped_column(
        str_enum(AuthorisationStatus), default=AuthorisationStatus.ACTIVE
    )
    # Places taken; changed only by a guarded UPDATE so that concurrent redemptions stay in limit.
    grants_count: Mapped[int] = mapped_column(default=0)
    payment_method_id: Mapped[str | None] = mapped_column(String(100))
    created_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def places_left(self) -> int | None:
        return None if self.user_limit is None else self.user_limit - self.grants_count


class Invite(Base):
    """One person's way into an authorisation. Only a hash of the code is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    authorisation_id: Mapped[int] = mapped_column(ForeignKey("authorisations.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hint: Mapped[str] = mapped_column(String(8))  # last characters, to tell invites apart
    email: Mapped[str | None] = mapped_column(String(320))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    authorisation: Mapped[Authorisation] = relationship()


class Grant(Base):
    """A member's place on an authorisation, carrying their sessions."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("authorisation_id", "member_id"),
        CheckConstraint("sessions_committed >= 0", name="committed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    authorisation_id: Mapped[int] = mapped_column(ForeignKey("authorisations.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id"))
    # Sessions held by open vouchers plus sessions used; changed only by guarded UPDATEs.
    sessions_committed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    authorisation: Mapped[Authorisation] = relationship()

    @property
    def sessions_remaining(self) -> int:
        return self.authorisation.sessions_per_user - self.sessions_committed


class RedeemAttempt(Base):
    """Invite codes tried by a chat identity: wrong ones count towards the throttle."""

    __tablename__ = "redeem_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(240), index=True)
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
