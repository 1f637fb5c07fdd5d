"""The organisation's saved cards, Stripe events already handled, and notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime, utcnow
from contracts.push import SlotValue


class PaymentCard(Base):
    """A card saved on Stripe's hosted page for an organisation. Only what the admin may see is
    kept: brand, last four digits, expiry. The newest set-up card is the one charged."""

    __tablename__ = "payment_cards"
    __table_args__ = (UniqueConstraint("organisation_id", "provider_reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    provider_reference: Mapped[str] = mapped_column(String(100))  # Stripe PaymentMethod "pm_..."
    brand: Mapped[str] = mapped_column(String(32))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int | None]
    exp_year: Mapped[int | None]
    # When Stripe set it up: orders cards whatever order the webhooks arrive in.
    set_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeEvent(Base):
    """A webhook event already processed: a replay or duplicate of it changes nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(32))  # "applied" or "ignored"
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """A message for one member (admins get one row each): pushed to each of the member's chat
    identities by the dispatcher (backend/models/notifications.py, its deliveries), or said by
    the bot at the member's next turn when nothing was pushed yet."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "member_id", "delivered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # Buttons shown with the text ([{"title", "payload"}]) and conversation slots to set.
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    slots: Mapped[dict[str, SlotValue] | None] = mapped_column(JSON)
    # One notification per event and person ("booking-12-confirmed-member-3"): an event seen
    # twice (a retried request, two schedulers) tells once.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
