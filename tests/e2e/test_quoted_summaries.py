"""Whole conversations where the organisation would not pay: the bot says so when the booking
starts (`GET /me/payers`) or when the time is picked (the backend's quote), never "Your
organisation pays" followed by a refusal, and a refused booking takes no place. One conversation
per kind of refusal chat can reach; admins naming authorisations as people say them.

Dan (demo data) saw the directory's first therapist, paying himself; his only offer is the
all-members "continue with your therapist" one. A new member whose offer the admin pauses in the
middle of the booking is Ben's case of issue 15. Same running stack as test_conversations.py.

The conversations are written against tests.e2e.people, and run here over the development REST
channel and in tests/channels/test_conversations_slack_live.py over Slack.
"""

from __future__ import annotations

import re
from datetime import datetime

import aiohttp
import pytest
from sqlalchemy import select

from backend.models import Booking, ChatIdentity, Grant, Member
from backend.seed import DEMO_DOMAIN
from tests.e2e.backend_api import ADMIN, BackendApi
from tests.e2e.chat import (
    RestChat,
    button_for,
    buttons_of,
    drive,
    member_booking_steps,
    mentions,
    new_sender,
    offered,
    offers,
    text_of,
    when_asked,
)
from tests.e2e.people import People, each_over_people
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ORGANISATION_PAYS = r"Your organisation pays"


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def seen_by_dan(stack: Stack) -> int:
    """The therapist Dan (demo data) saw before: his first booking."""
    db = stack.database()
    try:
        with db.reader() as session:
            return session.scalar(
                select(Booking.therapist_id).join(Member, Member.id == Booking.member_id)
                .where(Member.email == f"dan@{DEMO_DOMAIN}").order_by(Booking.id).limit(1))
    finally:
        db.dispose()


async def dan_is_offered_the_therapist_he_has_seen_and_another_one_is_refused_at_the_time(
        people: People) -> None:
    """Dan's case: "not sure", "any time" lists the therapist his offer pays for, first, and
    says why; a therapist it does not pay for (an old button) is refused when the time is
    picked, with nothing written; then he books with his own."""
    stack, backend = people.stack, people.backend
    seen = seen_by_dan(stack)
    dan = people.demo("dan")
    await dan.say("I'd like to book a session, not sure what about, by video, any time",
                  kind="search")
    results = await drive(dan, [when_asked("issue", r"what would you like help with",
                                           "not sure")],
                          done=lambda replies: bool(offered(replies, "therapist_id")))
    assert mentions(r"pays for a therapist you have seen before")(results), dan.transcript()
    listed = [int(b.entities["therapist_id"]) for b in offered(results, "therapist_id")]
    assert listed and listed[0] == seen, dan.transcript()
    assert mentions(r"you have seen them before")(results), dan.transcript()

    directory = await backend.post("/therapists/search", f"dev:{new_sender('visitor')}",
                                   {"modality": "video", "limit": 5})
    other = next(m["therapist"]["id"] for m in directory["results"]
                 if m["therapist"]["id"] != seen)  # one Dan has not seen
    await dan.say(f'/inform{{"therapist_id":"{other}"}}', kind="pick_unpaid")
    await drive(dan, member_booking_steps(), done=mentions(r"already seen"))
    told = dan.replies
    assert not any(mentions(ORGANISATION_PAYS)(turn.replies) for turn in dan.turns), \
        dan.transcript()
    assert "£" in text_of(told), dan.transcript()  # what paying himself would cost
    assert (await backend.get("/me/grants", dan.identity))["grants"] == []  # no place taken

    book_seen = next(b for b in offered(told, "therapist_id")
                     if int(b.entities["therapist_id"]) == seen)
    await dan.press(book_seen, kind="pick_seen_therapist")
    booked = await drive(dan, member_booking_steps(), done=mentions(r"Requested"))
    summary = dan.turns[-2].replies  # the answer to the time picked, before "yes"
    assert mentions(r"organisation pays for this session through “Continue with your "
                    r"therapist")(summary), dan.transcript()
    assert mentions(r"organisation pays")(booked), dan.transcript()
    [booking] = (await backend.get("/me/bookings", dan.identity))["bookings"]
    assert booking["therapist_id"] == seen and booking["paid_by_organisation"] is True
    assert booking["sessions_remaining_on_grant"] == 3
    assert len((await backend.get("/me/grants", dan.identity))["grants"]) == 1


async def dan_pays_himself_for_another_therapist_while_the_booking_goes_on(people: People) -> None:
    """Under the refusal, the booking form still runs (his offer pays for the therapist he has
    seen), and "Book it, I'll pay £…" books the refused time itself, self-paid, and ends the
    form: the press is not taken as a new answer to the form's question."""
    stack, backend = people.stack, people.backend
    seen = seen_by_dan(stack)
    directory = await backend.post("/therapists/search", f"dev:{new_sender('visitor')}",
                                   {"modality": "video", "limit": 5})
    other = next(m["therapist"]["id"] for m in directory["results"]
                 if m["therapist"]["id"] != seen)
    dan = people.demo("dan")
    await dan.say("I'd like to book a session for anxiety by video, any time", kind="search")
    await dan.say(f'/inform{{"therapist_id":"{other}"}}', kind="pick_unpaid")
    told = await drive(dan, member_booking_steps(), done=offers("book_self_paid"))
    assert offered(told, "therapist_id"), dan.transcript()  # the form goes on: book with his own
    pay = button_for(told, "book_self_paid")
    assert pay is not None and int(pay.entities["therapist_id"]) == other, dan.transcript()

    booked = await dan.press(pay, kind="pay_myself")
    assert mentions(r"Requested: .* You pay £\d+\.\d\d for this session yourself")(booked), \
        dan.transcript()
    mine = [b for b in (await backend.get("/me/bookings", dan.identity))["bookings"]
            if b["therapist_id"] == other]
    assert [at(b["starts_at"]) for b in mine] == [at(pay.entities["slot_start"])], \
        dan.transcript()
    assert mine[0]["paid_by_organisation"] is False
    # The form has ended: "thanks" is answered as thanks, not as the therapist or time.
    after = await dan.say("thanks", kind="thanks")
    assert not offered(after, "therapist_id") and not offered(after, "slot_start"), \
        dan.transcript()


async def an_offer_paused_during_the_booking_is_said_when_the_time_is_picked(
        people: People) -> None:
    """Ben's case: the admin pauses the offer while he chooses; the bot says so at once."""
    backend = people.backend
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    ben = people.newcomer("ben")
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
    assert (await backend.get("/me/bookings", ben.identity))["bookings"] == []
    await ben.say("yes", kind="confirm")  # the form has ended: a yes now books nothing
    assert (await backend.get("/me/bookings", ben.identity))["bookings"] == []
    assert not mentions(r"Requested")(ben.replies), ben.transcript()

    # "Book it, I'll pay £…" under the refusal books that very time, self-paid.
    pay = button_for(ben.turns[-2].replies, "book_self_paid")
    assert pay is not None and re.fullmatch(r"Book it, I'll pay £\d+\.\d\d", pay.title), \
        ben.transcript()
    booked = await ben.press(pay, kind="pay_myself")
    assert mentions(r"Requested: .* You pay £\d+\.\d\d for this session yourself")(booked), \
        ben.transcript()
    [booking] = (await backend.get("/me/bookings", ben.identity))["bookings"]
    assert booking["paid_by_organisation"] is False
    assert at(booking["starts_at"]) == at(pay.entities["slot_start"])


async def bens_paused_offer_is_said_before_any_question(people: People) -> None:
    """Ben's case, paused before he starts: said at once, with what he can do."""
    backend = people.backend
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    ben = people.newcomer("ben")
    await ben.say(f"hi, my invite code is {code}", kind="redeem")
    await backend.post(f"/authorisations/{authorisation['id']}/pause", ADMIN)
    replies = await ben.say("find me a therapist", kind="search")
    assert mentions(r"is paused")(replies) and mentions(r"admin")(replies), ben.transcript()
    assert mentions(r"£\d")(replies), ben.transcript()  # paying himself, from the fee
    assert not mentions(r"what would you like help with|Therapists for")(replies)
    assert not mentions(ORGANISATION_PAYS)(replies), ben.transcript()
    assert button_for(replies, "handoff_request") is not None, ben.transcript()

    # "Find a therapist, I'll pay": the same booking conversation, the summary saying the fee.
    pay = next(b for b in buttons_of(replies) if b.title == "Find a therapist, I'll pay")
    await ben.press(pay, kind="search_paying")
    await drive(ben, member_booking_steps(), done=mentions(r"Requested"))
    summary = ben.turns[-2].replies
    assert mentions(r"You pay £\d+\.\d\d for this session yourself")(summary), ben.transcript()
    assert not mentions(r"is paused|" + ORGANISATION_PAYS)(summary), ben.transcript()
    [booking] = (await backend.get("/me/bookings", ben.identity))["bookings"]
    assert booking["paid_by_organisation"] is False


async def used_up_sessions_are_said_before_any_question(people: People) -> None:
    backend = people.backend
    authorisation = await backend.create_authorisation(sessions_per_user=1)
    code = await backend.create_invite(authorisation["id"])
    member = people.newcomer("used-up")
    await member.say(f"redeem {code}", kind="redeem")
    await member.say("find me a therapist for stress, by video, any time", kind="search")
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    replies = await member.say("find a therapist", kind="search_again")
    assert mentions(r"used all 1 sessions")(replies), member.transcript()
    assert not mentions(r"Therapists for|" + ORGANISATION_PAYS)(replies), member.transcript()
    assert len((await backend.get("/me/bookings", member.identity))["bookings"]) == 1


def add_member(stack: Stack, organisation_id: int, sender: str) -> None:
    """A member of the organisation who can chat as dev:<sender> (as a verified work email
    would make them), with nothing of its offers yet."""
    db = stack.database()
    try:
        with db.transaction() as session:
            member = Member(organisation_id=organisation_id, name=sender,
                            email=f"{sender}@example.org")
            session.add(member)
            session.flush()
            session.add(ChatIdentity(channel="dev", external_id=sender, member_id=member.id))
    finally:
        db.dispose()


def grants_of(stack: Stack, sender: str) -> int:
    db = stack.database()
    try:
        with db.reader() as session:
            return len(session.scalars(
                select(Grant).join(ChatIdentity, ChatIdentity.member_id == Grant.member_id)
                .where(ChatIdentity.channel == "dev", ChatIdentity.external_id == sender)).all())
    finally:
        db.dispose()


async def test_nothing_from_the_organisation_then_a_full_offer_are_said_before_any_question(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    """no_usable_grant (an organisation with no offer yet), then no_places_left (its one
    all-members place is taken): said when the booking starts, and no place is taken."""
    hr = f"dev:{new_sender('hr')}"
    registered = await backend.post("/organisations", hr, {
        "name": "Quote Ltd", "admin_name": "Hana", "admin_email": "hana@example.org"})
    organisation_id = registered["organisation_id"]
    sender = new_sender("late")
    add_member(stack, organisation_id, sender)
    member = RestChat(http, stack.rasa_url, sender)
    replies = await member.say("find a therapist", kind="search")
    assert mentions(r"don't have sessions paid by your organisation")(replies), \
        member.transcript()
    assert mentions(r"say 'redeem'")(replies), member.transcript()

    offer = await backend.post("/authorisations", hr, {
        "coverage": "first_relationship", "sessions_per_user": 3, "user_limit": 1,
        "access": "all_members"})
    await backend.post("/me/grants", hr, {"authorisation_id": offer["id"]})  # the one place
    replies = await member.say("book a therapist please", kind="search_full")
    assert mentions(r"places on this offer have been taken")(replies), member.transcript()
    assert not mentions(r"Therapists for|" + ORGANISATION_PAYS)(replies), member.transcript()
    assert grants_of(stack, sender) == 0


async def a_time_taken_meanwhile_is_said_and_another_time_is_booked(people: People) -> None:
    """slot_taken: someone else books the time first; the bot asks for another time."""
    backend = people.backend
    authorisation = await backend.create_authorisation()
    code = await backend.create_invite(authorisation["id"])
    member = people.newcomer("slot")
    await member.say(f"redeem {code}", kind="redeem")
    await member.say("find me a therapist for anxiety, by video, any time", kind="search")
    await drive(member, member_booking_steps(), done=lambda replies: bool(
        offered(replies, "slot_start")))
    [first, second, *_] = offered(member.replies, "slot_start")
    therapist_id = int(member.sent("pick_therapist")["therapist_id"])
    rival_code = await backend.create_invite(authorisation["id"])
    rival = f"dev:{new_sender('rival')}"
    await backend.post("/invites/redeem", rival, {"code": rival_code})
    await backend.post("/bookings", rival, {"therapist_id": therapist_id, "modality": "video",
                                            "starts_at": first.entities["slot_start"]})
    replies = await member.press(first, kind="pick_taken")
    assert mentions(r"just been taken")(replies), member.transcript()
    assert not mentions(ORGANISATION_PAYS)(replies), member.transcript()
    await member.press(second, kind="pick_other")
    await drive(member, member_booking_steps(), done=mentions(r"Requested"))
    [booking] = (await backend.get("/me/bookings", member.identity))["bookings"]
    assert booking["starts_at"] == second.entities["slot_start"]


async def admins_name_authorisations_as_people_say_them_and_ask_about_usage(people: People) -> None:
    backend = people.backend
    pilot = await backend.post("/authorisations", ADMIN, {
        "coverage": "first_relationship", "sessions_per_user": 2, "user_limit": 3,
        "access": "invite_only", "name": "Pilot for the night shift"})
    alice = people.admin()
    replies = await alice.say("pause the wellbeing support authorisation", kind="pause")
    assert mentions(r"Wellbeing support.* is now paused")(replies), alice.transcript()
    replies = await alice.say("resume wellbeing", kind="resume")
    assert mentions(r"Wellbeing support.* is now active")(replies), alice.transcript()
    replies = await alice.say("revoke the pilot one", kind="revoke")
    assert mentions(rf"Revoking #{pilot['id']} is permanent")(replies), alice.transcript()
    await alice.press(button_for(replies, "manage_authorisation"), kind="confirm_revoke")
    assert mentions(r"Pilot for the night shift is now revoked")(alice.replies)
    for question in ("who has been using our sessions?", "can I see who booked?",
                     "which employees went to therapy"):
        replies = await alice.say(question, kind="privacy")
        assert mentions(r"confidential.*never who booked")(replies), alice.transcript()


CONVERSATIONS = [
    dan_is_offered_the_therapist_he_has_seen_and_another_one_is_refused_at_the_time,
    dan_pays_himself_for_another_therapist_while_the_booking_goes_on,
    an_offer_paused_during_the_booking_is_said_when_the_time_is_picked,
    bens_paused_offer_is_said_before_any_question,
    used_up_sessions_are_said_before_any_question,
    a_time_taken_meanwhile_is_said_and_another_time_is_booked,
    admins_name_authorisations_as_people_say_them_and_ask_about_usage,
]


test_over_the_dev_channel = each_over_people(CONVERSATIONS)
