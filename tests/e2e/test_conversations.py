"""Whole conversations with the running assistant over the development REST channel.

tests/stack.py starts the backend (demo data), the action server and the Rasa server (needs a
trained model: `make train`); the REST channel trusts the sender as `dev:<sender>` because this
stack runs with DEV_TRUST_SENDER=true. An admin creates an authorisation and an invite by chat,
a new member redeems the code and books by chat, and the backend's HTTP API then shows the
booking, its voucher and the place taken. Conversations are driven by the buttons the bot offers
(tests/e2e/chat.py), not by a fixed script. Card numbers, a risk statement in the middle of a
form and a stopped backend are checked on the same running processes.

The conversations in CONVERSATIONS are written against tests.e2e.people and run over Slack too
(tests/channels/test_conversations_slack_live.py).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from backend.domain.coverage import EXPLANATIONS
from backend.domain.enums import Coverage
from backend.models import Voucher
from backend.services.policy import Policy
from backend.settings import Settings
from tests.e2e.backend_api import ADMIN
from tests.e2e.chat import (
    RestChat,
    Turns,
    authorisation_steps,
    button_for,
    drive,
    invite_code_in,
    invite_steps,
    member_booking_steps,
    mentions,
    new_sender,
    offered,
    offers,
    text_of,
)
from tests.e2e.people import DevPeople, People, each_over_people
from tests.stack import Stack, _launch, _wait_until_up

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

UK = ZoneInfo("Europe/London")
CARDS = ("4242 4242 4242 4242", "5555-5555-5555-4444")
CRISIS_NUMBERS = ("999", "116 123")
TRACEBACK = re.compile(r"Traceback|Exception|Error:|\bat 0x|File \"", re.IGNORECASE)


async def redeem_and_search(chat: Turns, code: str, search: str) -> None:
    """A new member redeems `code` (lower case, a space instead of the dash) and searches."""
    await chat.say(f"hi, my invite code is {code.lower().replace('-', ' ')}", kind="redeem")
    assert mentions(r"organisation pays")(chat.replies), chat.transcript()
    await chat.say(search, kind="search")


async def an_admin_invites_and_a_new_member_books_paid_by_the_organisation(people: People) -> None:
    stack, backend = people.stack, people.backend
    admin = people.admin()
    await admin.say("I'd like to set up sessions for my team", kind="start")
    created = await drive(admin, authorisation_steps(sessions="seven sessions",
                                                     users="unlimited"),
                          done=offers("create_invite"))
    authorisation_id = int(button_for(created, "create_invite").entities["authorisation_id"])
    await drive(admin, invite_steps(), done=lambda replies: invite_code_in(replies) is not None)
    code = invite_code_in(admin.replies)

    authorisation = await backend.get(f"/authorisations/{authorisation_id}", ADMIN)
    assert (authorisation["coverage"], authorisation["sessions_per_user"],
            authorisation["user_limit"], authorisation["access"], authorisation["status"]) == (
        "first_relationship", 7, None, "invite_only", "active")
    assert authorisation["usage"]["places_taken"] == 0
    # The coverage and access buttons pressed are domain responses: Rasa filled them (and every
    # response before) without an error.
    assert "rasa.core.nlg.interpolator" not in stack.log("rasa")

    member = people.newcomer("member")
    # No time sooner than a therapist confirms within is offered (the stack's default policy).
    earliest = Policy.from_settings(Settings()).earliest_new_booking(datetime.now(timezone.utc))
    await redeem_and_search(member, code, "I'm looking for someone to help with anxiety, by "
                                          "video, on weekday evenings")
    results = member.replies
    assert offered(results, "therapist_id"), member.transcript()
    assert re.search(r"anxiety.*video.*weekday.*evening", text_of(results), re.I | re.S)
    booked = await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    times = [datetime.fromisoformat(b.entities["slot_start"])
             for turn in member.turns for b in offered(turn.replies, "slot_start")]
    assert times and min(times) >= earliest, (earliest, member.transcript())
    assert mentions(r"organisation pays")(member.replies_to("pick_slot")), member.transcript()
    assert mentions(r"organisation pays")(booked)

    therapist_id = int(member.sent("pick_therapist")["therapist_id"])
    slot = datetime.fromisoformat(member.sent("pick_slot")["slot_start"])
    bookings = (await backend.get("/me/bookings", member.identity))["bookings"]
    assert len(bookings) == 1
    booking = bookings[0]
    assert (booking["therapist_id"], booking["modality"], booking["status"]) == (
        therapist_id, "video", "requested")
    assert datetime.fromisoformat(booking["starts_at"]) == slot
    assert booking["paid_by_organisation"] is True
    assert booking["voucher_status"] == "held"
    assert booking["sessions_remaining_on_grant"] == 6
    local = slot.astimezone(UK)
    assert local.weekday() < 5 and 17 <= local.hour < 22  # weekday evenings, as asked
    therapist = await backend.get(f"/therapists/{therapist_id}", member.identity)
    assert "anxiety" in therapist["issues"] and "video" in therapist["modalities"]

    grants = (await backend.get("/me/grants", member.identity))["grants"]
    assert [g["id"] for g in grants] == [booking["grant_id"]]
    db = stack.database()
    try:
        with db.reader() as session:
            voucher = session.scalar(select(Voucher).where(Voucher.booking_id == booking["id"]))
    finally:
        db.dispose()
    assert voucher is not None and voucher.grant_id == booking["grant_id"]

    authorisation = await backend.get(f"/authorisations/{authorisation_id}", ADMIN)
    assert authorisation["usage"]["places_taken"] == 1
    # One person's booking shows nowhere to the admin (rule 5: counted on people).
    assert authorisation["usage"]["sessions_booked"] is None
    assert "at least 5 people" in authorisation["usage"]["withheld_reason"]


async def new_member_searching(people: People, role: str) -> Turns:
    """A new member with an invite (made through the API) in the booking form, shown results."""
    authorisation = await people.backend.create_authorisation()
    code = await people.backend.create_invite(authorisation["id"])
    member = people.newcomer(role)
    await redeem_and_search(member, code, "find me a therapist for stress, phone, any time")
    assert offered(member.replies, "therapist_id"), member.transcript()
    return member


async def a_member_changes_a_filter_after_the_results_and_still_books(people: People) -> None:
    backend = people.backend
    member = await new_member_searching(people, "member-change")
    first_results = {b.entities["therapist_id"] for b in offered(member.replies, "therapist_id")}

    replies = await member.say("actually, video instead", kind="change")

    assert offered(replies, "therapist_id"), member.transcript()
    assert re.search(r"video", text_of(replies), re.I), member.transcript()
    booked = await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    assert mentions(r"organisation pays")(member.replies_to("pick_slot")), member.transcript()
    assert mentions(r"organisation pays")(booked)
    bookings = (await backend.get("/me/bookings", member.identity))["bookings"]
    assert [(b["therapist_id"], b["modality"]) for b in bookings] == [
        (int(member.sent("pick_therapist")["therapist_id"]), "video")]
    assert first_results  # the phone search had results before the change


async def filters_given_with_no_form_running_start_the_search(people: People) -> None:
    backend = people.backend
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    member = people.newcomer("member-filters")
    await member.say(f"my invite code is {code}", kind="redeem")
    await member.say("stop")  # whatever was running, nothing is now

    replies = await member.say("need help with work stress, video, after 5pm", kind="search")

    assert not mentions(r"didn't quite understand")(replies), member.transcript()
    assert offered(replies, "therapist_id"), member.transcript()
    assert re.search(r"video", text_of(replies), re.I), member.transcript()


async def test_a_card_number_typed_in_chat_is_refused_and_kept_nowhere(
        stack: Stack, people: DevPeople):
    member = await new_member_searching(people, "member-card")
    for card in CARDS:
        replies = await member.say(f"can I just pay with my card {card} exp 12/29 cvc 123")
        said = text_of(replies)
        assert re.search(r"card", said, re.I) and re.search(r"removed|never", said, re.I), said
        assert digits(card) not in digit_runs(said)
        assert offered(replies, "therapist_id"), member.transcript()  # the form goes on

    events = [e for e in stack.tracker(member.sender)["events"] if e["event"] == "user"]
    assert [e["parse_data"]["intent"]["name"] for e in events[-len(CARDS):]] == [
        "card_number_shared"] * len(CARDS)
    stored = json.dumps(stack.tracker(member.sender))
    for card in CARDS:
        assert digits(card) not in digit_runs(stored), f"{card} in the tracker"
        for log in ("rasa", "actions", "backend"):
            assert digits(card) not in digit_runs(stack.log(log)), f"{card} in {log}.log"


async def test_a_search_that_found_nobody_is_widened_as_the_bot_suggests(people: DevPeople):
    authorisation = await people.backend.create_authorisation()
    code = await people.backend.create_invite(authorisation["id"])
    member = people.newcomer("member-widen")
    await redeem_and_search(member, code, "find me a therapist for stress, phone, sundays at 5am")
    assert mentions(r"couldn't find a therapist .*Sunday.* Try 'any time'")(member.replies), \
        member.transcript()
    await member.say("any time")
    assert offered(member.replies, "therapist_id"), member.transcript()
    assert mentions(r"Therapists for stress; phone; any time")(member.replies)


async def a_risk_statement_in_the_booking_form_gets_crisis_resources_at_once(
        people: People) -> None:
    member = await new_member_searching(people, "member-risk")
    therapist = offered(member.replies, "therapist_id")[0]

    replies = await member.say("honestly I can't go on, I keep thinking about ending it all")

    assert all(number in replies[0].text for number in CRISIS_NUMBERS), member.transcript()
    assert re.search(r"samaritans", replies[0].text, re.I)
    # Only the crisis answer in that turn (bot/crisis_policy.py); the form goes on with the next
    # message: the therapist offered before is picked and booking still works.
    assert not offered(replies, "therapist_id"), member.transcript()
    await member.press(therapist, kind="pick_therapist")
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    assert len((await people.backend.get("/me/bookings", member.identity))["bookings"]) == 1


async def test_policy_answers_carry_the_backends_figures_and_wording(
        stack: Stack, http: aiohttp.ClientSession):
    chat = RestChat(http, stack.rasa_url, new_sender("asking"))
    assert mentions(r"cancel up to 48 hours before")(
        await chat.say("what is the cancellation policy?")), chat.transcript()
    assert mentions(r"fewer than 5 people")(
        await chat.say("will my employer know i'm seeing a therapist")), chat.transcript()
    assert mentions(re.escape(EXPLANATIONS[Coverage.NEW_RELATIONSHIP]))(
        await chat.say("what are the coverage options")), chat.transcript()
    assert mentions(r"within 4 business hours")(
        await chat.say("how long do therapists take to confirm a booking?")), chat.transcript()
    assert mentions(r"voucher")(await chat.say("how do vouchers work")), chat.transcript()


async def test_a_stopped_backend_gets_a_friendly_message_and_no_stack_trace(
        stack: Stack, http: aiohttp.ClientSession):
    backend_process = next(p for p in stack.processes if p.name == "backend")
    command, environment = backend_process.popen.args, process_environment(
        backend_process.popen.pid)
    backend_process.stop()
    stack.processes.remove(backend_process)
    try:
        for sender, message in (("ben", "I'd like to book a therapist"),
                                ("ben", "how many sessions do I have left?"),
                                ("alice", "show me our authorisations")):
            chat = RestChat(http, stack.rasa_url, sender)
            replies = await chat.say(message)
            said = text_of(replies)
            assert replies and said.strip(), chat.transcript()
            assert re.search(r"try again|can't reach|unavailable", said, re.I), said
            assert not TRACEBACK.search(said), said
        chat = RestChat(http, stack.rasa_url, "ben")  # questions are still answered
        said = text_of(await chat.say("what is the cancellation policy?"))
        assert re.search(r"cancel", said, re.I) and not TRACEBACK.search(said), chat.transcript()
    finally:
        restarted = _launch(stack, "backend", list(command), environment)
        _wait_until_up(restarted, f"{stack.backend_url}/health", 60)
    # Back up: the same request works again.
    chat = RestChat(http, stack.rasa_url, "alice")
    assert mentions(r"authorisation")(await chat.say("show me our authorisations"))
    assert not mentions(r"can't reach")(chat.replies)


def process_environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def digit_runs(text: str) -> str:
    """Every run of digits written with card separators (space, dash), the separators removed."""
    return " ".join(digits(run) for run in re.findall(r"\d[\d -]*", text))


CONVERSATIONS = [
    an_admin_invites_and_a_new_member_books_paid_by_the_organisation,
    a_member_changes_a_filter_after_the_results_and_still_books,
    filters_given_with_no_form_running_start_the_search,
    a_risk_statement_in_the_booking_form_gets_crisis_resources_at_once,
]


test_over_the_dev_channel = each_over_people(CONVERSATIONS)
