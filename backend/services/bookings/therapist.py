"""A therapist's answers: list requests, confirm, decline, complete, cancel, waive."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from backend.adapters.payments import PaymentGateway
from backend.db import Database
from backend.domain import booking as lifecycle_rules
from backend.domain.booking import Event
from backend.domain.enums import BookingStatus
from backend.domain.errors import Conflict
from backend.models import Booking, Member
from backend.models.base import utcnow
from backend.services import audit
from backend.services.actors import Actor, require_therapist
from backend.services.bookings import lifecycle, settlement, vouchers
from backend.services.bookings.views import not_found, view
from backend.services.outbox import events
from contracts import answers

_AUDIT_ACTIONS = {
    Event.CONFIRM: "booking.confirmed",
    Event.DECLINE: "booking.declined",
    Event.COMPLETE: "booking.completed",
    Event.CANCEL_BY_THERAPIST: "booking.cancelled_by_therapist",
    Event.WAIVE: "booking.late_cancellation_waived",
}


def list_for_therapist(db: Database, actor: Actor, *,
                       status: BookingStatus = BookingStatus.REQUESTED) -> list[answers.Booking]:
    therapist_id = require_therapist(actor)
    with db.reader() as session:
        rows = session.scalars(
            select(Booking)
            .where(Booking.therapist_id == therapist_id, Booking.status == status)
            .order_by(Booking.starts_at, Booking.id)
        ).all()
        return [view(session, booking, for_therapist=True) for booking in rows]


def confirm(db: Database, actor: Actor, booking_id: int, *,
            gateway: PaymentGateway | None = None,
            calendar_link: Callable[[int], str] | None = None) -> answers.Booking:
    """Confirm a requested session; the organisation's card is charged for it through `gateway`
    when its organisation pays."""
    return answer(db, actor, booking_id, Event.CONFIRM, gateway=gateway,
                  calendar_link=calendar_link)


def decline(db: Database, actor: Actor, booking_id: int, *,
            gateway: PaymentGateway | None = None) -> answers.Booking:
    return answer(db, actor, booking_id, Event.DECLINE, gateway=gateway)


def complete(db: Database, actor: Actor, booking_id: int, *,
             gateway: PaymentGateway | None = None) -> answers.Booking:
    return answer(db, actor, booking_id, Event.COMPLETE, gateway=gateway)


def cancel_by_therapist(db: Database, actor: Actor, booking_id: int, *,
                        gateway: PaymentGateway | None = None) -> answers.Booking:
    """The therapist cancels: the member never loses the session, however late."""
    return answer(db, actor, booking_id, Event.CANCEL_BY_THERAPIST, gateway=gateway)


def waive_late_cancellation(db: Database, actor: Actor, booking_id: int, *,
                            gateway: PaymentGateway | None = None) -> answers.Booking:
    """The therapist lets a late cancellation off: the session goes back to the grant, and a
    charge already taken for it is refunded."""
    return answer(db, actor, booking_id, Event.WAIVE, gateway=gateway)


def answer(db: Database, actor: Actor, booking_id: int, event: Event, *,
           gateway: PaymentGateway | None = None,
           calendar_link: Callable[[int], str] | None = None) -> answers.Booking:
    """Apply the therapist's `event` to one of their bookings, as the lifecycle table says,
    settle what the organisation owes for it and tell the member (a confirmation or a decline,
    with `calendar_link` of a confirmed booking's calendar file) in the same transaction."""
    therapist_id = require_therapist(actor)
    with db.transaction() as session:
        booking = session.get(Booking, booking_id)
        if booking is None or booking.therapist_id != therapist_id:
            raise not_found()
        lifecycle.ensure(booking, event)
        problem = lifecycle_rules.timing_problem(event, booking.starts_at, utcnow())
        if problem is not None:
            raise Conflict(problem)
        if event is Event.WAIVE:
            # Nothing to move: the booking stays cancelled; only a used voucher is given back.
            outcome = lifecycle_rules.outcome(event)
            if not vouchers.settle(session, booking.id, outcome.voucher,
                                   from_status=outcome.voucher_from):
                raise lifecycle_rules.refusal(booking.status, event)
        else:
            lifecycle.apply(session, booking, event)
        if event in (Event.CONFIRM, Event.DECLINE):
            events.booking_answered(session, booking, event is Event.CONFIRM, utcnow(),
                                    calendar_link=calendar_link)
        member = session.get_one(Member, booking.member_id)
        audit.record(session, actor, _AUDIT_ACTIONS[event], "booking", booking.id,
                     organisation_id=member.organisation_id)
        payment = settlement.claim(session, booking.id, gateway)
        answered = view(session, booking, for_therapist=True)
    settlement.complete(db, gateway, payment)
    return answered
