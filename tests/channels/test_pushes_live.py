"""The service speaks first: a notification written in the backend reaches the person through the
running dispatcher, Rasa's HTTP API and the channel's own protocol (stand-ins for Slack and
Microsoft), lands in the conversation's tracker, and is sent once."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from backend.domain.enums import BookingStatus, Modality
from backend.models import (
    Booking,
    ChatIdentity,
    Grant,
    Member,
    Notification,
    NotificationDelivery,
    Organisation,
    Therapist,
)
from backend.seed import DEMO_ORGANISATION
from backend.services import notifications
from backend.services.actors import SYSTEM
from backend.services.outbox import events
from backend.services.search.slots import free_slots
from contracts.push import pushed_keys
from tests.channels.conftest import DEMO_TEAM, DEMO_TENANT, TEAMS_APP_ID
from tests.channels.standins import teams_activity, wait_for
from tests.channels.test_slack_live import _dm, _replies
from tests.channels.test_teams_live import _member, _post, _token
from tests.stack import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_people = itertools.count(1)


def new_person(world, channel: str, external_id: str) -> int:
    """A member of the demo organisation with one chat identity; returns the member id."""
    db = world.stack.database()
    n = next(_people)
    with db.transaction() as session:
        organisation_id = session.scalar(select(Organisation.id).where(
            Organisation.name == DEMO_ORGANISATION))
        member = Member(organisation_id=organisation_id, name=f"Pushed Person {n}",
                        email=f"pushed{n}-{channel}@northwind.example")
        session.add(member)
        session.flush()
        session.add(ChatIdentity(channel=channel, external_id=external_id, member_id=member.id))
        member_id = member.id
    db.dispose()
    return member_id


def tell(world, member_id: int, text: str, **options) -> None:
    db = world.stack.database()
    with db.transaction() as session:
        member = session.get_one(Member, member_id)
        notifications.notify_member(session, member.organisation_id, member_id, "test", text,
                                    **options)
    db.dispose()


def delivered(world, member_id: int) -> list[str]:
    db = world.stack.database()
    with db.reader() as session:
        states = [state.value for state in session.scalars(
            select(NotificationDelivery.state)
            .join(Notification, Notification.id == NotificationDelivery.notification_id)
            .where(Notification.member_id == member_id))]
    db.dispose()
    return states


def bot_texts(world, conversation: str) -> list[str]:
    events = world.stack.tracker(conversation)["events"]
    return [event.get("text") for event in events if event["event"] == "bot"]


def test_a_push_reaches_slack_as_a_direct_message_once(channel_world):
    world = channel_world
    user = "UPUSHSLACK"
    world.slack.add_user(DEMO_TEAM, user, "pushed-slack@northwind.example", "Pushed Slack")
    member_id = new_person(world, "slack", f"{DEMO_TEAM}:{user}")
    tell(world, member_id, "Good news: your session is confirmed.",
         buttons=[{"title": "See my bookings", "payload": "/ask_bookings"}])
    [post] = wait_for(lambda: world.slack.posts_to(f"D{user}"), timeout=60)
    assert "your session is confirmed" in post["text"]
    assert any(block["type"] == "actions" for block in post["blocks"])
    wait_for(lambda: delivered(world, member_id) == ["delivered"], timeout=30)
    conversation = f"slack:{DEMO_TEAM}:{user}"
    assert bot_texts(world, conversation) == ["Good news: your session is confirmed."]
    assert len(pushed_keys(world.stack.tracker(conversation))) == 1
    time.sleep(2)  # nothing more arrives
    assert len(world.slack.posts_to(f"D{user}")) == 1


def test_a_push_reaches_teams_as_a_proactive_message_in_the_last_conversation(channel_world):
    world = channel_world
    aad = "aad-pushed"
    _member(world, aad, "Pushed Teams")
    member_id = new_person(world, "teams", f"{DEMO_TENANT}:{aad}")
    activity = teams_activity(world.connector_url, tenant=DEMO_TENANT, aad=aad,
                              app_id=TEAMS_APP_ID, text="hello")
    conversation = activity["conversation"]["id"]
    assert _post(world, activity, _token(world))[0] == 200
    wait_for(lambda: world.connector.replies_to(conversation), timeout=90)
    answered = len(world.connector.replies_to(conversation))
    tell(world, member_id, "A reminder: your session is tomorrow at 10:00.")
    wait_for(lambda: delivered(world, member_id) == ["delivered"], timeout=60)
    proactive = [reply for reply in world.connector.replies
                 if reply["conversation"] == conversation and reply["reply_to"] is None]
    assert len(proactive) == 1, world.connector.replies
    assert "A reminder" in json.dumps(proactive[0]["activity"])
    assert proactive[0]["activity"]["recipient"]["id"] == f"29:{aad}"
    assert len(world.connector.replies_to(conversation)) == answered + 1
    assert "A reminder: your session is tomorrow at 10:00." in bot_texts(
        world, f"teams:{DEMO_TENANT}:{aad}")


def test_a_teams_push_waits_for_a_conversation_to_write_into(channel_world):
    world = channel_world
    member_id = new_person(world, "teams", f"{DEMO_TENANT}:aad-never-spoke")
    tell(world, member_id, "Nobody to tell yet.")
    time.sleep(3)
    assert delivered(world, member_id) in (["pending"], ["sending"])
    assert "no Teams conversation" in world.stack.log("rasa")


def dev_pushes(world, sender: str, wait: float = 20) -> list[dict]:
    url = f"{world.stack.rasa_url}/webhooks/dev_rest/pushes?sender={sender}&wait={wait}"
    with urllib.request.urlopen(url, timeout=wait + 10) as answer:
        return json.loads(answer.read())


def dev_say(world, sender: str, text: str) -> list[dict]:
    request = urllib.request.Request(
        f"{world.stack.rasa_url}/webhooks/dev_rest/webhook", method="POST",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def test_the_dev_channel_hands_pushes_to_whoever_waits_for_them(channel_world):
    world = channel_world
    member_id = new_person(world, "dev", "pushed-dev")
    found: list[list[dict]] = []
    waiter = threading.Thread(target=lambda: found.append(dev_pushes(world, "pushed-dev")))
    waiter.start()
    time.sleep(0.5)
    started = time.monotonic()
    tell(world, member_id, "Sorry, Dr X can't take the session.",
         buttons=[{"title": "Other times", "payload": "/find_therapist"}])
    waiter.join(30)
    assert found and found[0][0]["text"] == "Sorry, Dr X can't take the session."
    assert found[0][0]["buttons"][0]["title"] == "Other times"
    assert "push_key" not in found[0][0]
    assert time.monotonic() - started < 10


def test_make_chat_prints_a_push_as_it_arrives(channel_world):
    world = channel_world
    member_id = new_person(world, "dev", "pushed-chat")
    chat = subprocess.Popen(
        [sys.executable, "scripts/chat.py", "--as", "pushed-chat", "--url",
         f"{world.stack.rasa_url}/webhooks/dev_rest/webhook"], cwd=REPO,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(3)  # its thread is waiting for pushes
        tell(world, member_id, "Good news: Dr Y confirmed your session.")
        lines: list[str] = []

        def read() -> None:
            for line in chat.stdout:  # type: ignore[union-attr]
                lines.append(line)
                if "Dr Y confirmed" in line:
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(30)
        assert any("bot> Good news: Dr Y confirmed your session." in line for line in lines), lines
    finally:
        chat.kill()
        chat.wait(10)


def test_the_reminder_comes_when_the_dispatchers_clock_says_so(channel_world):
    world = channel_world
    db = world.stack.database()
    with db.reader() as session:
        therapist_id = session.scalar(select(ChatIdentity.therapist_id).where(
            ChatIdentity.therapist_id.is_not(None)))
    member_id = new_person(world, "dev", "pushed-reminder")
    # The first free slot a day ahead: the clock moves forward two hours or so only, not
    # far enough to chase other tests' requests.
    starts_at = free_slots(db, SYSTEM, therapist_id,
                           start=datetime.now(timezone.utc) + timedelta(hours=25), limit=1)[0]
    with db.transaction() as session:
        session.add(Booking(member_id=member_id, therapist_id=therapist_id, starts_at=starts_at,
                            ends_at=starts_at + timedelta(minutes=50), modality=Modality.VIDEO,
                            status=BookingStatus.CONFIRMED))
    db.dispose()
    waiting: list[list[dict]] = []
    world.stack.set_now(starts_at - timedelta(hours=25))
    try:
        assert dev_pushes(world, "pushed-reminder", wait=3) == []
        world.stack.set_now(starts_at - timedelta(hours=23))
        waiting.append(dev_pushes(world, "pushed-reminder", wait=20))
    finally:
        world.stack.set_now(None)
    assert waiting[0] and waiting[0][0]["text"].startswith("A reminder: your session with")


def test_after_a_declined_push_other_times_continue_with_that_therapist(channel_world):
    """The push lands in the conversation with the therapist it is about, so the person's
    answer to it ("show me other times") goes on with that therapist (issue 12, item 2)."""
    world = channel_world
    user = "UDECLINED"
    world.slack.add_user(DEMO_TEAM, user, "declined@northwind.example", "Dee Clined")
    member_id = new_person(world, "slack", f"{DEMO_TEAM}:{user}")
    # They booked by chat, so their conversation exists when the therapist answers. (A push
    # that starts a conversation is stored before Rasa's session start and not read back with
    # the conversation: a known gap, see the README.)
    assert _dm(world, user, "hello")[0] == 200
    greeted = len(_replies(world, user, 1))
    db = world.stack.database()
    try:
        with db.transaction() as session:
            # Sessions of the demo organisation's, as Ben's (so that a booking may start).
            authorisation_id = session.scalar(
                select(Grant.authorisation_id).join(Member, Member.id == Grant.member_id)
                .where(Member.name == "Ben Okafor").limit(1))
            session.add(Grant(authorisation_id=authorisation_id, member_id=member_id))
            therapist = session.scalars(select(Therapist).where(Therapist.offers_video.is_(True))
                                        .order_by(Therapist.id.desc()).limit(1)).one()
        starts_at = free_slots(db, SYSTEM, therapist.id,
                               start=datetime.now(timezone.utc) + timedelta(days=2), limit=1)[0]
        with db.transaction() as session:
            booking = Booking(member_id=member_id, therapist_id=therapist.id,
                              starts_at=starts_at, ends_at=starts_at + timedelta(minutes=50),
                              modality=Modality.VIDEO, status=BookingStatus.DECLINED)
            session.add(booking)
            session.flush()
            # What the therapist's decline writes in its transaction.
            events.booking_declined(session, booking, datetime.now(timezone.utc))
    finally:
        db.dispose()
    pushed = wait_for(lambda: (posts := world.slack.posts_to(f"D{user}"))
                      and len(posts) > greeted and posts[greeted], timeout=60)
    assert f"Sorry, {therapist.name} can't take the session" in pushed["text"]
    assert therapist.name in json.dumps(pushed["blocks"])

    assert _dm(world, user, "show me other times")[0] == 200
    answer = wait_for(lambda: (posts := world.slack.posts_to(f"D{user}"))
                      and len(posts) > greeted + 1 and posts[greeted + 1], timeout=90)

    said = json.dumps(answer)
    events_ = world.stack.tracker(f"slack:{DEMO_TEAM}:{user}")["events"]
    assert therapist.name in said, (answer, [(e["event"], e.get("name"), e.get("value"))
                                             for e in events_ if e["event"] in ("slot", "user",
                                                                                "bot", "action")])
    assert re.search(r"\d{1,2}:\d{2}", json.dumps(answer.get("blocks"))), answer  # their times
