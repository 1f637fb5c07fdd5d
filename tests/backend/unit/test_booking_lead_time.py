"""Issue 13: no new booking starts sooner than its therapist is expected to have confirmed it
(the policy's confirmation business hours), on a clock the test sets."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.domain.business_hours import WorkingHours, earliest_new_booking
from backend.domain.errors import InvalidInput
from backend.services.policy import DEFAULT_POLICY, holiday_calendar

LONDON = ZoneInfo("Europe/London")
HOURS = WorkingHours.parse("09:00-17:30", "Europe/London")
ENGLAND = holiday_calendar("GB-ENG")


def london(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=LONDON)


@pytest.mark.parametrize(("now", "earliest"), [
    (london(2026, 12, 1, 10, 0), london(2026, 12, 1, 14, 0)),  # a Tuesday morning
    (london(2026, 12, 1, 18, 22), london(2026, 12, 2, 13, 0)),  # issue 13: after hours
    (london(2026, 12, 1, 16, 30), london(2026, 12, 2, 12, 0)),  # runs over the night
    (london(2026, 12, 4, 16, 30), london(2026, 12, 7, 12, 0)),  # Friday: over the weekend
    (london(2026, 12, 5, 11, 0), london(2026, 12, 7, 13, 0)),  # asked on a Saturday
    (london(2026, 12, 24, 16, 0), london(2026, 12, 29, 11, 30)),  # Christmas, Boxing Day (Mon)
    (london(2027, 3, 25, 15, 0), london(2027, 3, 30, 10, 30)),  # Good Friday, Easter Monday
])
def test_the_earliest_start_is_when_the_therapist_has_confirmed(now, earliest):
    assert earliest_new_booking(now, 4, HOURS, ENGLAND) == earliest


def test_the_policy_refuses_a_start_before_it_and_says_from_when(monkeypatch):
    policy = dataclasses.replace(DEFAULT_POLICY, confirmation_business_hours=4,
                                 working_hours=HOURS, business_holidays="GB-ENG")
    now = london(2026, 12, 1, 18, 22).astimezone(timezone.utc)
    with pytest.raises(InvalidInput) as refused:
        policy.check_new_booking_start(london(2026, 12, 1, 19, 0), now)  # 38 minutes away
    assert refused.value.code == "before_confirmation"
    assert refused.value.message == (
        "Therapists confirm a new request within 4 business hours, so the earliest session "
        "you can book now starts on Wednesday 2 December at 13:00. Please pick a slot from "
        "then on.")
    with pytest.raises(InvalidInput):
        policy.check_new_booking_start(london(2026, 12, 2, 12, 0), now)
    policy.check_new_booking_start(london(2026, 12, 2, 13, 0), now)  # from then on: fine
    one_hour = dataclasses.replace(policy, confirmation_business_hours=1)
    one_hour.check_new_booking_start(london(2026, 12, 2, 10, 0), now)
