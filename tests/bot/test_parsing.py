"""Free text the way people write it: numbers, days and times, invite codes, choices."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.actions.booking import choose_slot
from bot.actions.parsing import (
    ANY,
    UNLIMITED,
    When,
    cleared_filters,
    day_of_month,
    find_email,
    find_invite_code,
    format_money,
    format_slot,
    is_skip,
    match_words,
    parse_choice,
    parse_count,
    parse_days,
    parse_hours,
    parse_modality,
    parse_sessions_and_users,
    parse_user_limit,
    parse_when,
    when_allows,
)
from tests.bot.conftest import WORDS, make_tracker

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


@pytest.mark.parametrize(("text", "number"), [
    ("7", 7), ("seven", 7), ("seven sessions", 7), ("sevn", 7), ("twenty five", 25),
    ("about 12 please", 12), ("ten people", 10), ("a hundred", 100),
])
def test_numbers_in_digits_and_words(text, number):
    assert parse_count(text) == number


@pytest.mark.parametrize("text", ["unlimited", "no limit", "everyone", "as many as they like",
                                  "Unlimited users please"])
def test_unlimited_users(text):
    assert parse_user_limit(text) == UNLIMITED


def test_sessions_and_users_in_one_answer():
    assert parse_sessions_and_users("7 sessions for 5 users") == (7, 5)
    assert parse_sessions_and_users("seven sessions each, unlimited people") == (7, UNLIMITED)
    assert parse_sessions_and_users("ten sessions for twenty people") == (10, 20)
    assert parse_sessions_and_users("just 6") == (None, None)


@pytest.mark.parametrize(("text", "expected"), [
    ("next Tuesday after 5pm", When(days=["tuesday"], after="17:00")),
    ("weekday mornings", When(days=WEEKDAYS, times=["morning"])),
    ("weekends", When(days=["saturday", "sunday"])),
    ("tues or thurs evenings", When(days=["tuesday", "thursday"], times=["evening"])),
    ("between 9 and 12", When(after="09:00", before="12:00")),
    ("before 10am", When(before="10:00")),
    ("after 6", When(after="18:00")),
    ("at 6pm", When(after="18:00", before="20:00")),
    ("friday 8pm", When(days=["friday"], after="20:00", before="22:00")),
    ("thursday 18:30", When(days=["thursday"], after="18:30", before="20:30")),
    ("mon 9.15am", When(days=["monday"], after="09:15", before="11:15")),
    ("after work", When(after="17:00")),
    ("mondays", When(days=["monday"])),
    ("wensday afternoon", When(days=["wednesday"], times=["afternoon"])),
    ("weds at lunchtime", When(days=["wednesday"], times=["afternoon"])),
    ("sat nights", When(days=["saturday"], times=["evening"])),
    ("any time", When()),
    ("no preference", When()),
])
def test_days_and_times(text, expected):
    assert parse_when(text, WORDS) == expected


def test_relative_days_use_the_calendar():
    tuesday_noon = datetime(2026, 11, 24, 12, 0)  # a Tuesday
    assert parse_when("tomorrow evening", WORDS, now=tuesday_noon) == When(days=["wednesday"],
                                                                    times=["evening"])
    assert parse_when("tomorow", WORDS, now=tuesday_noon) == When(days=["wednesday"])


def test_text_without_days_or_times_is_none():
    assert parse_when("anxiety please", WORDS) is None
    assert parse_when("", WORDS) is None
    assert parse_when("any day", WORDS) is None  # lets go of the days only (cleared_filters)


@pytest.mark.parametrize(("text", "cleared"), [
    ("any gender", ["gender"]),
    ("gender doesn't matter, but French please", ["gender"]),
    ("any language is fine", ["language"]),
    ("I don't mind the type of therapy", ["therapy_type"]),
    ("any day", ["days"]),
    ("i'm not fussed which day, evenings", ["days"]),
    ("a female therapist", []),
    ("any female therapist who speaks Urdu", []),
    ("any time", []),
    ("no", []),
    ("monday", []),
])
def test_filters_let_go_of_by_name(text, cleared):
    assert cleared_filters(text) == cleared


def test_when_allows_local_times():
    when = When(days=WEEKDAYS, after="17:00")
    assert when_allows(when, datetime(2026, 11, 24, 18, 0), WORDS)
    assert not when_allows(when, datetime(2026, 11, 24, 16, 0), WORDS)
    assert not when_allows(when, datetime(2026, 11, 28, 18, 0), WORDS)  # a Saturday
    assert when_allows(When(), datetime(2026, 11, 28, 3, 0), WORDS)


@pytest.mark.parametrize(("text", "code"), [
    ("redeem 7KQ2M-X9D4R", "7KQ2M-X9D4R"),
    ("my code is 7kq2m x9d4r", "7KQ2M-X9D4R"),
    ("7kq2mx9d4r", "7KQ2M-X9D4R"),
    ("code: tbwcq-xdwjz thanks", "TBWCQ-XDWJZ"),
])
def test_invite_codes_with_spaces_dashes_and_lower_case(text, code):
    assert find_invite_code(text) == code


def test_two_ordinary_words_are_not_a_code_unless_it_was_asked_for():
    assert find_invite_code("hello there") is None
    assert find_invite_code("tbwcq xdwjz") is None
    assert find_invite_code("tbwcq xdwjz", only_answer=True) == "TBWCQ-XDWJZ"


def test_emails_and_skips():
    assert find_email("it's Sam.Patel@Acme.co.uk thanks") == "sam.patel@acme.co.uk"
    assert find_email("no email") is None
    assert all(is_skip(t) for t in ["any", "not sure", "no preference", "skip", "don't mind"])
    assert not is_skip("anxiety")


def test_choices_by_number_ordinal_or_name():
    names = ["Dr Ada Lovelace", "Dr Alan Turing", "Dr Grace Hopper"]
    assert parse_choice("2", names) == 1
    assert parse_choice("the first one", names) == 0
    assert parse_choice("last", names) == 2
    assert parse_choice("Grace please", names) == 2
    assert parse_choice("someone else", names) is None
    assert parse_choice("7", names) is None


def test_vocabulary_matching_forgives_typos():
    vocabulary = ["anxiety", "sleep problems", "stress", "panic attacks"]
    assert match_words("anxeity", vocabulary) == ["anxiety"]
    assert set(match_words("stress and panic attacks", vocabulary)) == {"stress", "panic attacks"}
    assert match_words("nothing relevant", vocabulary) == []


@pytest.mark.parametrize(("text", "modality"), [
    ("zoom please", "video"), ("face to face", "in_person"), ("over the phone", "phone"),
    ("skype", "video"), ("a video call", "video"), ("at the clinic", "in_person"),
    ("no preference", ANY), ("blue", None),
])
def test_modalities(text, modality):
    assert parse_modality(text, WORDS) == modality


def test_display_in_uk_time():
    assert format_slot("2026-07-07T16:00:00+00:00") == "Tue 7 Jul, 17:00"  # BST
    assert format_slot("2026-12-01T17:00:00Z") == "Tue 1 Dec, 17:00"
    assert format_money(12345) == "£123.45"


@pytest.mark.parametrize("text, days", [
    ("10", 10), ("10 days", 10), ("two weeks", 14), ("a fortnight", 14), ("a month", 30),
    ("3 months", 90), ("one year", 365), ("seven", 7), ("the usual", None), ("", None)])
def test_a_number_of_days_in_days_weeks_or_months(text, days):
    assert parse_days(text) == days


@pytest.mark.parametrize("text, hours", [
    ("24", 24), ("24 hours", 24), ("48h", 48), ("12 hrs", 12), ("a day", 24),
    ("two days", 48), ("one week", 168), ("72 hours before", 72), ("whatever", None)])
def test_a_number_of_hours_in_hours_days_or_weeks(text, hours):
    assert parse_hours(text) == hours


def test_a_time_said_with_the_day_picks_that_offered_time():
    """'friday 8pm' from a list holding Fri 19:00 and Fri 20:00 is the 20:00 one (UTC+0 in
    November, so London times are the ISO times)."""
    offered = ["2026-11-27T19:00:00+00:00", "2026-11-27T20:00:00+00:00",
               "2026-11-28T20:00:00+00:00"]
    tracker = make_tracker(slots={"offered_slots": offered})
    assert choose_slot("friday 8pm", tracker, WORDS) == offered[1]
    assert choose_slot("Friday 20:00", tracker, WORDS) == offered[1]
    assert choose_slot("friday", tracker, WORDS) == offered[0]
    assert choose_slot("saturday 8pm", tracker, WORDS) == offered[2]


def test_the_hour_of_a_time_said_is_not_read_as_a_place_in_the_list():
    """'tuesday 6pm' from six times offered is Tuesday's 18:00, not the sixth time (the e2e
    conversation found this); a number alone still picks from the list."""
    offered = ["2026-12-07T14:00:00+00:00", "2026-12-08T18:00:00+00:00",
               "2026-12-08T19:00:00+00:00", "2026-12-11T15:00:00+00:00",
               "2026-12-11T16:00:00+00:00", "2026-12-11T17:00:00+00:00"]
    tracker = make_tracker(slots={"offered_slots": offered})
    assert choose_slot("tuesday 6pm", tracker, WORDS) == offered[1]
    assert choose_slot("tues 7pm", tracker, WORDS) == offered[2]
    assert choose_slot("friday at 4", tracker, WORDS) == offered[4]
    assert choose_slot("6", tracker, WORDS) == offered[5]
    assert choose_slot("the third one", tracker, WORDS) == offered[2]
    assert choose_slot("the monday one", tracker, WORDS) == offered[0]
    assert choose_slot("wednesday 6pm", tracker, WORDS) is None  # not offered
    assert choose_slot("wed 6pm", tracker, WORDS) is None


def test_a_date_said_with_the_time_picks_that_week():
    """Two Mondays offered at the same hours: the date said (or the button's title typed)
    picks the right week; the first Monday only when no date is said."""
    offered = ["2026-12-07T14:00:00+00:00", "2026-12-07T15:00:00+00:00",
               "2026-12-14T14:00:00+00:00", "2026-12-14T15:00:00+00:00"]
    tracker = make_tracker(slots={"offered_slots": offered})
    assert choose_slot("Mon 14 Dec, 15:00", tracker, WORDS) == offered[3]
    assert choose_slot("monday 14 december 3pm", tracker, WORDS) == offered[3]
    assert choose_slot("monday the 14th at 2pm", tracker, WORDS) == offered[2]
    assert choose_slot("monday 3pm", tracker, WORDS) == offered[1]
    assert choose_slot("monday 21 december 3pm", tracker, WORDS) is None  # not offered


@pytest.mark.parametrize("text, day", [
    ("mon 14 dec, 15:00", 14), ("the 3rd of march", 3), ("monday the 14th", 14),
    ("1 jan", 1), ("3pm", None), ("2", None), ("the second one", None), ("14:00", None),
    ("32 dec", None)])
def test_the_day_of_the_month_said_with_a_time(text, day):
    assert day_of_month(text) == day
