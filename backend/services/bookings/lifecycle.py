"""The data layer's enforcement of the booking lifecycle (backend/domain/booking.py).

Status changes are guarded UPDATEs (`WHERE status IN (the states the table allows)`), so two
requests racing on the same booking cannot both move it; the voucher follows the table's
outcome, itself guarded, so a session is released at most once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import changed_rows
from backend.domain import booking as lifecycle
from backend.domain.booking import Event
from backend.domain.enums import BookingStatus, Modality
from backend.domain.errors import Conflict
from backend.models import Booking
from backend.models.base import utcnow
from backend.services.bookings.vouchers import settle

SLOT_TAKEN = "Sorry, that slot has just been taken. Please pick another time."


def ensure(booking: Booking, event: Event) -> None:
    """Refuse early, with the table's wording, when the booking's state does not allow it."""
    lifecycle.check(booking.status, event)


def apply(session: Session, booking: Booking, event: Event) -> None:
    """Move the booking as the table says, only if it is still in a state that allows it,
    and settle its voucher (if any) the same way."""
    outcome = lifecycle.outcome(event)
    moved = changed_rows(
        session,
        update(Booking)
        .where(Booking.id == booking.id, Booking.status.in_(lifecycle.allowed_from(event)))
        .values(status=outcome.status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(booking)
    if moved != 1:
        raise lifecycle.refusal(booking.status, event)
    if outcome.voucher is not outcome.voucher_from:
        settle(session, booking.id, outcome.voucher, from_status=outcome.voucher_from)


def insert(session: Session, member_id: int, therapist_id: int, moment: datetime,
           modality: Modality, *, session_minutes: int,
           rescheduled_from_id: int | None = None) -> Booking:
    """A new requested booking; the partial unique index refuses a slot taken meanwhile."""
    booking = Booking(
        member_id=member_id, therapist_id=therapist_id, starts_at=moment,
        ends_at=moment + timedelta(minutes=session_minutes), modality=modality,
        status=BookingStatus.REQUESTED, rescheduled_from_id=rescheduled_from_id,
    )
    try:
        with session.begin_nested():
            session.add(booking)
    except IntegrityError as error:
        # The partial unique index uq_bookings_open_slot: someone took the slot meanwhile.
        if "uq_bookings_open_slot" in str(error) or "bookings.starts_at" in str(error):
            raise Conflict(SLOT_TAKEN, code="slot_taken") from None
        raise
    return booking
