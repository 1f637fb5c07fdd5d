"""Cancellation terms at the edges of the window, with a clock passed in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.domain import cancellation
from backend.domain.errors import InvalidInput

LONDON = ZoneInfo("Europe/London")
STARTS = datetime(2026, 3, 10, 18, tzinfo=timezone.utc)  # Tuesday, GMT


def at(hours_before: float, *, paid: bool = True, window: int = 48) -> cancellation.Terms:
    return cancellation.terms(STARTS, STARTS - timedelta(hours=hours_before),
                              window_hours=window, paid_by_organisation=paid)


def test_exactly_at_the_deadline_is_still_in_time():
    terms = at(48)
    assert terms.deadline == STARTS - timedelta(hours=48)
    assert not terms.late and terms.session_returned and terms.can_reschedule


def test_a_second_after_the_deadline_is_late():
    terms = cancellation.terms(STARTS, STARTS - timedelta(hours=48) + timedelta(seconds=1),
                               window_hours=48, paid_by_organisation=True)
    assert terms.late and not terms.session_returned and not terms.can_reschedule


@pytest.mark.parametrize(("hours_before", "late"), [(100, False), (48.01, False), (47.99, True),
                                                    (1, True), (0, True)])
def test_late_inside_the_window(hours_before, late):
    assert at(hours_before).late is late


def test_the_window_is_an_argument():
    assert not at(30, window=24).late and at(30, window=48).late


def test_a_self_paid_session_returns_nothing_to_a_grant():
    assert not at(100, paid=False).session_returned
    assert at(100, paid=False).can_reschedule


def test_messages():
    assert cancellation.message(at(72), LONDON) == (
        "If you cancel now, the session goes back to your organisation's allowance, so nothing "
        "is lost (free cancellation until Sunday 8 March at 18:00). You could also reschedule "
        "it instead.")
    assert cancellation.message(at(72, paid=False), LONDON).startswith(
        "You can cancel now free of charge (free cancellation until Sunday 8 March at 18:00).")
    assert cancellation.message(at(5), LONDON) == (
        "This session starts in less than 48 hours, so if you cancel now it counts as used and "
        "your organisation is charged for it, unless your therapist waives it. It is too late "
        "to reschedule.")
    assert "the therapist's fee may still be due" in cancellation.message(at(5, paid=False),
                                                                           LONDON)
    assert cancellation.too_late_to_reschedule(at(5)).code == "inside_cancellation_window"


def test_local_time_follows_the_zone_and_summer_time():
    summer = datetime(2026, 7, 1, 17, tzinfo=timezone.utc)
    assert cancellation.local_time(summer, LONDON) == "Wednesday 1 July at 18:00"
    assert cancellation.local_time(summer, ZoneInfo("UTC")) == "Wednesday 1 July at 17:00"


@pytest.mark.parametrize("hours", [1, 24, 168])
def test_an_organisation_may_choose_a_window_from_an_hour_to_a_week(hours):
    assert cancellation.checked_window(hours) == hours


@pytest.mark.parametrize("hours", [-1, 0, 169, 10_000])
def test_a_window_outside_an_hour_to_a_week_is_refused_with_the_range(hours):
    with pytest.raises(InvalidInput, match="between 1 and 168 hours"):
        cancellation.checked_window(hours)
