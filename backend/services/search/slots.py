"""Free slots: a therapist's weekly windows less the open bookings, inside the horizon."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.enums import ACTIVE_BOOKING_STATUSES
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.slots import Window, is_slot_start, slot_starts
from backend.models import Availability, Booking, Therapist
from backend.services.actors import Actor
from backend.services.policy import DEFAULT_POLICY, Policy
from backend.services.validation import identifier, whole_number

MAX_SLOT_DAYS = 60
MAX_SLOTS = 500


def windows_and_taken(session: Session, therapist_ids: Sequence[int], start: datetime,
                      end: datetime) -> tuple[dict[int, list[Window]], dict[int, set[datetime]]]:
    """Per therapist: the weekly windows, and the starts of open bookings in [start, end)."""
    windows: dict[int, list[Window]] = {}
    taken: dict[int, set[datetime]] = {}
    if not therapist_ids:
        return windows, taken
    for tid, weekday, first, last in session.execute(
            select(Availability.therapist_id, Availability.weekday, Availability.start_minute,
                   Availability.end_minute).where(Availability.therapist_id.in_(therapist_ids))):
        windows.setdefault(tid, []).append(Window(weekday, first, last))
    for tid, starts_at in session.execute(
            select(Booking.therapist_id, Booking.starts_at).where(
                Booking.therapist_id.in_(therapist_ids),
                Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                Booking.starts_at >= start, Booking.starts_at < end)):
        taken.setdefault(tid, set()).add(starts_at)
    return windows, taken


def free(windows: Sequence[Window], taken: set[datetime], *, start: datetime, end: datetime,
         policy: Policy, allows: Callable[[datetime], bool] | None = None,
         limit: int) -> list[datetime]:
    """The first `limit` untaken slot starts in [start, end) that `allows` accepts (it is
    given the local time)."""
    found: list[datetime] = []
    if not windows:
        return found
    for moment in slot_starts(windows, start=start, end=end, zone=policy.zone,
                              session_minutes=policy.session_minutes):
        if moment in taken or (allows is not None and not allows(moment.astimezone(policy.zone))):
            continue
        found.append(moment)
        if len(found) == limit:
            break
    return found


def bookable(session: Session, therapist_id: int, now: datetime, policy: Policy, *,
             allows: Callable[[datetime], bool] | None = None, limit: int) -> list[datetime]:
    """For other services, inside their own transaction: the therapist's first `limit` free
    starts a new booking may take at `now` (from the earliest the confirmation rule allows to
    the booking horizon) that `allows` accepts."""
    begin = policy.earliest_new_booking(now)
    end = now + timedelta(days=policy.booking_horizon_days)
    windows, taken = windows_and_taken(session, [therapist_id], begin, end)
    return free(windows.get(therapist_id, []), taken.get(therapist_id, set()), start=begin,
                end=end, policy=policy, allows=allows, limit=limit)


def free_slots(db: Database, actor: Actor, therapist_id: int, *, start: datetime | None = None,
               days: int = 14, limit: int = 100,
               policy: Policy = DEFAULT_POLICY) -> list[datetime]:
    """The therapist's free slot starts from `start` (default now) for `days` days, never
    sooner than a new booking may start nor past the booking horizon, as aware UTC
    datetimes."""
    therapist_id = identifier(therapist_id, "therapist id")
    days = whole_number(days, "number of days", maximum=MAX_SLOT_DAYS)
    limit = whole_number(limit, "number of slots", maximum=MAX_SLOTS)
    if start is not None and (not isinstance(start, datetime) or start.tzinfo is None):
        raise InvalidInput("The start must be a date and time with a time zone.")
    now = datetime.now(timezone.utc)
    begin = max(start or now, policy.earliest_new_booking(now))
    end = min(begin + timedelta(days=days), now + timedelta(days=policy.booking_horizon_days))
    with db.reader() as session:
        require_therapist(session, therapist_id)
        windows, taken = windows_and_taken(session, [therapist_id], begin, end)
    return free(windows.get(therapist_id, []), taken.get(therapist_id, set()), start=begin,
                end=end, policy=policy, limit=limit)


def is_free_slot(session: Session, therapist_id: int, starts_at: datetime, *,
                 policy: Policy = DEFAULT_POLICY) -> bool:
    """For other services, inside their own transaction: can `starts_at` be booked now?
    (It is a slot start in the therapist's windows, no sooner than a new booking may start,
    inside the booking horizon, and no open booking holds it.)"""
    if starts_at.tzinfo is None:
        return False
    now = datetime.now(timezone.utc)
    if not (now < starts_at and policy.earliest_new_booking(now) <= starts_at
            <= now + timedelta(days=policy.booking_horizon_days)):
        return False
    windows, taken = windows_and_taken(session, [therapist_id], starts_at,
                                       starts_at + timedelta(seconds=1))
    return starts_at not in taken.get(therapist_id, set()) and is_slot_start(
        windows.get(therapist_id, []), starts_at, zone=policy.zone,
        session_minutes=policy.session_minutes)


def require_therapist(session: Session, therapist_id: int) -> None:
    if session.scalar(select(Therapist.id).where(Therapist.id == therapist_id)) is None:
        raise NotFound("I can't find a therapist with that id.")
