"""Bookable slots: sessions start on the hour inside a therapist's weekly windows.

Windows are in the service's local time zone (Europe/London by default), so a Tuesday 18:00
slot stays at 18:00 across the clock change; slots are handed around as aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SLOT_STEP_MINUTES = 60


@dataclass(frozen=True)
class Window:
    weekday: int  # Monday is 0
    start_minute: int
    end_minute: int


def slot_starts(windows: Iterable[Window], *, start: datetime, end: datetime, zone: ZoneInfo,
                session_minutes: int) -> Iterator[datetime]:
    """Every slot start in [start, end), in order, as UTC."""
    by_day: dict[int, list[Window]] = {}
    for window in windows:
        by_day.setdefault(window.weekday, []).append(window)
    day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    while day <= last_day:
        minutes = sorted(
            minute
            for window in by_day.get(day.weekday(), ())
            for minute in _starts_in(window, session_minutes)
        )
        for minute in minutes:
            local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
            moment = local.astimezone(timezone.utc)
            if start <= moment < end:
                yield moment
        day += timedelta(days=1)


def is_slot_start(windows: Iterable[Window], moment: datetime, *, zone: ZoneInfo,
                  session_minutes: int) -> bool:
    local = moment.astimezone(zone)
    if local.second or local.microsecond:
        return False
    minute = local.hour * 60 + local.minute
    return any(
        window.weekday == local.weekday() and minute in _starts_in(window, session_minutes)
        for window in windows
    )


def _starts_in(window: Window, session_minutes: int) -> range:
    first = -(-window.start_minute // SLOT_STEP_MINUTES) * SLOT_STEP_MINUTES  # round up
    return range(first, window.end_minute - session_minutes + 1, SLOT_STEP_MINUTES)
