"""Risk messages get the right help at once, in every form and anywhere else, even with the action
server hung and the backend hung; the team hears about each of them once the backend is back.

PRODUCT.md rule 7 and issue 10. The stack runs as users start it (tests/stack.py); the action
server and the backend are frozen with SIGSTOP (a hung process: connections are accepted and never
answered) while the risk message is sent, and thawed with SIGCONT afterwards. The crisis answer is
a domain response chosen by the `risk_kind` slot (bot/domain.yml); bot/crisis_policy.py puts it
first inside forms; bot/crisis_alerts.py records it in the backend from inside the Rasa server.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from sqlalchemy import select

from backend.models import HandoffRequest
from tests.e2e.backend_api import BackendApi
from tests.e2e.chat import (
    Reply,
    RestChat,
    button_for,
    drive,
    member_booking_steps,
    mentions,
    new_sender,
    offered,
    text_of,
)
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPLY_WITHIN_SECONDS = 1.0
ALERT_WITHIN_SECONDS = 60.0
# What each crisis answer must say (bot/domain.yml, utter_crisis), by the kind of risk.
KIND_WORDING = {
    "emergency": ("999", "A&E"),
    "suicidal": ("116 123", "SHOUT", "85258", "NHS 111", "999"),
    "someone_else": ("999", "stay with them", "116 123", "85258", "NHS 111"),
    "danger_from_others": ("999", "0808 2000 247"),
    "harm_to_others": ("999", "step away", "116 123"),
}
# A risk of no known kind: the general answer, 999 first.
GENERAL_WORDING = ("999", "A&E", "116 123", "SHOUT", "85258", "NHS 111")


@dataclass(frozen=True)
class Risk:
    kind: str
    message: str


RISKS = {
    "overdose": Risk("emergency", "I took an overdose of my tablets an hour ago"),
    "bridge": Risk("emergency", "I'm going to jump off the bridge"),
    "suicidal": Risk("suicidal", "i want to kill myself"),
    "colleague": Risk("someone_else", "my colleague told me he's suicidal and has a plan"),
    "threatened": Risk("danger_from_others", "my partner hits me and I'm not safe at home"),
    "threat": Risk("harm_to_others", "I'm so angry I want to hurt someone, I mean it"),
    "cant_go_on": Risk("suicidal", "honestly I can't go on any more"),
}


@pytest.fixture(scope="module")
def stack(stack_factory) -> Stack:
    # A stack of its own: these tests speak as the demo admin at close to the 30 turns a minute
    # the Rasa server allows one sender, so the shared stack's other turns as her would tip them
    # over (seen in a fresh clone: "You're sending messages faster than I can answer").
    return stack_factory("crisis", rasa_env={"DEV_TRUST_SENDER": "true"})


@pytest.fixture
async def backend(stack: Stack, http: aiohttp.ClientSession) -> BackendApi:
    # The first message after the model loads builds the classifiers' graphs (seconds): the
    # one-second bar is for a server that has answered before.
    await RestChat(http, stack.rasa_url, new_sender("warm-up")).say("hello")
    return BackendApi(http, stack.backend_url, stack.service_token)


@contextlib.contextmanager
def hung(stack: Stack, *names: str) -> Iterator[None]:
    """The named processes frozen (SIGSTOP) for the duration, thawed (SIGCONT) afterwards."""
    frozen = [p.popen for p in stack.processes if p.name in names]
    assert len(frozen) == len(names), [p.name for p in stack.processes]
    for popen in frozen:
        popen.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for popen in frozen:
            popen.send_signal(signal.SIGCONT)


async def risk_message_answered_at_once(stack: Stack, chat: RestChat,
                                        risk: Risk) -> tuple[Reply, ...]:
    """Send the risk with the action server and the backend hung; check the answer and its speed."""
    with hung(stack, "actions", "backend"):
        replies = await chat.say(risk.message, kind=f"risk:{risk.kind}")
    seconds = chat.turns[-1].seconds
    assert seconds < REPLY_WITHIN_SECONDS, f"{seconds:.2f} s\n{chat.transcript()}"
    assert len(replies) == 1, chat.transcript()
    found_kind = stack.tracker(chat.sender)["slots"].get("risk_kind") or None
    # The detector names the kind, and the answer is that kind's.
    assert found_kind == risk.kind, chat.transcript()
    wording = KIND_WORDING[found_kind] if found_kind else GENERAL_WORDING
    missing = [words for words in wording if words not in replies[0].text]
    assert not missing, f"{missing} missing for {found_kind}:\n{chat.transcript()}"
    if found_kind is None:  # 999 first
        assert replies[0].text.index("999") < replies[0].text.index("116 123")
    talk = button_for(replies, "handoff_request")
    assert talk is not None and talk.title == "Talk to a person", chat.transcript()
    carry_on = button_for(replies, "deny")
    assert carry_on is not None and carry_on.title == "No thanks, carry on", chat.transcript()
    return replies


def active_form(stack: Stack, sender: str) -> str | None:
    return (stack.tracker(sender).get("active_loop") or {}).get("name")


def urgent_requests(stack: Stack, identity: str, topic: str) -> list[HandoffRequest]:
    with stack.database().reader() as session:
        return list(session.scalars(select(HandoffRequest).where(
            HandoffRequest.identity == identity, HandoffRequest.topic == topic)))


async def recorded(stack: Stack, identity: str, topic: str,
                   count: int = 1) -> list[HandoffRequest]:
    """The requests of that topic for the identity, once `count` have arrived (and no more)."""
    deadline = time.monotonic() + ALERT_WITHIN_SECONDS
    found = urgent_requests(stack, identity, topic)
    while len(found) < count and time.monotonic() < deadline:
        await asyncio.sleep(1)
        found = urgent_requests(stack, identity, topic)
    await asyncio.sleep(0.5)  # a duplicate would be recorded by now
    found = urgent_requests(stack, identity, topic)
    assert len(found) == count, f"{len(found)} {topic} requests for {identity}, not {count}"
    return found


async def in_form(chat: RestChat, stack: Stack, message: str, form: str) -> None:
    await chat.say(message, kind="start")
    assert active_form(stack, chat.sender) == form, chat.transcript()


async def member_with_a_booking(stack: Stack, http: aiohttp.ClientSession,
                                backend: BackendApi) -> RestChat:
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    member = RestChat(http, stack.rasa_url, new_sender("booked"))
    await member.say(f"hi, my invite code is {code}", kind="redeem")
    await member.say("find me a therapist for stress, phone, any time", kind="search")
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    return member


async def test_a_risk_in_every_form_and_anywhere_gets_the_right_help_within_a_second_with_the_action_server_and_backend_hung(  # noqa: E501
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    started = datetime.now(timezone.utc) - timedelta(seconds=5)
    chats: list[tuple[RestChat, Risk, str | None]] = []

    async def check(chat: RestChat, risk: Risk, form: str | None) -> None:
        await risk_message_answered_at_once(stack, chat, risk)
        # The form is still there: it takes the next message.
        assert active_form(stack, chat.sender) == form, chat.transcript()
        chats.append((chat, risk, form))

    # Anywhere: the very first message, after a greeting, after a question.
    await check(RestChat(http, stack.rasa_url, new_sender("first")), RISKS["overdose"], None)
    greeted = RestChat(http, stack.rasa_url, new_sender("greeted"))
    await greeted.say("hello")
    await check(greeted, RISKS["colleague"], None)
    asked = RestChat(http, stack.rasa_url, new_sender("asked"))
    await asked.say("how do vouchers work")
    await check(asked, RISKS["threatened"], None)

    # In the middle of every form.
    registering = RestChat(http, stack.rasa_url, new_sender("registering"))
    await in_form(registering, stack, "I'd like to register my organisation", "register_form")
    await check(registering, RISKS["threat"], "register_form")

    admin = RestChat(http, stack.rasa_url, "alice")
    await in_form(admin, stack, "I'd like to set up sessions for my team", "authorisation_form")
    await check(admin, RISKS["cant_go_on"], "authorisation_form")
    await admin.say("stop")
    await in_form(admin, stack, "create an invite", "invite_form")
    await check(admin, RISKS["suicidal"], "invite_form")
    await admin.say("stop")

    redeeming = RestChat(http, stack.rasa_url, new_sender("redeeming"))
    await in_form(redeeming, stack, "I have an invite code", "redeem_form")
    await check(redeeming, RISKS["suicidal"], "redeem_form")

    searching = RestChat(http, stack.rasa_url, "ben")
    await in_form(searching, stack, "I'd like to find a therapist", "booking_form")
    await check(searching, RISKS["bridge"], "booking_form")
    await searching.say("stop")

    changing = await member_with_a_booking(stack, http, backend)
    await in_form(changing, stack, "I need to cancel my booking", "booking_change_form")
    await check(changing, RISKS["colleague"], "booking_change_form")

    seconds = sorted(turn.seconds for chat, _, _ in chats for turn in chat.turns
                     if turn.kind.startswith("risk:"))
    print(f"\n{len(seconds)} crisis answers, action server and backend hung: "
          f"median {seconds[len(seconds) // 2]:.3f} s, slowest {seconds[-1]:.3f} s")

    # Processes back: the team has an urgent record of each, with the kind and none of the words.
    for chat, risk, _ in chats:
        identity = f"dev:{chat.sender}"
        said = [turn for turn in chat.turns if turn.kind.startswith("risk:")]
        for alert in await recorded(stack, identity, "crisis", count=len(said)):
            assert alert.urgent and alert.message == "", identity
            assert alert.risk_kind == risk.kind, identity
            assert alert.occurred_at is not None and alert.occurred_at >= started, identity


async def test_a_person_after_a_crisis_answer_is_an_urgent_request_also_inside_a_form(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    outside = RestChat(http, stack.rasa_url, new_sender("talk"))
    replies = await risk_message_answered_at_once(stack, outside, RISKS["suicidal"])
    answer = await outside.press(button_for(replies, "handoff_request"))
    assert mentions(r"get in touch")(answer) and mentions(r"999")(answer), outside.transcript()
    [request] = await recorded(stack, f"dev:{outside.sender}", "safety")
    assert request.urgent and request.message == "", outside.transcript()

    # Inside a form "yes" right after the crisis answer is a person, not the form's answer.
    booking = RestChat(http, stack.rasa_url, new_sender("yes"))
    await in_form(booking, stack, "I have an invite code", "redeem_form")
    await risk_message_answered_at_once(stack, booking, RISKS["cant_go_on"])
    answer = await booking.say("yes")
    assert mentions(r"get in touch")(answer), booking.transcript()
    assert active_form(stack, booking.sender) is None, booking.transcript()
    [request] = await recorded(stack, f"dev:{booking.sender}", "safety")
    assert request.urgent and request.message == "", booking.transcript()
    assert not offered(answer, "therapist_id") and "invite code" not in text_of(answer)


async def test_the_form_goes_on_after_the_crisis_answer(stack: Stack,
                                                        http: aiohttp.ClientSession,
                                                        backend: BackendApi):
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    member = RestChat(http, stack.rasa_url, new_sender("resumes"))
    await member.say(f"hi, my invite code is {code}", kind="redeem")
    results = await member.say("find me a therapist for stress, phone, any time", kind="search")
    therapist = offered(results, "therapist_id")[0]
    await risk_message_answered_at_once(stack, member, RISKS["cant_go_on"])
    # The therapist buttons shown before are still there to press: booking carries on.
    await member.press(therapist, kind="pick_therapist")
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    bookings = (await backend.get("/me/bookings", f"dev:{member.sender}"))["bookings"]
    assert len(bookings) == 1 and bookings[0]["therapist_id"] == int(
        therapist.entities["therapist_id"]), member.transcript()


CRISIS_NUMBERS = ("116 123", "0808 2000 247", "999", "85258")


async def booking_asks_for_the_issue(stack: Stack, http: aiohttp.ClientSession,
                                     backend: BackendApi, name: str) -> RestChat:
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    member = RestChat(http, stack.rasa_url, new_sender(name))
    await member.say(f"hi, my invite code is {code}", kind="redeem")
    asked = await member.say("find me a therapist", kind="start")
    assert mentions(r"What would you like help with")(asked), member.transcript()
    return member


def requested_slot(stack: Stack, sender: str) -> str | None:
    return stack.tracker(sender)["slots"].get("requested_slot")


@pytest.mark.parametrize("answer", ["i'm scared of presenting", "abuse in my past", "grief"])
async def test_an_issue_named_as_the_booking_forms_answer_is_no_crisis(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi, answer: str):
    member = await booking_asks_for_the_issue(stack, http, backend, "issue")
    replies = await member.say(answer, kind="issue")
    said = text_of(replies)
    assert not [number for number in CRISIS_NUMBERS if number in said], member.transcript()
    assert stack.tracker(member.sender)["slots"].get("risk_kind") is None, member.transcript()
    # The form handles the answer itself: the next question, or the issues therapists list.
    assert active_form(stack, member.sender) == "booking_form", member.transcript()
    assert mentions(r"How would you like to meet|couldn't match")(replies), member.transcript()


async def test_low_mood_inside_a_form_is_acknowledged_and_the_form_asks_again(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    member = await booking_asks_for_the_issue(stack, http, backend, "low")
    replies = await member.say("i've been feeling really low lately", kind="low_mood")
    said = text_of(replies)
    assert "sorry you've been feeling low" in said, member.transcript()
    assert not [number for number in CRISIS_NUMBERS if number in said], member.transcript()
    assert mentions(r"What would you like help with")(replies), member.transcript()
    assert active_form(stack, member.sender) == "booking_form", member.transcript()
    assert requested_slot(stack, member.sender) == "issue", member.transcript()
    await member.say("anxiety", kind="issue")
    assert requested_slot(stack, member.sender) not in (None, "issue"), member.transcript()


async def test_no_thanks_after_a_crisis_answer_asks_the_forms_question_again(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    """Someone whose words only sounded like a risk (or who wants to go on) presses "No thanks,
    carry on": the help stays said, the booking form asks its question again and takes the
    answer, and nothing of "no" is taken as an answer."""
    member = await booking_asks_for_the_issue(stack, http, backend, "carry-on")
    replies = await risk_message_answered_at_once(stack, member, RISKS["cant_go_on"])
    answer = await member.press(button_for(replies, "deny"), kind="carry_on")
    assert mentions(r"whenever you need them")(answer), member.transcript()
    assert mentions(r"What would you like help with")(answer), member.transcript()
    assert active_form(stack, member.sender) == "booking_form", member.transcript()
    assert requested_slot(stack, member.sender) == "issue", member.transcript()
    assert await recorded(stack, f"dev:{member.sender}", "safety", count=0) == []
    await member.say("anxiety", kind="issue")
    assert "anxiety" in str(stack.tracker(member.sender)["slots"].get("issue")), member.transcript()
    assert requested_slot(stack, member.sender) not in (None, "issue"), member.transcript()
