"""End to end, through the real processes (backend, actions, Rasa, dispatcher; tests/stack.py):
a member asks to be told when a therapist has a time nobody in the directory has; a therapist
with that time joins; the dispatcher's scan pushes the news into the member's chat with a button,
and the button starts the booking of that time. Written against tests.e2e.people: run here over
the development REST channel and in tests/channels/test_conversations_slack_live.py over Slack."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.models import Availability, Therapist
from tests.backend import booking_factories
from tests.e2e.chat import (
    drive,
    member_booking_steps,
    offered,
    text_of,
)
from tests.e2e.people import People, buttons_of_push, each_over_people, push_saying

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SUNDAY, DAWN = 6, (5 * 60, 7 * 60)  # no demo therapist works before 07:00 (demo_directory.py)
LONDON = ZoneInfo("Europe/London")  # SERVICE_TIMEZONE's default


async def a_member_is_told_when_a_time_they_asked_for_comes_free_and_books_it(
        people: People) -> None:
    stack, backend = people.stack, people.backend
    member = people.newcomer("waitlist")
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    await backend.post("/invites/redeem", member.identity, {"code": code})

    waiting = await member.say("let me know when a therapist has a sunday slot before 7am",
                               kind="watch")
    assert "OK, I'm watching for" in text_of(waiting), member.transcript()

    early_bird = booking_factories.therapist(stack.database(), windows=[(SUNDAY, *DAWN)])
    buttons = buttons_of_push(
        await push_saying(stack, member, "a time you asked me to watch for is free"))
    assert buttons and all(b.entities["therapist_id"] == str(early_bird) for b in buttons)
    first = buttons[0]
    starts = datetime.fromisoformat(first.entities["slot_start"]).astimezone(LONDON)
    assert first.intent == "find_therapist" and starts.weekday() == SUNDAY and starts.hour < 7

    booking = await member.press(first, kind="book the pushed time")
    with stack.database().reader() as session:
        name = session.get_one(Therapist, early_bird).name
    assert name in text_of(booking), member.transcript()


async def a_therapist_named_from_the_search_is_watched_and_her_new_time_pushed(
        people: People) -> None:
    """"Let me know if <her first name> has a sunday slot before 7am", after a search listed
    her: the watch is for her alone, and the push comes when she adds such a time."""
    stack, backend = people.stack, people.backend
    member = people.newcomer("watch-named")
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    await backend.post("/invites/redeem", member.identity, {"code": code})
    await member.say("find me a therapist for anxiety by video, any time", kind="search")
    results = await drive(member, member_booking_steps(),
                          done=lambda replies: bool(offered(replies, "therapist_id")))
    listed = [int(b.entities["therapist_id"]) for b in offered(results, "therapist_id")]
    with stack.database().reader() as session:
        names = {tid: session.get_one(Therapist, tid).name for tid in listed}
    chosen, name = listed[-1], names[listed[-1]]
    # Her first name, or her whole name when another therapist listed shares it.
    first_name = next(word for word in name.split() if word.rstrip(".").lower() != "dr")
    if sum(first_name in other.split() for other in names.values()) > 1:
        first_name = name

    waiting = await member.say(f"let me know if {first_name} has a sunday slot before 7am",
                               kind="watch_named")
    assert f"OK, I'm watching for {name}'s free times, Sunday" in text_of(waiting), \
        member.transcript()
    db = stack.database()
    with db.transaction() as session:
        session.add(Availability(therapist_id=chosen, weekday=SUNDAY, start_minute=DAWN[0],
                                 end_minute=DAWN[1]))
    buttons = buttons_of_push(
        await push_saying(stack, member, "a time you asked me to watch for is free"))
    assert buttons and all(b.entities["therapist_id"] == str(chosen) for b in buttons)
    starts = datetime.fromisoformat(buttons[0].entities["slot_start"]).astimezone(LONDON)
    assert starts.weekday() == SUNDAY and starts.hour < 7


CONVERSATIONS = [
    a_member_is_told_when_a_time_they_asked_for_comes_free_and_books_it,
    a_therapist_named_from_the_search_is_watched_and_her_new_time_pushed,
]


test_over_the_dev_channel = each_over_people(CONVERSATIONS)
