"""The first answer to each mutating request a caller sent with an `Idempotency-Key`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime, utcnow


class IdempotentReply(Base):
    """One (caller, key): in progress until the first request's answer is stored, then that
    answer, replayed for every repeat until `expires_at`."""

    __tablename__ = "idempotent_replies"
    __table_args__ = (UniqueConstraint("caller", "key"),
                      Index("ix_idempotent_replies_expires_at", "expires_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    # What the key was first used for (method and path, hashed with the body): a key reused
    # for another request is refused, not answered with the wrong reply.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
