"""What a booking looks like to its member and to its therapist."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.enums import VoucherStatus
from backend.domain.errors import NotFound
from backend.models import Booking, Grant, Member, Therapist
from backend.services import grants, spelling
from backend.services.actors import Actor
from backend.services.bookings.vouchers import voucher_of
from contracts import answers


def get(db: Database, actor: Actor, booking_id: int) -> answers.Booking:
    """One booking, for its member or its therapist; anyone else is told it does not exist."""
    with db.reader() as session:
        booking = session.get(Booking, booking_id)
        if booking is not None and actor.member_id is not None \
                and booking.member_id == actor.member_id:
            return view(session, booking)
        if booking is not None and actor.therapist_id is not None \
                and booking.therapist_id == actor.therapist_id:
            return view(session, booking, for_therapist=True)
        raise not_found()


def not_found() -> NotFound:
    return NotFound("I can't find a booking of yours with that id.")


def view(session: Session, booking: Booking, *, for_therapist: bool = False) -> answers.Booking:
    therapist = session.get_one(Therapist, booking.therapist_id)
    voucher = voucher_of(session, booking.id)
    grant = row = None
    if voucher is not None and not for_therapist:
        row = session.get_one(Grant, voucher.grant_id, populate_existing=True)
        grant = grants.view(row)
    member = session.get(Member, booking.member_id) if for_therapist else None
    return answers.Booking(
        id=booking.id,
        therapist_id=therapist.id,
        therapist_name=therapist.name,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        modality=spelling.modality(booking.modality),
        status=spelling.booking_status(booking.status),
        paid_by_organisation=voucher is not None and voucher.status is not VoucherStatus.RELEASED,
        grant_id=None if grant is None else grant.id,
        offer_name=None if row is None else row.authorisation.name,
        sessions_remaining_on_grant=None if grant is None else grant.sessions_remaining,
        voucher_status=None if voucher is None else spelling.voucher_status(voucher.status),
        rescheduled_from_id=booking.rescheduled_from_id,
        member_name=None if member is None else member.name,
    )
