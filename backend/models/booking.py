"""Bookings, the vouchers that let the organisation pay for them, and charges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.domain.enums import BookingStatus, ChargeStatus, Modality, VoucherStatus
from backend.models.base import Base, UTCDateTime, str_enum, utcnow

_SLOT_TAKEN = text("status IN ('requested', 'confirmed')")


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        # A slot cannot be booked twice: at most one open booking per therapist and start time.
        Index(
            "uq_bookings_open_slot",
            "therapist_id",
            "starts_at",
            unique=True,
            sqlite_where=_SLOT_TAKEN,
            postgresql_where=_SLOT_TAKEN,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    modality: Mapped[Modality] = mapped_column(str_enum(Modality))
    status: Mapped[BookingStatus] = mapped_column(
        str_enum(BookingStatus), default=BookingStatus.REQUESTED
    )
    # The booking this one replaced when the member rescheduled.
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    voucher: Mapped[Voucher | None] = relationship(back_populates="booking")


class Voucher(Base):
    """Attaches a booking to a grant: the organisation pays for this session."""

    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    status: Mapped[VoucherStatus] = mapped_column(
        str_enum(VoucherStatus), default=VoucherStatus.HELD
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship(back_populates="voucher")


class Charge(Base):
    """One session charged to the organisation's card; one per booking at most."""

    __tablename__ = "charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    authorisation_id: Mapped[int] = mapped_column(ForeignKey("authorisations.id"), index=True)
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ChargeStatus] = mapped_column(
        str_enum(ChargeStatus), default=ChargeStatus.PENDING
    )
    # Each attempt has its own key: Stripe replays a key's first answer (a decline included),
    # so a retry after the card changed must use a new one.
    attempt: Mapped[int] = mapped_column(default=1)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    provider_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    refund_reference: Mapped[str | None] = mapped_column(String(100))
    failure_code: Mapped[str | None] = mapped_column(String(100))
    # The reconciliation sweep's bookkeeping: how many times it has asked the provider about
    # what this charge still needs (the payment or its refund), and when it may ask again.
    tries: Mapped[int] = mapped_column(default=0, server_default="0")
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
