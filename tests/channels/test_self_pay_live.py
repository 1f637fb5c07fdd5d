"""Paying oneself and watching a therapist by name over Slack's real protocol (issue 13), to the
running Rasa server, action server and backend: a colleague whose organisation pays for nothing
they can use presses "Find a therapist, I'll pay", books through Block Kit buttons, is told the
fee, and the booking is self-paid; then "let me know if <her first name> has a sunday slot
before 7am" watches that therapist alone, known from the member's own booking."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from backend.models import Booking, Member, Organisation, Therapist, Watch
from backend.seed import DEMO_ORGANISATION
from tests.channels.conftest import DEMO_TEAM
from tests.channels.slack_chat import SlackChat
from tests.e2e.chat import buttons_of, drive, member_booking_steps, mentions, text_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_a_colleague_books_paying_herself_then_watches_that_therapist_by_name(
        channel_world):
    suffix = uuid.uuid4().hex[:6]
    user, email = f"USOL{suffix.upper()}", f"sol-{suffix}@northwind.example"
    db = channel_world.stack.database()
    try:  # a colleague the organisation knows, with no offer of her own
        with db.transaction() as session:
            organisation_id = session.scalar(select(Organisation.id).where(
                Organisation.name == DEMO_ORGANISATION))
            session.add(Member(organisation_id=organisation_id, name="Sol Ferreira", email=email))
    finally:
        db.dispose()
    channel_world.slack.add_user(DEMO_TEAM, user, email, "Sol Ferreira")

    sol = SlackChat(channel_world, user)
    refused = await sol.say("find a therapist", kind="search")
    assert "£" in text_of(refused), sol.transcript()
    pay = next((b for b in buttons_of(refused) if b.title == "Find a therapist, I'll pay"), None)
    assert pay is not None and pay.payload == '/find_therapist{"self_pay": "yes"}', \
        sol.transcript()

    # The booking conversation, by Block Kit buttons where the bot offers them.
    await sol.press(pay, kind="search_paying")
    booked = await drive(sol, member_booking_steps(), done=mentions(r"Requested"))
    assert re.search(r"Requested: .* You pay for this session yourself", text_of(booked)), \
        sol.transcript()
    summary = text_of(sol.turns[-2].replies)  # the answer to the time picked, before "yes"
    assert re.search(r"You pay £\d+\.\d\d for this session yourself; your organisation is not "
                     r"charged and not told", summary), sol.transcript()

    db = channel_world.stack.database()
    try:
        with db.reader() as session:
            member_id = session.scalar(select(Member.id).where(Member.email == email))
            [booking] = session.scalars(select(Booking).where(Booking.member_id == member_id))
            assert booking.voucher is None  # nothing of the organisation's pays
            name = session.get_one(Therapist, booking.therapist_id).name
    finally:
        db.dispose()

    first_name = name.split()[0]
    watching = await sol.say(f"let me know if {first_name} has a sunday slot before 7am",
                             kind="watch")
    assert f"OK, I'm watching for {name}'s free times, Sunday" in text_of(watching), \
        sol.transcript()
    db = channel_world.stack.database()
    try:
        with db.reader() as session:
            [watch] = session.scalars(select(Watch).where(Watch.member_id == member_id))
            assert watch.therapist_id == booking.therapist_id
    finally:
        db.dispose()
