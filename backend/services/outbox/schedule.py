"""Notifications that come with time, raised by the dispatcher at `now` (its clock):

- the reminder before a confirmed session (REMINDER_HOURS_BEFORE, 24 by default);
- a requested session the therapist has not answered within CONFIRMATION_BUSINESS_HOURS (4)
  business hours (BUSINESS_HOURS in SERVICE_TIMEZONE, Monday to Friday, without the public
  holidays of BUSINESS_HOLIDAYS, e.g. "GB-ENG": the `holidays` library).

Each is raised once per booking (the notification's dedupe key), however often or by however
many dispatchers this runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays
from sqlalchemy import select

from backend.db import Database
from backend.domain import business_hours
from backend.domain.business_hours import WorkingHours
from backend.domain.enums import BookingStatus
from backend.models import Booking
from backend.services.outbox import events
from backend.services.policy import Policy
from backend.settings import Settings

# A requested booking older than this is not looked at again (it has been told, or expired).
UNANSWERED_LOOKBACK = timedelta(days=30)


@lru_cache(maxsize=8)
def holiday_calendar(spec: str) -> Callable[[date], bool]:
    """`"GB-ENG"` -> is this date a public holiday in England? `""`: none."""
    if not spec.strip():
        return lambda _day: False
    country, _, subdivision = spec.strip().partition("-")
    calendar = holidays.country_holidays(country.upper(), subdiv=subdivision or None)
    return lambda day: day in calendar


@dataclass(frozen=True)
class ScheduleRules:
    policy: Policy
    reminder_hours_before: int
    confirmation_business_hours: int
    working: WorkingHours
    holidays: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ScheduleRules:
        return cls(Policy.from_settings(settings), settings.reminder_hours_before,
                   settings.confirmation_business_hours,
                   WorkingHours.parse(settings.business_hours, settings.timezone),
                   settings.business_holidays)

    def answer_due_by(self, requested_at: datetime) -> datetime:
        return business_hours.deadline(requested_at, self.confirmation_business_hours,
                                       self.working, holiday_calendar(self.holidays))


def raise_due(db: Database, now: datetime, rules: ScheduleRules) -> int:
    """Raise the reminders and unanswered-request notices due at `now`; how many were new."""
    return remind(db, now, rules) + chase_unanswered(db, now, rules)


def remind(db: Database, now: datetime, rules: ScheduleRules) -> int:
    told = 0
    with db.transaction() as session:
        due = session.scalars(
            select(Booking).where(
                Booking.status == BookingStatus.CONFIRMED, Booking.starts_at > now,
                Booking.starts_at <= now + timedelta(hours=rules.reminder_hours_before))
        ).all()
        for booking in due:
            told += events.session_reminder(session, booking, policy=rules.policy)
    return told


def chase_unanswered(db: Database, now: datetime, rules: ScheduleRules) -> int:
    told = 0
    with db.transaction() as session:
        waiting = session.scalars(
            select(Booking).where(Booking.status == BookingStatus.REQUESTED,
                                  Booking.starts_at > now,
                                  Booking.created_at > now - UNANSWERED_LOOKBACK)
        ).all()
        for booking in waiting:
            if rules.answer_due_by(booking.created_at) <= now:
                told += events.booking_unanswered(session, booking, now,
                                                  rules.confirmation_business_hours,
                                                  policy=rules.policy)
    return told
