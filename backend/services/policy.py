"""The operator's policies the use cases follow, read once from the settings.

The app factory builds one `Policy` from its `Settings` and the routes hand it to the
services; a caller that passes none (a test, a script) gets the documented defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from backend.domain import business_hours
from backend.domain.business_hours import WorkingHours
from backend.settings import Settings


@lru_cache(maxsize=8)
def holiday_calendar(spec: str) -> Callable[[date], bool]:
    """`"GB-ENG"` -> is this date a public holiday in England? `""`: none."""
    if not spec.strip():
        return lambda _day: False
    country, _, subdivision = spec.strip().partition("-")
    calendar = holidays.country_holidays(country.upper(), subdiv=subdivision or None)
    return lambda day: day in calendar


@dataclass(frozen=True)
class Policy:
    cancellation_window_hours: int  # the default; an organisation may set its own
    session_minutes: int
    booking_horizon_days: int  # how far ahead sessions can be booked
    zone: ZoneInfo  # therapists' weekly availability and people's clocks are in this zone
    reporting_min_group: int  # figures about fewer people are withheld
    invite_ttl_days: int
    redeem_attempts_limit: int  # wrong invite codes allowed per identity per window
    redeem_attempts_window_minutes: int
    confirmation_business_hours: int  # a therapist confirms a request within these
    working_hours: WorkingHours  # business hours, Monday to Friday
    business_holidays: str  # public holidays that are not business days, e.g. "GB-ENG"

    def earliest_new_booking(self, now: datetime) -> datetime:
        """The earliest start of a new booking requested at `now` (aware)."""
        return business_hours.earliest_new_booking(
            now, self.confirmation_business_hours, self.working_hours,
            holiday_calendar(self.business_holidays))

    def check_new_booking_start(self, starts_at: datetime, now: datetime) -> None:
        earliest = self.earliest_new_booking(now)
        if starts_at < earliest:
            raise business_hours.too_soon_to_book(earliest, self.confirmation_business_hours,
                                                  self.zone)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            cancellation_window_hours=settings.cancellation_window_hours,
            session_minutes=settings.session_minutes,
            booking_horizon_days=settings.booking_horizon_days,
            zone=ZoneInfo(settings.timezone),
            reporting_min_group=settings.reporting_min_group,
            invite_ttl_days=settings.invite_ttl_days,
            redeem_attempts_limit=settings.redeem_attempts_limit,
            redeem_attempts_window_minutes=settings.redeem_attempts_window_minutes,
            confirmation_business_hours=settings.confirmation_business_hours,
            working_hours=WorkingHours.parse(settings.business_hours, settings.timezone),
            business_holidays=settings.business_holidays,
        )


# The defaults of backend/settings.py, without reading the environment.
DEFAULT_POLICY = Policy.from_settings(Settings.model_construct())
