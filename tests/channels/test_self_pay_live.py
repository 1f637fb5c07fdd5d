"""Paying oneself and watching a therapist by name over Slack's real protocol (issue 13), to the
running Rasa server, action server and backend: a colleague whose organisation pays for nothing
they can use presses "Find a therapist, I'll pay", books through Block Kit buttons, is told the
fee, and the booking is self-paid; then "let me know if <her first name> has a sunday slot
before 7am" watches that therapist alone, known from the member's own booking."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from backend.models import Booking, Member, Organisation, Therapist, Watch
from backend.seed import DEMO_ORGANISATION
from tests.channels.conftest import DEMO_TEAM
from tests.channels.standins import wait_for
from tests.channels.test_slack_live import _buttons, _click, _dm

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A turn's posts are in once none has come for this long.
QUIET_SECONDS = 1.5


def _turn(world, user: str, message: str) -> list[dict]:
    """Send a message (a button's value is clicked, words are typed), then the bot's posts of
    this turn."""
    before = len(world.slack.posts_to(f"D{user}"))
    sent = (_click(world, user, message) if message.startswith("/")
            else _dm(world, user, message))
    assert sent[0] == 200, sent
    wait_for(lambda: len(world.slack.posts_to(f"D{user}")) > before, 60)
    count = -1
    while count != len(world.slack.posts_to(f"D{user}")):
        count = len(world.slack.posts_to(f"D{user}"))
        time.sleep(QUIET_SECONDS)
    return world.slack.posts_to(f"D{user}")[before:]


def _text(posts: list[dict]) -> str:
    return "\n".join(post.get("text") or "" for post in posts)


def _button(posts: list[dict], matches: Callable[[dict], bool]) -> str | None:
    return next((b["value"] for post in posts for b in _buttons(post) if matches(b)), None)


def test_a_colleague_books_paying_herself_then_watches_that_therapist_by_name(channel_world):
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

    refused = _turn(channel_world, user, "find a therapist")
    assert "£" in _text(refused), refused
    pay = _button(refused, lambda b: b["text"]["text"] == "Find a therapist, I'll pay")
    assert pay == '/find_therapist{"self_pay": "yes"}', refused

    # The booking conversation, by buttons where the bot offers them.
    summary = ""
    posts = _turn(channel_world, user, pay)
    for _ in range(10):
        said = _text(posts)
        if re.search(r"Requested", said):
            break
        if re.search(r"what would you like help with", said, re.IGNORECASE):
            answer = "anxiety"
        elif re.search(r"when suits you", said, re.IGNORECASE):
            answer = "any time"
        else:
            answer = (_button(posts, lambda b: b["value"].startswith("/affirm"))
                      or _button(posts, lambda b: '"slot_start"' in b["value"])
                      or _button(posts, lambda b: '"therapist_id"' in b["value"])
                      or _button(posts, lambda b: '"video"' in b["value"]))
            assert answer, posts
            if answer.startswith("/affirm"):
                summary = said
        posts = _turn(channel_world, user, answer)
    assert re.search(r"Requested: .* You pay for this session yourself", _text(posts)), posts
    assert re.search(r"You pay £\d+\.\d\d for this session yourself; your organisation is not "
                     r"charged and not told", summary), summary

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
    watching = _turn(channel_world, user,
                     f"let me know if {first_name} has a sunday slot before 7am")
    assert f"OK, I'm watching for {name}'s free times, Sunday" in _text(watching), watching
    db = channel_world.stack.database()
    try:
        with db.reader() as session:
            [watch] = session.scalars(select(Watch).where(Watch.member_id == member_id))
            assert watch.therapist_id == booking.therapist_id
    finally:
        db.dispose()
