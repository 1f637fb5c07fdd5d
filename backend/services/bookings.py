"""Bookings: members book, cancel and reschedule; therapists confirm, decline and complete.

A voucher ties a booking to one of the member's grants so that the organisation pays. Booking
holds one session of the grant (a guarded UPDATE of `Grant.sessions_committed`); a decline or a
timely cancellation releases it (guarded decrement); a late cancellation or a completed session
uses it. Nothing is charged here: the payments work reads `Voucher.status`.

Status changes are guarded UPDATEs too (`WHERE status IN (...)`), so two requests racing on the
same booking cannot both move it, and a session is released at most once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain import coverage as coverage_rules
from backend.domain.cancellation import released_on_cancel
from backend.domain.enums import (
    ACTIVE_BOOKING_STATUSES,
    AuthorisationStatus,
    BookingStatus,
    Modality,
    VoucherStatus,
)
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.models import (
    Authorisation,
    Booking,
    Grant,
    Member,
    Organisation,
    Therapist,
    Voucher,
)
from backend.models.base import utcnow
from backend.services import audit, grants
from backend.services.actors import Actor, require_member, require_therapist
from backend.services.therapists import is_free_slot
from backend.services.validation import choice, identifier
from backend.settings import get_settings

SLOT_TAKEN = "Sorry, that slot has just been taken. Please pick another time."
MAX_TIME_TEXT = 64

_STATE_PHRASES = {
    BookingStatus.REQUESTED: "is still waiting for the therapist to confirm it",
    BookingStatus.CONFIRMED: "has already been confirmed",
    BookingStatus.DECLINED: "was declined by the therapist",
    BookingStatus.COMPLETED: "has already taken place",
    BookingStatus.CANCELLED: "has been cancelled",
}


@dataclass(frozen=True)
class BookingView:
    id: int
    therapist_id: int
    therapist_name: str
    starts_at: datetime
    ends_at: datetime
    modality: Modality
    status: BookingStatus
    paid_by_organisation: bool
    grant_id: int | None  # None for the therapist, who does not need the member's grants
    sessions_remaining_on_grant: int | None
    voucher_status: VoucherStatus | None
    rescheduled_from_id: int | None
    member_name: str | None  # only in the therapist's views


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


@dataclass(frozen=True)
class _Terms:
    window_hours: int
    deadline: datetime
    late: bool


# --- member side -------------------------------------------------------------------------------


def book(db: Database, actor: Actor, *, therapist_id: object, starts_at: object,
         modality: object, grant_id: object = None, self_pay: object = False) -> BookingView:
    """Request a session. With no grant named and no `self_pay`, the member's usable grant with
    the most sessions left pays; with none usable, the booking is refused."""
    organisation_id = require_member(actor)
    therapist_id = identifier(therapist_id, "therapist id")
    moment = _moment(starts_at)
    modality = choice(modality, Modality, "modality")
    grant_id = None if grant_id is None else identifier(grant_id, "grant id")
    if not isinstance(self_pay, bool):
        raise InvalidInput("Say whether you pay yourself with true or false.")
    if self_pay and grant_id is not None:
        raise InvalidInput("Choose either one of your organisation's offers or paying yourself, "
                           "not both.")
    _check_bookable_time(moment, utcnow())
    with db.transaction() as session:
        therapist = _therapist(session, therapist_id)
        _check_modality(therapist, modality)
        _check_free_slot(session, therapist, moment)
        grant = None if self_pay else _hold_session(session, actor.member_id, therapist.id,
                                                    grant_id)
        booking = _insert_booking(session, actor.member_id, therapist.id, moment, modality)
        if grant is not None:
            session.add(Voucher(booking_id=booking.id, grant_id=grant.id))
            session.flush()
        audit.record(session, actor, "booking.requested", "booking", booking.id,
                     organisation_id=organisation_id, paid_by_organisation=grant is not None,
                     grant_id=None if grant is None else grant.id)
        return _view(session, booking)


def get(db: Database, actor: Actor, booking_id: object) -> BookingView:
    """One booking, for its member or its therapist; anyone else is told it does not exist."""
    booking_id = identifier(booking_id, "booking id")
    with db.reader() as session:
        booking = session.get(Booking, booking_id)
        if booking is not None and actor.member_id is not None \
                and booking.member_id == actor.member_id:
            return _view(session, booking)
        if booking is not None and actor.therapist_id is not None \
                and booking.therapist_id == actor.therapist_id:
            return _view(session, booking, for_therapist=True)
        raise _not_found()


def list_mine(db: Database, actor: Actor, *, upcoming_only: object = True) -> list[BookingView]:
    require_member(actor)
    if not isinstance(upcoming_only, bool):
        raise InvalidInput("Say whether you want only upcoming bookings with true or false.")
    with db.reader() as session:
        query = select(Booking).where(Booking.member_id == actor.member_id)
        if upcoming_only:
            query = query.where(Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                                Booking.ends_at > utcnow())
        rows = session.scalars(query.order_by(Booking.starts_at, Booking.id)).all()
        return [_view(session, booking) for booking in rows]


def cancellation_preview(db: Database, actor: Actor, booking_id: object) -> CancellationPreview:
    """What cancelling now would mean, for the bot to show before the member confirms."""
    require_member(actor)
    booking_id = identifier(booking_id, "booking id")
    with db.reader() as session:
        booking = _members_booking(session, actor, booking_id)
        _ensure_in(booking, ACTIVE_BOOKING_STATUSES, "cancelled")
        terms = _terms(session, booking, utcnow())
        paid = _voucher(session, booking.id) is not None
        return CancellationPreview(
            booking_id=booking.id, paid_by_organisation=paid, late=terms.late,
            session_returned=paid and not terms.late, window_hours=terms.window_hours,
            deadline=terms.deadline, can_reschedule=not terms.late,
            message=_cancellation_message(terms, paid),
        )


def cancel(db: Database, actor: Actor, booking_id: object) -> BookingView:
    """Cancel by the member: in time the session goes back to the grant, late it is used."""
    organisation_id = require_member(actor)
    booking_id = identifier(booking_id, "booking id")
    with db.transaction() as session:
        booking = _members_booking(session, actor, booking_id)
        terms = _terms(session, booking, utcnow())
        _move(session, booking, ACTIVE_BOOKING_STATUSES, BookingStatus.CANCELLED, "cancelled")
        outcome = VoucherStatus.USED if terms.late else VoucherStatus.RELEASED
        _settle(session, booking.id, outcome)
        audit.record(session, actor, "booking.cancelled", "booking", booking.id,
                     organisation_id=organisation_id, late=terms.late)
        return _view(session, booking)


def reschedule(db: Database, actor: Actor, booking_id: object, *,
               starts_at: object) -> BookingView:
    """Move a booking to another slot of the same therapist, in one transaction: the new
    booking takes over the same voucher, so the grant's session is never released meanwhile."""
    organisation_id = require_member(actor)
    booking_id = identifier(booking_id, "booking id")
    moment = _moment(starts_at)
    now = utcnow()
    _check_bookable_time(moment, now)
    with db.transaction() as session:
        old = _members_booking(session, actor, booking_id)
        _ensure_in(old, ACTIVE_BOOKING_STATUSES, "rescheduled")
        if moment == old.starts_at:
            raise InvalidInput("That is already the time of this booking. Pick a different slot.")
        terms = _terms(session, old, now)
        if terms.late:
            raise Conflict(
                f"This session starts in less than {terms.window_hours} hours, so it can no "
                "longer be moved. You can still cancel it (it would count as used), or ask your "
                "therapist.", code="inside_cancellation_window")
        therapist = _therapist(session, old.therapist_id)
        _check_free_slot(session, therapist, moment)
        _move(session, old, ACTIVE_BOOKING_STATUSES, BookingStatus.CANCELLED, "rescheduled")
        new = _insert_booking(session, old.member_id, old.therapist_id, moment, old.modality,
                              rescheduled_from_id=old.id)
        voucher = _voucher(session, old.id)
        if voucher is not None:
            session.execute(
                update(Voucher)
                .where(Voucher.id == voucher.id, Voucher.status == VoucherStatus.HELD)
                .values(booking_id=new.id)
                .execution_options(synchronize_session=False)
            )
        audit.record(session, actor, "booking.rescheduled", "booking", new.id,
                     organisation_id=organisation_id, rescheduled_from_id=old.id)
        return _view(session, new)


# --- therapist side ----------------------------------------------------------------------------


def list_for_therapist(db: Database, actor: Actor, *,
                       status: object = BookingStatus.REQUESTED.value) -> list[BookingView]:
    therapist_id = require_therapist(actor)
    status = choice(status, BookingStatus, "booking status")
    with db.reader() as session:
        rows = session.scalars(
            select(Booking)
            .where(Booking.therapist_id == therapist_id, Booking.status == status)
            .order_by(Booking.starts_at, Booking.id)
        ).all()
        return [_view(session, booking, for_therapist=True) for booking in rows]


def confirm(db: Database, actor: Actor, booking_id: object) -> BookingView:
    def change(session: Session, booking: Booking) -> None:
        _ensure_in(booking, (BookingStatus.REQUESTED,), "confirmed")
        if booking.starts_at <= utcnow():
            raise Conflict("This session's time has already passed, so it can't be confirmed.")
        _move(session, booking, (BookingStatus.REQUESTED,), BookingStatus.CONFIRMED, "confirmed")

    return _therapist_change(db, actor, booking_id, "booking.confirmed", change)


def decline(db: Database, actor: Actor, booking_id: object) -> BookingView:
    def change(session: Session, booking: Booking) -> None:
        _move(session, booking, (BookingStatus.REQUESTED,), BookingStatus.DECLINED, "declined")
        _settle(session, booking.id, VoucherStatus.RELEASED)

    return _therapist_change(db, actor, booking_id, "booking.declined", change)


def complete(db: Database, actor: Actor, booking_id: object) -> BookingView:
    def change(session: Session, booking: Booking) -> None:
        _ensure_in(booking, (BookingStatus.CONFIRMED,), "marked as completed")
        if booking.starts_at > utcnow():
            raise Conflict("A session can be marked as completed once it has started.")
        _move(session, booking, (BookingStatus.CONFIRMED,), BookingStatus.COMPLETED,
              "marked as completed")
        _settle(session, booking.id, VoucherStatus.USED)

    return _therapist_change(db, actor, booking_id, "booking.completed", change)


def cancel_by_therapist(db: Database, actor: Actor, booking_id: object) -> BookingView:
    """The therapist cancels: the member never loses the session, however late."""
    def change(session: Session, booking: Booking) -> None:
        _move(session, booking, ACTIVE_BOOKING_STATUSES, BookingStatus.CANCELLED, "cancelled")
        _settle(session, booking.id, VoucherStatus.RELEASED)

    return _therapist_change(db, actor, booking_id, "booking.cancelled_by_therapist", change)


def waive_late_cancellation(db: Database, actor: Actor, booking_id: object) -> BookingView:
    """The therapist lets a late cancellation off: the session goes back to the grant (the
    payments work refunds a charge already taken for it)."""
    def change(session: Session, booking: Booking) -> None:
        if booking.status is not BookingStatus.CANCELLED or not _settle(
                session, booking.id, VoucherStatus.RELEASED, from_status=VoucherStatus.USED):
            raise Conflict("There is no late cancellation to waive on this booking.")

    return _therapist_change(db, actor, booking_id, "booking.late_cancellation_waived", change)


def _therapist_change(db: Database, actor: Actor, booking_id: object, action: str,
                      change) -> BookingView:
    therapist_id = require_therapist(actor)
    booking_id = identifier(booking_id, "booking id")
    with db.transaction() as session:
        booking = session.get(Booking, booking_id)
        if booking is None or booking.therapist_id != therapist_id:
            raise _not_found()
        change(session, booking)
        member = session.get(Member, booking.member_id)
        audit.record(session, actor, action, "booking", booking.id,
                     organisation_id=member.organisation_id)
        return _view(session, booking, for_therapist=True)


# --- slots -------------------------------------------------------------------------------------


def _slot_taken(session: Session, therapist_id: int, starts_at: datetime) -> bool:
    return session.scalar(
        select(Booking.id).where(Booking.therapist_id == therapist_id,
                                 Booking.starts_at == starts_at,
                                 Booking.status.in_(ACTIVE_BOOKING_STATUSES))
    ) is not None


def _check_free_slot(session: Session, therapist: Therapist, moment: datetime) -> None:
    if is_free_slot(session, therapist.id, moment):
        return
    if _slot_taken(session, therapist.id, moment):
        raise Conflict(SLOT_TAKEN, code="slot_taken")
    raise InvalidInput(f"{therapist.name} has no session starting at that time. Please pick one "
                       "of their free slots.", code="not_a_slot")


def _check_bookable_time(moment: datetime, now: datetime) -> None:
    horizon = get_settings().booking_horizon_days
    if moment <= now:
        raise InvalidInput("That time has already passed. Please pick a slot in the future.",
                           code="in_the_past")
    if moment > now + timedelta(days=horizon):
        raise InvalidInput(f"Sessions can be booked up to {horizon} days ahead. Please pick an "
                           "earlier slot.", code="beyond_horizon")


def _moment(value: object) -> datetime:
    """An aware UTC datetime from an ISO 8601 string with an offset (or an aware datetime)."""
    example = "Please give the start time with its offset, e.g. 2026-03-03T18:00:00+00:00."
    if isinstance(value, str):
        raw = value.strip()
        if len(raw) > MAX_TIME_TEXT:
            raise InvalidInput(example)
        if raw[-1:] in ("Z", "z"):
            raw = raw[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(example) from None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(example)
    return value.astimezone(timezone.utc)


# --- grants and vouchers -----------------------------------------------------------------------


def _hold_session(session: Session, member_id: int, therapist_id: int,
                  grant_id: int | None) -> Grant:
    """Hold one session of the named grant, or of the best usable one; refuse otherwise."""
    if grant_id is not None:
        grant = session.get(Grant, grant_id)
        if grant is None or grant.member_id != member_id:
            raise NotFound("You have no place on an offer with that id.")
        refusal = _grant_refusal(session, grant, therapist_id)
        if refusal is not None:
            raise refusal
        if not _take_session(session, grant):
            raise _grant_refusal(session, grant, therapist_id) or _no_sessions_left(grant)
        return grant
    candidates = session.scalars(
        select(Grant).where(Grant.member_id == member_id).order_by(Grant.id)).all()
    refusals = [_grant_refusal(session, grant, therapist_id) for grant in candidates]
    usable = sorted((grant for grant, refusal in zip(candidates, refusals, strict=True)
                     if refusal is None), key=lambda grant: -grant.sessions_remaining)
    for grant in usable:
        if _take_session(session, grant):
            return grant
    raise _no_usable_grant([refusal for refusal in refusals if refusal is not None]
                           or [_no_sessions_left(grant) for grant in usable])


def _grant_refusal(session: Session, grant: Grant, therapist_id: int) -> Conflict | None:
    """Why this grant cannot pay for a session with this therapist, or None if it can."""
    authorisation = grant.authorisation
    if authorisation.status is not AuthorisationStatus.ACTIVE:
        return Conflict(f"Your organisation's offer “{authorisation.name}” is "
                        f"{authorisation.status.value}, so it can't pay for new bookings.",
                        code="authorisation_inactive")
    if grant.sessions_remaining <= 0:
        return _no_sessions_left(grant)
    seen = grants.seen_therapists(session, grant.member_id, excluding_grant=grant.id)
    problem = coverage_rules.therapist_problem(authorisation.coverage, seen, therapist_id)
    return None if problem is None else Conflict(problem, code="coverage")


def _no_sessions_left(grant: Grant) -> Conflict:
    return Conflict(f"You have used all {grant.authorisation.sessions_per_user} sessions of "
                    f"“{grant.authorisation.name}”. You can ask your admin for more.",
                    code="no_sessions_left")


def _no_usable_grant(refusals: list[Conflict]) -> Conflict:
    if not refusals:
        return Conflict("You don't have sessions paid by your organisation yet. Redeem an invite "
                        "code from your admin, or book as self-paid if you'd like to pay the "
                        "therapist yourself.", code="no_usable_grant")
    reasons = " ".join(dict.fromkeys(refusal.message for refusal in refusals))
    return Conflict(f"None of your organisation's offers can pay for this session. {reasons} "
                    "You can still book it as self-paid if you'd like to pay yourself.",
                    code="no_usable_grant")


def _take_session(session: Session, grant: Grant) -> bool:
    """Hold one session: one guarded UPDATE, so concurrent bookings never exceed the quota."""
    allowed = (
        select(Authorisation.sessions_per_user)
        .where(Authorisation.id == Grant.authorisation_id,
               Authorisation.status == AuthorisationStatus.ACTIVE)
        .scalar_subquery()
    )
    taken = session.execute(
        update(Grant)
        .where(Grant.id == grant.id, Grant.sessions_committed < allowed)
        .values(sessions_committed=Grant.sessions_committed + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(grant)
    session.refresh(grant.authorisation)
    return taken == 1


def _give_back(session: Session, grant_id: int) -> None:
    session.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.sessions_committed > 0)
        .values(sessions_committed=Grant.sessions_committed - 1)
        .execution_options(synchronize_session=False)
    )


def _settle(session: Session, booking_id: int, outcome: VoucherStatus, *,
            from_status: VoucherStatus = VoucherStatus.HELD) -> bool:
    """Move the booking's voucher (if any) from `from_status` to `outcome`; a released session
    goes back to the grant. Guarded, so a session is released at most once."""
    voucher = _voucher(session, booking_id)
    if voucher is None:
        return False
    settled = session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.status == from_status)
        .values(status=outcome, settled_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if settled and outcome is VoucherStatus.RELEASED:
        _give_back(session, voucher.grant_id)
    return settled


def _voucher(session: Session, booking_id: int) -> Voucher | None:
    return session.scalar(
        select(Voucher).where(Voucher.booking_id == booking_id)
        .execution_options(populate_existing=True)
    )


# --- bookings ----------------------------------------------------------------------------------


def _insert_booking(session: Session, member_id: int, therapist_id: int, moment: datetime,
                    modality: Modality, *, rescheduled_from_id: int | None = None) -> Booking:
    booking = Booking(
        member_id=member_id, therapist_id=therapist_id, starts_at=moment,
        ends_at=moment + timedelta(minutes=get_settings().session_minutes), modality=modality,
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


def _move(session: Session, booking: Booking, allowed: tuple[BookingStatus, ...],
          to: BookingStatus, verb: str) -> None:
    """Change the booking's status only if it is still in one of the `allowed` states."""
    moved = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status.in_(allowed))
        .values(status=to, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(booking)
    if moved != 1:
        raise _refused_transition(booking, verb)


def _ensure_in(booking: Booking, allowed: tuple[BookingStatus, ...], verb: str) -> None:
    if booking.status not in allowed:
        raise _refused_transition(booking, verb)


def _refused_transition(booking: Booking, verb: str) -> Conflict:
    return Conflict(f"This booking {_STATE_PHRASES[booking.status]}, so it can't be {verb}.",
                    code="invalid_transition")


def _members_booking(session: Session, actor: Actor, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.member_id != actor.member_id:
        raise _not_found()
    return booking


def _not_found() -> NotFound:
    return NotFound("I can't find a booking of yours with that id.")


def _therapist(session: Session, therapist_id: int) -> Therapist:
    therapist = session.get(Therapist, therapist_id)
    if therapist is None:
        raise NotFound("There is no therapist with that id.")
    return therapist


def _check_modality(therapist: Therapist, modality: Modality) -> None:
    offered = {
        Modality.IN_PERSON: therapist.offers_in_person,
        Modality.VIDEO: therapist.offers_video,
        Modality.PHONE: therapist.offers_phone,
    }
    if not offered[modality]:
        ways = [_MODALITY_WORDS[way] for way, yes in offered.items() if yes]
        raise InvalidInput(f"{therapist.name} doesn't offer {_MODALITY_WORDS[modality]} "
                           f"sessions; they offer {' or '.join(ways) or 'no sessions'} at the "
                           "moment.", code="modality_not_offered")


_MODALITY_WORDS = {Modality.IN_PERSON: "in-person", Modality.VIDEO: "video",
                   Modality.PHONE: "phone"}


# --- cancellation terms ------------------------------------------------------------------------


def _terms(session: Session, booking: Booking, now: datetime) -> _Terms:
    member = session.get(Member, booking.member_id)
    organisation = session.get(Organisation, member.organisation_id)
    window = organisation.cancellation_window_hours
    if window is None:
        window = get_settings().cancellation_window_hours
    return _Terms(window_hours=window, deadline=booking.starts_at - timedelta(hours=window),
                  late=not released_on_cancel(booking.starts_at, now, window))


def _cancellation_message(terms: _Terms, paid_by_organisation: bool) -> str:
    deadline = _local(terms.deadline)
    if not terms.late:
        if paid_by_organisation:
            return (f"If you cancel now, the session goes back to your organisation's allowance, "
                    f"so nothing is lost (free cancellation until {deadline}). You could also "
                    "reschedule it instead.")
        return (f"You can cancel now free of charge (free cancellation until {deadline}). "
                "You could also reschedule it instead.")
    if paid_by_organisation:
        return (f"This session starts in less than {terms.window_hours} hours, so if you cancel "
                "now it counts as used and your organisation is charged for it, unless your "
                "therapist waives it. It is too late to reschedule.")
    return (f"This session starts in less than {terms.window_hours} hours, so if you cancel now "
            "the therapist's fee may still be due, unless they waive it. It is too late to "
            "reschedule.")


def _local(moment: datetime) -> str:
    local = moment.astimezone(ZoneInfo(get_settings().timezone))
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"


# --- views -------------------------------------------------------------------------------------


def _view(session: Session, booking: Booking, *, for_therapist: bool = False) -> BookingView:
    therapist = session.get(Therapist, booking.therapist_id)
    voucher = _voucher(session, booking.id)
    grant = None
    if voucher is not None and not for_therapist:
        grant = grants.view(session.get(Grant, voucher.grant_id, populate_existing=True))
    member = session.get(Member, booking.member_id) if for_therapist else None
    return BookingView(
        id=booking.id,
        therapist_id=therapist.id,
        therapist_name=therapist.name,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        modality=booking.modality,
        status=booking.status,
        paid_by_organisation=voucher is not None and voucher.status is not VoucherStatus.RELEASED,
        grant_id=None if grant is None else grant.id,
        sessions_remaining_on_grant=None if grant is None else grant.sessions_remaining,
        voucher_status=None if voucher is None else voucher.status,
        rescheduled_from_id=booking.rescheduled_from_id,
        member_name=None if member is None else member.name,
    )
