"""End to end, through the real processes (backend, actions, Rasa, dispatcher; tests/stack.py):
a member asks to be told when a therapist has a time nobody in the directory has; a therapist
with that time joins; the dispatcher's scan pushes the news into the member's chat with a button,
and the button starts the booking of that time."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from backend.models import Therapist
from tests.backend import booking_factories
from tests.e2e.backend_api import BackendApi
from tests.e2e.chat import Button, RestChat, new_sender, text_of
from tests.stack import Stack, stack_factory  # noqa: F401  (registers the fixture here)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PUSH_WITHIN_SECONDS = 30.0
SUNDAY, DAWN = 6, (5 * 60, 7 * 60)  # no demo therapist works before 07:00 (demo_directory.py)
LONDON = ZoneInfo("Europe/London")  # SERVICE_TIMEZONE's default


@pytest.fixture(scope="module")
def stack(stack_factory) -> Stack:  # noqa: F811
    return stack_factory("conversations", rasa_env={"DEV_TRUST_SENDER": "true"})


async def pushed_buttons(stack: Stack, sender: str, words: str) -> list[Button]:
    """The buttons of the push saying `words`, once the dispatcher has pushed it."""
    deadline = time.monotonic() + PUSH_WITHIN_SECONDS
    while time.monotonic() < deadline:
        for event in stack.tracker(sender)["events"]:
            if (event["event"] == "bot" and (event.get("metadata") or {}).get("push_key")
                    and words in (event.get("text") or "")):
                return [Button(b["title"], b["payload"])
                        for b in (event.get("data") or {}).get("buttons") or []]
        await asyncio.sleep(0.5)
    raise AssertionError(f"no push saying {words!r} in {stack.tracker(sender)['events'][-5:]}")


async def test_a_member_is_told_when_a_time_they_asked_for_comes_free_and_books_it(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    sender = new_sender("waitlist")
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    await backend.post("/invites/redeem", f"dev:{sender}", {"code": code})
    member = RestChat(http, stack.rasa_url, sender)

    waiting = await member.say("let me know when a therapist has a sunday slot before 7am",
                               kind="watch")
    assert "OK, I'm watching for" in text_of(waiting), member.transcript()

    early_bird = booking_factories.therapist(stack.database(), windows=[(SUNDAY, *DAWN)])
    buttons = await pushed_buttons(stack, sender, "a time you asked me to watch for is free")
    assert buttons and all(b.entities["therapist_id"] == str(early_bird) for b in buttons)
    first = buttons[0]
    starts = datetime.fromisoformat(first.entities["slot_start"]).astimezone(LONDON)
    assert first.intent == "find_therapist" and starts.weekday() == SUNDAY and starts.hour < 7

    booking = await member.press(first, kind="book the pushed time")
    with stack.database().reader() as session:
        name = session.get_one(Therapist, early_bird).name
    assert name in text_of(booking), member.transcript()
