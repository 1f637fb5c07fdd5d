"""The rule of a request for a person as the team handles it (open -> taken -> closed) and when
the team answers (office hours), with a fixed clock."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.domain.errors import Conflict
from backend.domain.handoffs import (
    HandoffStatus,
    HandoffVerb,
    OfficeHours,
    after,
    handed_back_text,
    reply_text,
    taken_text,
)

LONDON = ZoneInfo("Europe/London")
HOURS = OfficeHours.parse("Mon-Fri 09:00-17:00", "Europe/London")


def test_a_request_is_taken_answered_and_closed():
    assert after("open", HandoffVerb.TAKE) is HandoffStatus.TAKEN
    assert after("taken", HandoffVerb.REPLY) is HandoffStatus.TAKEN
    assert after("taken", HandoffVerb.CLOSE) is HandoffStatus.CLOSED


def test_the_member_writes_to_the_team_only_while_someone_has_the_request():
    assert after("taken", HandoffVerb.RELAY) is HandoffStatus.TAKEN


@pytest.mark.parametrize(("status", "verb", "says"), [
    ("taken", HandoffVerb.TAKE, "taken this request already"),
    ("open", HandoffVerb.REPLY, "Take this request before replying"),
    ("open", HandoffVerb.CLOSE, "Take this request before closing"),
    ("closed", HandoffVerb.TAKE, "closed already"),
    ("closed", HandoffVerb.REPLY, "closed already"),
    ("closed", HandoffVerb.CLOSE, "closed already"),
    ("open", HandoffVerb.RELAY, "Nobody from the team has taken this request yet"),
    ("closed", HandoffVerb.RELAY, "closed already"),
])
def test_wrong_transitions_are_refused_saying_why(status, verb, says):
    with pytest.raises(Conflict, match=says) as refused:
        after(status, verb)
    assert refused.value.code == f"handoff_{status}"


def test_the_member_knows_who_has_them_and_when_the_assistant_is_back():
    assert taken_text("sam.lee@service.example").startswith(
        "Sam from the support team is with you now.")
    assert "stay quiet until they hand you back" in taken_text("sam@x.example")
    assert handed_back_text("sam.lee@service.example").startswith(
        "Sam from the support team has handed you back to the assistant.")


def test_the_member_knows_a_person_wrote():
    assert reply_text("sam.lee@service.example", "Hello") == (
        "From Sam at the support team: Hello")


def test_in_office_hours_the_answer_comes_soon():
    now = datetime(2026, 12, 3, 10, 30, tzinfo=timezone.utc)  # a Thursday, 10:30 in London
    found = HOURS.expected_answer(now)
    assert found.open_now and found.from_time == now
    assert "answer you soon" in found.text


@pytest.mark.parametrize(("now", "opens", "says"), [
    # Thursday 07:00 -> the same day at 09:00
    (datetime(2026, 12, 3, 7, 0), datetime(2026, 12, 3, 9, 0), "today at 09:00"),
    # Thursday 17:00 (closing time) -> Friday 09:00
    (datetime(2026, 12, 3, 17, 0), datetime(2026, 12, 4, 9, 0), "tomorrow at 09:00"),
    # Friday evening -> Monday 09:00
    (datetime(2026, 12, 4, 18, 15), datetime(2026, 12, 7, 9, 0), "Monday at 09:00"),
    # Saturday -> Monday
    (datetime(2026, 12, 5, 11, 0), datetime(2026, 12, 7, 9, 0), "Monday at 09:00"),
])
def test_outside_office_hours_the_answer_comes_when_the_team_is_next_in(now, opens, says):
    found = HOURS.expected_answer(now.replace(tzinfo=LONDON))
    assert not found.open_now
    assert found.from_time == opens.replace(tzinfo=LONDON)
    assert says in found.text and "Mon-Fri 09:00-17:00" in found.text


def test_summer_time_is_the_office_zone_s():
    # 08:30 UTC in July is 09:30 in London: in office hours.
    assert HOURS.expected_answer(datetime(2026, 7, 1, 8, 30, tzinfo=timezone.utc)).open_now


def test_other_day_ranges_and_single_days():
    weekend = OfficeHours.parse("Sat-Sun 10:00-12:00", "Europe/London")
    assert weekend.days == {5, 6}
    assert OfficeHours.parse("Fri-Mon 09:00-10:00", "UTC").days == {4, 5, 6, 0}
    assert OfficeHours.parse("wed 09:00-10:00", "UTC").days == {2}


@pytest.mark.parametrize("spec", ["", "9-5", "Mon-Fri", "Mon-Fry 09:00-17:00",
                                  "Mon-Fri 17:00-09:00", "Mon-Fri 25:00-26:00"])
def test_unreadable_office_hours_are_refused(spec):
    with pytest.raises(ValueError):
        OfficeHours.parse(spec, "Europe/London")


def test_a_naive_clock_is_refused():
    with pytest.raises(ValueError, match="aware"):
        HOURS.next_open(datetime(2026, 12, 3, 10, 0))
