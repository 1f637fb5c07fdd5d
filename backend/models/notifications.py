"""The outbox's deliveries: one push of a notification to one chat identity of its member."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.enums import DeliveryState
from backend.models.base import Base, UTCDateTime, str_enum, utcnow


class NotificationDelivery(Base):
    """Written in the transaction that writes its notification; claimed by a dispatcher with a
    lease (`UPDATE ... WHERE state ...`), so two dispatchers, or one restarted after a crash,
    never send it at the same time; `dedupe_key` travels with the push, and the channel and the
    conversation drop a key they have already seen."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    # The chat identity pushed to, in contracts/identity.py's format ("slack:T1:U2").
    identity: Mapped[str] = mapped_column(String(200))
    dedupe_key: Mapped[str] = mapped_column(String(250), unique=True)
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState),
                                                 default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
