"""Business hours: when "answered within 4 business hours" runs out.

Working hours are one daily window (e.g. 09:00-17:30) in the service's zone, Monday to Friday,
minus public holidays (the caller passes `is_holiday`, from the `holidays` library). Time outside
the window does not count: a request at 16:30 on a Friday with 4 business hours runs out at
12:00 on Monday (or on Tuesday when Monday is a bank holiday).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.domain.cancellation import local_time
from backend.domain.errors import InvalidInput

WEEKEND = (5, 6)  # Saturday, Sunday (date.weekday())


@dataclass(frozen=True)
class WorkingHours:
    opens: time
    closes: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, window: str, zone: str) -> WorkingHours:
        """`"09:00-17:30"` in zone `"Europe/London"`; ValueError saying what is wrong."""
        first, separator, last = window.partition("-")
        if not separator:
            raise ValueError(f"working hours must look like 09:00-17:30, not {window!r}")
        opens, closes = time.fromisoformat(first.strip()), time.fromisoformat(last.strip())
        if closes <= opens:
            raise ValueError(f"working hours must close after they open: {window!r}")
        return cls(opens, closes, ZoneInfo(zone))


def _working_day(day: date, is_holiday: Callable[[date], bool]) -> bool:
    return day.weekday() not in WEEKEND and not is_holiday(day)


def deadline(start: datetime, hours: float, working: WorkingHours,
             is_holiday: Callable[[date], bool]) -> datetime:
    """The moment `hours` of working time after `start` (aware), in UTC-aware form."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    remaining = timedelta(hours=hours)
    local = start.astimezone(working.zone)
    day = local.date()
    for _ in range(366 * 2):  # at most two years of days without a working one
        if _working_day(day, is_holiday):
            opens = datetime.combine(day, working.opens, working.zone)
            closes = datetime.combine(day, working.closes, working.zone)
            begin = max(opens, local)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
        local = datetime.combine(day, time(0), working.zone)
    raise ValueError("no working day within two years")


def earliest_new_booking(now: datetime, confirmation_hours: float, working: WorkingHours,
                         is_holiday: Callable[[date], bool]) -> datetime:
    """The earliest start a new booking may have: when its therapist, who confirms within
    `confirmation_hours` business hours, is expected to have confirmed it. No sooner
    session is offered or accepted (a member would otherwise be offered a session the
    therapist may not see in time)."""
    return deadline(now, confirmation_hours, working, is_holiday)


def too_soon_to_book(earliest: datetime, confirmation_hours: float,
                     zone: ZoneInfo) -> InvalidInput:
    """The refusal of a new booking that starts before `earliest_new_booking`."""
    hours = f"{confirmation_hours:g} business hour{'' if confirmation_hours == 1 else 's'}"
    return InvalidInput(
        f"Therapists confirm a new request within {hours}, so the earliest session you can "
        f"book now starts on {local_time(earliest, zone)}. Please pick a slot "
        "from then on.", code="before_confirmation")
