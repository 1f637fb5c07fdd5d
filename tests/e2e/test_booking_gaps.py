"""Booking conversations of issue 13 over the development REST channel, on running processes
(tests/stack.py): "no" at the summary keeps what the member said, a filter can be let go of,
and a time someone else books while the member decides keeps their therapist and filters."""

from __future__ import annotations

import aiohttp
import pytest

from tests.e2e.backend_api import BackendApi
from tests.e2e.chat import (
    RestChat,
    button_for,
    drive,
    member_booking_steps,
    mentions,
    new_sender,
    offered,
    text_of,
)
from tests.e2e.test_conversations import redeem_and_search
from tests.stack import Stack, stack_factory  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


@pytest.fixture(scope="module")
def stack(stack_factory) -> Stack:  # noqa: F811
    return stack_factory("booking-gaps", rasa_env={"DEV_TRUST_SENDER": "true"})


async def member_at_the_summary(stack: Stack, http: aiohttp.ClientSession,
                                backend: BackendApi, role: str, search: str) -> RestChat:
    """A new member (invited through the API) who searched, picked a therapist and a time."""
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    member = RestChat(http, stack.rasa_url, new_sender(role))
    await redeem_and_search(member, code, search)
    assert offered(member.replies, "therapist_id"), member.transcript()
    await member.press(offered(member.replies, "therapist_id")[0], kind="pick_therapist")
    await member.press(offered(member.replies, "slot_start")[0], kind="pick_slot")
    assert button_for(member.replies, "affirm"), member.transcript()
    return member


def slots_of(stack: Stack, member: RestChat) -> dict:
    return stack.tracker(member.sender)["slots"]


async def test_no_at_the_summary_keeps_the_filters_and_the_member_still_books(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    member = await member_at_the_summary(stack, http, backend, "member-no",
                                         "find me a therapist for stress, video, weekdays")
    therapist_id = member.sent("pick_therapist")["therapist_id"]

    replies = await member.say("no", kind="no")

    assert mentions(r"kept everything you told me")(replies), member.transcript()
    assert offered(replies, "slot_start"), member.transcript()  # their times again
    slots = slots_of(stack, member)
    assert slots["when"]["days"] == WEEKDAYS and slots["modality"] == "video"
    assert slots["therapist_id"] == therapist_id and slots["booking_confirmed"] is None
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    bookings = (await backend.get("/me/bookings", f"dev:{member.sender}"))["bookings"]
    assert [str(b["therapist_id"]) for b in bookings] == [therapist_id]


async def test_any_day_lets_go_of_the_days_and_searches_again(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    member = RestChat(http, stack.rasa_url, new_sender("member-any-day"))
    await redeem_and_search(member, code, "find me a therapist for stress, video, weekday evenings")

    replies = await member.say("any day", kind="any_day")

    assert offered(replies, "therapist_id"), member.transcript()
    assert "weekdays" not in text_of(replies) and "evenings" in text_of(replies)
    slots = slots_of(stack, member)
    assert slots["when"]["days"] == [] and slots["when"]["times"] == ["evening"]
    assert slots["modality"] == "video" and slots["issue"]


async def test_a_time_taken_while_deciding_offers_that_therapists_next_times(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    member = await member_at_the_summary(stack, http, backend, "member-taken",
                                         "find me a therapist for stress, video, any time")
    therapist_id = member.sent("pick_therapist")["therapist_id"]
    taken = member.sent("pick_slot")["slot_start"]
    other = await member_at_the_summary(stack, http, backend, "member-quicker",
                                        "find me a therapist for stress, video, any time")
    await backend.post("/bookings", f"dev:{other.sender}", {
        "therapist_id": int(therapist_id), "starts_at": taken, "modality": "video"})

    replies = await member.say("yes", kind="confirm_taken")

    assert mentions(r"just been taken")(replies), member.transcript()
    times = [b.entities["slot_start"] for b in offered(replies, "slot_start")]
    assert times and taken not in times, member.transcript()
    slots = slots_of(stack, member)
    assert slots["therapist_id"] == therapist_id and slots["modality"] == "video"
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    bookings = (await backend.get("/me/bookings", f"dev:{member.sender}"))["bookings"]
    assert [str(b["therapist_id"]) for b in bookings] == [therapist_id]
    assert bookings[0]["starts_at"] != taken
