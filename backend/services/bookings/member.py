"""A member's bookings: book, list, see what cancelling would mean, cancel, reschedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.payments import PaymentGateway
from backend.db import Database
from backend.domain import cancellation
from backend.domain.booking import Event
from backend.domain.enums import ACTIVE_BOOKING_STATUSES, Modality
from backend.domain.errors import InvalidInput
from backend.models import Booking, Member, Organisation
from backend.models.base import utcnow
from backend.services import audit
from backend.services.actors import Actor, member_of, require_member
from backend.services.bookings import checks, lifecycle, settlement, vouchers
from backend.services.bookings.views import not_found, view
from backend.services.policy import DEFAULT_POLICY, Policy
from backend.services.validation import required
from contracts import answers


@dataclass(frozen=True)
class CancellationPreview:
    booking_id: int
    paid_by_organisation: bool
    late: bool  # inside the cancellation window
    session_returned: bool  # the session goes back to the grant
    window_hours: int
    deadline: datetime  # last moment to cancel (or reschedule) outside the window
    can_reschedule: bool
    message: str


def book(db: Database, actor: Actor, *, therapist_id: int | None, starts_at: datetime | None,
         modality: Modality | None, grant_id: int | None = None, self_pay: bool = False,
         policy: Policy = DEFAULT_POLICY) -> answers.Booking:
    """Request a session. Unless it is self-paid, the backend picks the grant that pays (or
    the named one), joining an all-members offer when none of the member's grants can pay;
    with nothing able to pay, the booking is refused and nothing is taken."""
    member_id, organisation_id = member_of(actor)
    therapist_id = required(therapist_id, "therapist id")
    moment = checks.moment(required(starts_at, "start time"))
    modality = required(modality, "modality")
    if self_pay and grant_id is not None:
        raise InvalidInput("Choose either one of your organisation's offers or paying yourself, "
                           "not both.")
    checks.bookable_time(moment, utcnow(), policy)
    with db.transaction() as session:
        therapist = checks.therapist(session, therapist_id)
        checks.offered_modality(therapist, modality)
        checks.free_slot(session, therapist, moment, policy)
        grant = None if self_pay else vouchers.hold_session(session, actor, therapist.id,
                                                            grant_id)
        booking = lifecycle.insert(session, member_id, therapist.id, moment, modality,
                                   session_minutes=policy.session_minutes)
        if grant is not None:
            vouchers.attach(session, booking.id, grant)
        audit.record(session, actor, "booking.requested", "booking", booking.id,
                     organisation_id=organisation_id, paid_by_organisation=grant is not None,
                     grant_id=None if grant is None else grant.id)
        return view(session, booking)


def list_mine(db: Database, actor: Actor, *, upcoming_only: bool = True) -> list[answers.Booking]:
    require_member(actor)
    with db.reader() as session:
        query = select(Booking).where(Booking.member_id == actor.member_id)
        if upcoming_only:
            query = query.where(Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                                Booking.ends_at > utcnow())
        rows = session.scalars(query.order_by(Booking.starts_at, Booking.id)).all()
        return [view(session, booking) for booking in rows]


def cancellation_preview(db: Database, actor: Actor, booking_id: int, *,
                         policy: Policy = DEFAULT_POLICY) -> CancellationPreview:
    """What cancelling now would mean, for the bot to show before the member confirms."""
    require_member(actor)
    with db.reader() as session:
        booking = _members_booking(session, actor, booking_id)
        lifecycle.ensure(booking, Event.CANCEL_IN_TIME)
        terms = _terms(session, booking, utcnow(), policy)
        return CancellationPreview(
            booking_id=booking.id, paid_by_organisation=terms.paid_by_organisation,
            late=terms.late, session_returned=terms.session_returned,
            window_hours=terms.window_hours, deadline=terms.deadline,
            can_reschedule=terms.can_reschedule, message=cancellation.message(terms, policy.zone),
        )


def cancel(db: Database, actor: Actor, booking_id: int, *, policy: Policy = DEFAULT_POLICY,
           gateway: PaymentGateway | None = None) -> answers.Booking:
    """Cancel by the member: in time the session goes back to the grant, late it is used (and
    charged, through `gateway`); a refund is due for a payment no longer owed."""
    organisation_id = require_member(actor)
    with db.transaction() as session:
        booking = _members_booking(session, actor, booking_id)
        terms = _terms(session, booking, utcnow(), policy)
        lifecycle.apply(session, booking, Event.CANCEL_LATE if terms.late
                        else Event.CANCEL_IN_TIME)
        audit.record(session, actor, "booking.cancelled", "booking", booking.id,
                     organisation_id=organisation_id, late=terms.late)
        payment = settlement.claim(session, booking.id, gateway)
        cancelled = view(session, booking)
    settlement.complete(db, gateway, payment)
    return cancelled


def reschedule(db: Database, actor: Actor, booking_id: int, *, starts_at: datetime | None,
               policy: Policy = DEFAULT_POLICY,
               gateway: PaymentGateway | None = None) -> answers.Booking:
    """Move a booking to another slot of the same therapist, in one transaction: the new
    booking takes over the same voucher, so the grant's session is never released meanwhile."""
    organisation_id = require_member(actor)
    moment = checks.moment(required(starts_at, "start time"))
    now = utcnow()
    checks.bookable_time(moment, now, policy)
    with db.transaction() as session:
        old = _members_booking(session, actor, booking_id)
        lifecycle.ensure(old, Event.RESCHEDULE)
        if moment == old.starts_at:
            raise InvalidInput("That is already the time of this booking. Pick a different slot.")
        terms = _terms(session, old, now, policy)
        if not terms.can_reschedule:
            raise cancellation.too_late_to_reschedule(terms)
        therapist = checks.therapist(session, old.therapist_id)
        checks.free_slot(session, therapist, moment, policy)
        lifecycle.apply(session, old, Event.RESCHEDULE)
        new = lifecycle.insert(session, old.member_id, old.therapist_id, moment, old.modality,
                               session_minutes=policy.session_minutes,
                               rescheduled_from_id=old.id)
        vouchers.move(session, old.id, new.id)
        audit.record(session, actor, "booking.rescheduled", "booking", new.id,
                     organisation_id=organisation_id, rescheduled_from_id=old.id)
        payment = settlement.claim(session, old.id, gateway)  # the old one is no longer owed
        moved = view(session, new)
    settlement.complete(db, gateway, payment)
    return moved


def _members_booking(session: Session, actor: Actor, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.member_id != actor.member_id:
        raise not_found()
    return booking


def _terms(session: Session, booking: Booking, now: datetime,
           policy: Policy) -> cancellation.Terms:
    """The cancellation terms: the organisation's own window, else the operator's."""
    member = session.get_one(Member, booking.member_id)
    window = session.get_one(Organisation, member.organisation_id).cancellation_window_hours
    return cancellation.terms(
        booking.starts_at, now,
        window_hours=cancellation.window_in_force(window, policy.cancellation_window_hours),
        paid_by_organisation=vouchers.voucher_of(session, booking.id) is not None)
