"""Booking conversations of issue 13 on running processes (tests/stack.py): "no" at the summary
keeps what the member said, a filter can be let go of, a time someone else books while the
member decides keeps their therapist and filters, and questions in the middle of the booking
are answered and the booking goes on, with a time picked in words and the privacy receipt.

Each conversation is written against tests.e2e.people, and runs here over the development REST
channel and in tests/channels/test_conversations_slack_live.py over Slack."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.chat import (
    Turns,
    button_for,
    drive,
    last_text,
    member_booking_steps,
    mentions,
    offered,
    text_of,
)
from tests.e2e.people import People, each_over_people, push_saying
from tests.e2e.test_conversations import redeem_and_search

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
LONDON = ZoneInfo("Europe/London")  # SERVICE_TIMEZONE's default
RECEIPT = (r"Privacy: your organisation's admins can see how many people have a place on .* "
           r"They never see who booked, which therapist, when, or what it's about\.")


async def member_at_the_summary(people: People, role: str, search: str) -> Turns:
    """A new member (invited through the API) who searched, picked a therapist and a time."""
    authorisation = await people.backend.create_authorisation()
    code = await people.backend.create_invite(authorisation["id"])
    member = people.newcomer(role)
    await redeem_and_search(member, code, search)
    assert offered(member.replies, "therapist_id"), member.transcript()
    await member.press(offered(member.replies, "therapist_id")[0], kind="pick_therapist")
    await member.press(offered(member.replies, "slot_start")[0], kind="pick_slot")
    assert button_for(member.replies, "affirm"), member.transcript()
    return member


def slots_of(people: People, member: Turns) -> dict:
    return people.stack.tracker(member.conversation_id)["slots"]


async def no_at_the_summary_keeps_the_filters_and_the_member_still_books(
        people: People) -> None:
    member = await member_at_the_summary(people, "member-no",
                                         "find me a therapist for stress, video, weekdays")
    therapist_id = member.sent("pick_therapist")["therapist_id"]

    replies = await member.say("no", kind="no")

    assert mentions(r"kept everything you told me")(replies), member.transcript()
    assert offered(replies, "slot_start"), member.transcript()  # their times again
    slots = slots_of(people, member)
    assert slots["when"]["days"] == WEEKDAYS and slots["modality"] == "video"
    assert slots["therapist_id"] == therapist_id and slots["booking_confirmed"] is None
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    bookings = (await people.backend.get("/me/bookings", member.identity))["bookings"]
    assert [str(b["therapist_id"]) for b in bookings] == [therapist_id]


async def any_day_lets_go_of_the_days_and_searches_again(people: People) -> None:
    authorisation = await people.backend.create_authorisation()
    code = await people.backend.create_invite(authorisation["id"])
    member = people.newcomer("member-any-day")
    await redeem_and_search(member, code, "find me a therapist for stress, video, weekday evenings")

    replies = await member.say("any day", kind="any_day")

    assert offered(replies, "therapist_id"), member.transcript()
    assert "weekdays" not in text_of(replies) and "evenings" in text_of(replies)
    slots = slots_of(people, member)
    assert slots["when"]["days"] == [] and slots["when"]["times"] == ["evening"]
    assert slots["modality"] == "video" and slots["issue"]


async def a_time_taken_while_deciding_offers_that_therapists_next_times(
        people: People) -> None:
    member = await member_at_the_summary(people, "member-taken",
                                         "find me a therapist for stress, video, any time")
    therapist_id = member.sent("pick_therapist")["therapist_id"]
    taken = member.sent("pick_slot")["slot_start"]
    other = await member_at_the_summary(people, "member-quicker",
                                        "find me a therapist for stress, video, any time")
    await people.backend.post("/bookings", other.identity, {
        "therapist_id": int(therapist_id), "starts_at": taken, "modality": "video"})

    replies = await member.say("yes", kind="confirm_taken")

    assert mentions(r"just been taken")(replies), member.transcript()
    times = [b.entities["slot_start"] for b in offered(replies, "slot_start")]
    assert times and taken not in times, member.transcript()
    slots = slots_of(people, member)
    assert slots["therapist_id"] == therapist_id and slots["modality"] == "video"
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    bookings = (await people.backend.get("/me/bookings", member.identity))["bookings"]
    assert [str(b["therapist_id"]) for b in bookings] == [therapist_id]
    assert bookings[0]["starts_at"] != taken


def in_words(iso: str, with_date: bool = False) -> str:
    """A slot's start as a person types it: "friday 8pm", "monday 14 december 9:30am"."""
    moment = datetime.fromisoformat(iso).astimezone(LONDON)
    minutes = f":{moment:%M}" if moment.minute else ""
    date = f" {moment.day} {moment:%B}" if with_date else ""
    return f"{moment:%A}{date} {moment.hour % 12 or 12}{minutes}{moment:%p}".lower()


async def questions_mid_booking_are_answered_then_a_time_said_in_words_is_booked(
        people: People) -> None:
    authorisation = await people.backend.create_authorisation(sessions_per_user=7)
    code = await people.backend.create_invite(authorisation["id"])
    member = people.newcomer("member-asks")
    await member.say(f"hi, my invite code is {code}", kind="redeem")
    asked = last_text(await member.say("I'd like to book a session", kind="book"))
    assert re.search(r"what would you like help with", asked, re.I), member.transcript()

    # Another question in the middle: answered, then the form asks its own again.
    replies = await member.say("how many sessions do I have left?", kind="sessions_left")
    assert mentions(r"\b7\b")(replies) and last_text(replies) == asked, member.transcript()
    await member.say("anxiety", kind="issue")
    asked = last_text(member.replies)
    replies = await member.say("thanks", kind="thanks")
    assert last_text(replies) == asked and len(replies) >= 2, member.transcript()

    await drive(member, member_booking_steps(),
                done=lambda replies: len(offered(replies, "slot_start")) > 1)
    times = [b.entities["slot_start"] for b in offered(member.replies, "slot_start")]
    chosen = times[1]  # not the first time offered; with its date if another week has its hour
    said = in_words(chosen, with_date=[in_words(t) for t in times].count(in_words(chosen)) > 1)
    summary = await member.say(said, kind="time_in_words")
    assert button_for(summary, "affirm"), member.transcript()
    booked = await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    assert mentions(RECEIPT)(booked), member.transcript()
    [booking] = (await people.backend.get("/me/bookings", member.identity))["bookings"]
    assert datetime.fromisoformat(booking["starts_at"]) == datetime.fromisoformat(chosen), \
        member.transcript()


async def a_declined_booking_is_told_and_that_therapists_other_times_follow(
        people: People) -> None:
    authorisation = await people.backend.create_authorisation()
    code = await people.backend.create_invite(authorisation["id"])
    member = people.newcomer("member-declined")
    await redeem_and_search(member, code, "find me a therapist for stress, video, any time")
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    therapist_id = int(member.sent("pick_therapist")["therapist_id"])
    [booking] = (await people.backend.get("/me/bookings", member.identity))["bookings"]
    name = (await people.backend.get(f"/therapists/{therapist_id}", member.identity))["name"]

    await people.backend.post(f"/therapist/bookings/{booking['id']}/decline",
                              f"dev:therapist-{therapist_id}")  # the therapist's inbox, by API
    await push_saying(people.stack, member, f"Sorry, {name} can't take the session")
    replies = await member.say("show me other times", kind="other_times")
    assert mentions(re.escape(name))(replies) and offered(replies, "slot_start"), \
        member.transcript()
    [declined] = (await people.backend.get("/me/bookings?upcoming=false",
                                           member.identity))["bookings"]
    # The session went back to the member's grant.
    assert (declined["status"], declined["voucher_status"]) == ("declined", "released")


CONVERSATIONS = [no_at_the_summary_keeps_the_filters_and_the_member_still_books,
                 any_day_lets_go_of_the_days_and_searches_again,
                 a_time_taken_while_deciding_offers_that_therapists_next_times,
                 questions_mid_booking_are_answered_then_a_time_said_in_words_is_booked,
                 a_declined_booking_is_told_and_that_therapists_other_times_follow]


test_over_the_dev_channel = each_over_people(CONVERSATIONS)
