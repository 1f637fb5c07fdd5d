"""Whole conversations where the organisation would not pay: the bot says so when the time is
picked, from the backend's quote, and never "Your organisation pays" followed by a refusal.

Dan (demo data) saw the directory's first therapist, paying himself; his only offer is the
all-members "continue with your therapist" one. A new member whose offer the admin pauses in the
middle of the booking is Ben's case of issue 15. Same running stack as test_conversations.py.
"""

from __future__ import annotations

import uuid

import aiohttp
import pytest
from sqlalchemy import select

from backend.models import Booking, ChatIdentity
from tests.e2e.backend_api import ADMIN, BackendApi
from tests.e2e.chat import (
    RestChat,
    button_for,
    drive,
    member_booking_steps,
    mentions,
    offered,
    text_of,
)
from tests.stack import Stack, stack_factory  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ORGANISATION_PAYS = r"Your organisation pays"


@pytest.fixture(scope="module")
def stack(stack_factory) -> Stack:  # noqa: F811
    return stack_factory("conversations", rasa_env={"DEV_TRUST_SENDER": "true"})


def seen_by_dan(stack: Stack) -> int:
    db = stack.database()
    try:
        with db.reader() as session:
            return session.scalar(
                select(Booking.therapist_id)
                .join(ChatIdentity, ChatIdentity.member_id == Booking.member_id)
                .where(ChatIdentity.channel == "dev", ChatIdentity.external_id == "dan"))
    finally:
        db.dispose()


async def test_dan_is_told_his_offer_pays_for_the_therapist_he_has_seen_and_books_with_them(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    seen = seen_by_dan(stack)
    dan = RestChat(http, stack.rasa_url, "dan")
    await dan.say("I'd like to book a session, not sure what about, by video, any time",
                  kind="search")

    def someone_else(buttons):
        return next(b for b in buttons if int(b.entities["therapist_id"]) != seen)

    # Were the summary to promise payment, these steps would confirm it and never be told.
    await drive(dan, member_booking_steps(choose_therapist=someone_else),
                done=mentions(r"already seen"))
    told = dan.replies
    assert not any(mentions(ORGANISATION_PAYS)(turn.replies) for turn in dan.turns), \
        dan.transcript()
    assert "£" in text_of(told), dan.transcript()  # what paying himself would cost
    assert (await backend.get("/me/grants", "dev:dan"))["grants"] == []  # no place taken

    book_seen = next(b for b in offered(told, "therapist_id")
                     if int(b.entities["therapist_id"]) == seen)
    await dan.press(book_seen, kind="pick_seen_therapist")
    booked = await drive(dan, member_booking_steps(), done=mentions(r"Requested"))
    summary = dan.turns[-2].replies  # the answer to the time picked, before "yes"
    assert mentions(r"organisation pays for this session through “Continue with your "
                    r"therapist")(summary), dan.transcript()
    assert mentions(r"organisation pays")(booked), dan.transcript()
    [booking] = (await backend.get("/me/bookings", "dev:dan"))["bookings"]
    assert booking["therapist_id"] == seen and booking["paid_by_organisation"] is True
    assert booking["sessions_remaining_on_grant"] == 3
    assert len((await backend.get("/me/grants", "dev:dan"))["grants"]) == 1


async def test_an_offer_paused_during_the_booking_is_said_when_the_time_is_picked(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    """Ben's case: the admin pauses the offer while he chooses; the bot says so at once."""
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    ben = RestChat(http, stack.rasa_url, f"e2e-ben-{uuid.uuid4().hex[:8]}")
    await ben.say(f"hi, my invite code is {code}", kind="redeem")
    await ben.say("find me a therapist for stress, by video, any time", kind="search")
    await drive(ben, member_booking_steps(), done=lambda replies: bool(
        offered(replies, "therapist_id")))
    await backend.post(f"/authorisations/{authorisation['id']}/pause", ADMIN)
    paused_at = len(ben.turns)

    await drive(ben, member_booking_steps(), done=mentions(r"is paused"))
    assert not any(mentions(ORGANISATION_PAYS)(turn.replies)
                   for turn in ben.turns[paused_at:]), ben.transcript()
    assert button_for(ben.replies, "handoff_request") is not None, ben.transcript()
    assert (await backend.get("/me/bookings", f"dev:{ben.sender}"))["bookings"] == []
    await ben.say("yes", kind="confirm")  # the form has ended: a yes now books nothing
    assert (await backend.get("/me/bookings", f"dev:{ben.sender}"))["bookings"] == []
    assert not mentions(r"Requested")(ben.replies), ben.transcript()
