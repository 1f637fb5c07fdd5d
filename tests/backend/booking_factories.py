"""Builders for booking tests: therapists with weekly availability, slots, relationships."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from backend.db import Database
from backend.domain.enums import Modality
from backend.models import (
    AuditEvent,
    Availability,
    Booking,
    ChatIdentity,
    Grant,
    Therapist,
    Voucher,
)
from backend.services import actors, bookings
from backend.services.policy import DEFAULT_POLICY
from tests.backend import factories

ALL_DAY = [(weekday, 0, 24 * 60) for weekday in range(7)]

_counter = itertools.count(1)
_seen_slots = itertools.count(1)


def therapist(db: Database, *, windows: list[tuple[int, int, int]] | None = None,
              in_person: bool = False, video: bool = True, phone: bool = False,
              name: str | None = None) -> int:
    """A therapist available in the given weekly windows (every hour of every day by default:
    then any future whole UTC hour inside the horizon is a slot)."""
    n = next(_counter)
    with db.transaction() as session:
        row = Therapist(name=name or f"Dr Therapist {n}", gender="female", fee_minor=8000,
                        location="London" if in_person else None, offers_in_person=in_person,
                        offers_video=video, offers_phone=phone)
        row.availability = [Availability(weekday=day, start_minute=start, end_minute=end)
                            for day, start, end in (windows or ALL_DAY)]
        session.add(row)
        session.flush()
        return row.id


def therapist_actor(db: Database, therapist_id: int) -> actors.Actor:
    """A chat identity bound to the therapist."""
    identity = factories.new_identity("therapist")
    parsed = actors.parse_identity(identity)
    with db.transaction() as session:
        session.add(ChatIdentity(channel=parsed.channel, external_id=parsed.external_id,
                                 therapist_id=therapist_id))
    return actors.resolve(db, identity)


def earliest_new_booking() -> datetime:
    """The earliest a new booking may start now under the default policy: a few hours away on
    a weekday, Monday on a Friday evening, later still over a bank holiday weekend."""
    return DEFAULT_POLICY.earliest_new_booking(datetime.now(timezone.utc))


def slot(hours_ahead: int) -> datetime:
    """A time a new booking may start at whatever day the tests run: the first whole UTC hour
    at least `hours_ahead` hours after `earliest_new_booking()` (so also at least that far
    from now)."""
    return _next_whole_hour(earliest_new_booking() + timedelta(hours=hours_ahead))


def hours_from_now(hours: int) -> datetime:
    """The first whole UTC hour at least `hours` hours from now, for tests of the windows that
    count from now (cancellation, reminders); book it with `bookable` and `move_to`."""
    return _next_whole_hour(datetime.now(timezone.utc) + timedelta(hours=hours))


def _next_whole_hour(at_least: datetime) -> datetime:
    return at_least.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0) \
        + timedelta(hours=1)


def make_seen(db: Database, member: actors.Actor, therapist_id: int) -> None:
    """Give the member a relationship with the therapist: a self-paid booking they confirmed."""
    starts_at = slot(24 * 15 + next(_seen_slots) % 150)
    booked = bookings.book(db, member, therapist_id=therapist_id, starts_at=starts_at,
                           modality=Modality.VIDEO, self_pay=True)
    bookings.confirm(db, therapist_actor(db, therapist_id), booked.id)


def bookable(wanted: datetime) -> datetime:
    """`wanted`, or the first whole hour a new booking may start at when `wanted` is sooner
    (the therapist is expected to confirm first: issue 13). A test that needs a session that
    soon books this slot, then `move_to`s the session, as if it had been booked earlier."""
    earliest = earliest_new_booking()
    if wanted >= earliest:
        return wanted
    rounded = earliest.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return rounded if rounded == earliest else rounded + timedelta(hours=1)


def move_to(db: Database, booking_id: int, starts_at: datetime) -> None:
    """Move a booking's session to `starts_at`, keeping its length."""
    with db.transaction() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        booking.ends_at = starts_at + (booking.ends_at - booking.starts_at)
        booking.starts_at = starts_at


def move_into_past(db: Database, booking_id: int, hours: int = 2) -> None:
    """Pretend the session has started (so it can be completed)."""
    start = datetime.now(timezone.utc) - timedelta(hours=hours)
    with db.transaction() as session:
        session.execute(update(Booking).where(Booking.id == booking_id)
                        .values(starts_at=start, ends_at=start + timedelta(minutes=50)))


@dataclass(frozen=True)
class Snapshot:
    bookings: list[tuple[int, str]]
    vouchers: list[tuple[int, int, str]]
    committed: list[tuple[int, int]]
    booking_events: int


def snapshot(db) -> Snapshot:
    """Everything a booking use case may change, read from the rows."""
    with db.reader() as session:
        return Snapshot(
            bookings=[(b.id, b.status.value) for b in session.scalars(
                select(Booking).order_by(Booking.id))],
            vouchers=[(v.booking_id, v.grant_id, v.status.value) for v in session.scalars(
                select(Voucher).order_by(Voucher.id))],
            committed=[(g.id, g.sessions_committed) for g in session.scalars(
                select(Grant).order_by(Grant.id))],
            booking_events=session.scalar(select(func.count(AuditEvent.id)).where(
                AuditEvent.subject_type == "booking")),
        )
