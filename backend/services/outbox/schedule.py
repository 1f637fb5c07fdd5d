"""Notifications that come with time, raised by the dispatcher at `now` (its clock):

- the reminder before a confirmed session (REMINDER_HOURS_BEFORE, 24 by default);
- a requested session the therapist has not answered within CONFIRMATION_BUSINESS_HOURS (4)
  business hours (BUSINESS_HOURS in SERVICE_TIMEZONE, Monday to Friday, without the public
  holidays of BUSINESS_HOLIDAYS, e.g. "GB-ENG": the `holidays` library);
- to the admins, an active authorisation running low: AUTHORISATION_LOW_PERCENT (80) of its
  places taken, or of the sessions of its places booked (only once REPORTING_MIN_GROUP people
  hold places, so the figure tells nothing about one person: rule 5). Told once per limit (a
  top-up or more places make a new limit);
- to a member, a search on their waitlist that matches a free time now, or that ran out
  (services/waitlist.py).

Each is raised once per booking (the notification's dedupe key), however often or by however
many dispatchers this runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain import business_hours
from backend.domain.business_hours import WorkingHours
from backend.domain.enums import AuthorisationStatus, BookingStatus
from backend.models import Authorisation, Booking, Grant
from backend.services import notifications, waitlist
from backend.services.outbox import events
from backend.services.policy import Policy, holiday_calendar
from backend.settings import Settings

# A requested booking older than this is not looked at again (it has been told, or expired).
UNANSWERED_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True)
class ScheduleRules:
    policy: Policy
    reminder_hours_before: int
    confirmation_business_hours: int
    working: WorkingHours
    holidays: str
    low_percent: int = 80

    @classmethod
    def from_settings(cls, settings: Settings) -> ScheduleRules:
        return cls(Policy.from_settings(settings), settings.reminder_hours_before,
                   settings.confirmation_business_hours,
                   WorkingHours.parse(settings.business_hours, settings.timezone),
                   settings.business_holidays, settings.authorisation_low_percent)

    def answer_due_by(self, requested_at: datetime) -> datetime:
        return business_hours.deadline(requested_at, self.confirmation_business_hours,
                                       self.working, holiday_calendar(self.holidays))


def raise_due(db: Database, now: datetime, rules: ScheduleRules) -> int:
    """Raise the reminders and unanswered-request notices due at `now`; how many were new."""
    return (remind(db, now, rules) + chase_unanswered(db, now, rules)
            + warn_running_low(db, rules) + waitlist.tell_matches(db, now, rules.policy))


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


def warn_running_low(db: Database, rules: ScheduleRules) -> int:
    told = 0
    with db.transaction() as session:
        limited = session.execute(
            select(Authorisation, func.coalesce(func.sum(Grant.sessions_committed), 0))
            .outerjoin(Grant, Grant.authorisation_id == Authorisation.id)
            .where(Authorisation.status == AuthorisationStatus.ACTIVE,
                   Authorisation.user_limit.is_not(None))
            .group_by(Authorisation.id)
        ).all()
        for authorisation, booked in limited:
            told += _warn(session, authorisation, int(booked), rules)
    return told


def _warn(session: Session, authorisation: Authorisation, booked: int,
          rules: ScheduleRules) -> int:
    limit = authorisation.user_limit or 0
    told = 0
    if authorisation.grants_count * 100 >= rules.low_percent * limit:
        told += notifications.notify_admins(
            session, authorisation.organisation_id, "authorisation_low",
            f"\"{authorisation.name}\" is running low: {authorisation.grants_count} of its "
            f"{limit} places are taken. You can add places or create another offer.",
            dedupe_key=f"authorisation-{authorisation.id}-places-{limit}")
    sessions = authorisation.sessions_per_user * limit
    if (authorisation.grants_count >= rules.policy.reporting_min_group
            and booked * 100 >= rules.low_percent * sessions):
        told += notifications.notify_admins(
            session, authorisation.organisation_id, "authorisation_low",
            f"\"{authorisation.name}\" is running low: {booked} of its {sessions} sessions "
            "are booked. You can top it up with more sessions per place.",
            dedupe_key=(f"authorisation-{authorisation.id}-sessions-"
                        f"{authorisation.sessions_per_user}-{limit}"))
    return told
