"""When "answered within 4 business hours" runs out: working hours, weekends, bank holidays."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.domain.business_hours import WorkingHours, deadline
from backend.services.outbox.schedule import holiday_calendar

LONDON = ZoneInfo("Europe/London")
HOURS = WorkingHours.parse("09:00-17:30", "Europe/London")
ENGLAND = holiday_calendar("GB-ENG")


def london(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=LONDON)


def no_holidays(_day: date) -> bool:
    return False


def test_inside_one_working_day():
    assert deadline(london(2026, 12, 1, 10, 0), 4, HOURS, no_holidays) == london(2026, 12, 1,
                                                                                  14, 0)


def test_before_opening_counts_from_opening():
    assert deadline(london(2026, 12, 1, 6, 30), 4, HOURS, no_holidays) == london(2026, 12, 1,
                                                                                  13, 0)


def test_a_friday_afternoon_request_runs_out_on_monday():
    # Friday 4 December 16:30: one hour on Friday, three on Monday from 09:00.
    assert deadline(london(2026, 12, 4, 16, 30), 4, HOURS, no_holidays) == london(2026, 12, 7,
                                                                                   12, 0)


def test_a_weekend_request_starts_counting_on_monday():
    assert deadline(london(2026, 12, 5, 11, 0), 4, HOURS, no_holidays) == london(2026, 12, 7,
                                                                                  13, 0)


def test_uk_bank_holidays_do_not_count():
    # Thursday 24 December 15:30: two hours, then Christmas (Fri), the weekend and Boxing Day
    # observed (Mon 28) are skipped: two more hours on Tuesday 29 December.
    assert ENGLAND(date(2026, 12, 25)) and ENGLAND(date(2026, 12, 28))
    assert deadline(london(2026, 12, 24, 15, 30), 4, HOURS, ENGLAND) == london(2026, 12, 29,
                                                                                11, 0)


def test_an_answer_in_utc_is_the_same_moment():
    start = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)  # 09:00 in London (summer time)
    assert deadline(start, 4, HOURS, ENGLAND) == datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("window", ["9-17", "17:00-09:00", "nine to five"])
def test_bad_working_hours_are_refused(window):
    with pytest.raises(ValueError):
        WorkingHours.parse(window, "Europe/London")


def test_no_holidays_configured():
    assert holiday_calendar("")(date(2026, 12, 25)) is False
