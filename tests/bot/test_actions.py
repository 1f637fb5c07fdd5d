"""Custom actions against the real backend over HTTP: rasa-sdk Tracker + CollectingDispatcher."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from backend.domain.coverage import EXPLANATIONS
from backend.domain.enums import Modality
from backend.models import Grant, HandoffRequest, Notification
from backend.services import authorisations, bookings, invites, notifications, organisations
from bot.actions import base
from bot.actions.authorisations import (
    ActionChangeAuthorisationStatus,
    ActionCreateAuthorisation,
    ActionListAuthorisations,
    ValidateAuthorisationForm,
)
from bot.actions.booking import (
    ActionAskBookingConfirmed,
    ActionAskSlotStart,
    ActionAskTherapistId,
    ActionBook,
    ValidateBookingForm,
)
from bot.actions.booking_changes import ActionAskChangeChoice, ActionChangeBooking
from bot.actions.common import payload
from bot.actions.faq import ActionAnswerFaq
from bot.actions.forms import GIVE_UP_TEXT, MAX_FAILURES
from bot.actions.handoff import ANONYMOUS_TEXT, SAFETY_REMINDER, ActionHandoff
from bot.actions.invites import ActionCreateInvite
from bot.actions.payments import ActionCardLink, ActionShowSpend
from bot.actions.redeem import ActionRedeemInvite, ValidateRedeemForm
from bot.actions.sessions import (
    ActionAskMoreSessions,
    ActionCheckConfirmation,
    ActionListBookings,
    ActionShowGrants,
)
from contracts.backend_client import BackendClient
from tests.backend import booking_factories, factories
from tests.bot.conftest import make_tracker, run, running_backend, slot_events, texts


def form_ended(events) -> bool:
    return any(e["event"] == "active_loop" and e["name"] is None for e in events)



# ------------------------------------------------------------------ failures and identity

async def test_backend_down_gives_a_friendly_message_and_no_trace(monkeypatch):
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")  # nothing listens there
    dispatcher, events = await run(ActionShowGrants(), make_tracker("test:alice"))
    assert texts(dispatcher) == base.UNAVAILABLE_TEXT and events == []


async def test_a_wrong_service_token_is_an_outage_for_the_user(backend, monkeypatch):
    monkeypatch.setenv("BACKEND_SERVICE_TOKEN", "not-the-token")
    dispatcher, _ = await run(ActionShowGrants(), make_tracker("test:alice"))
    assert texts(dispatcher) == base.UNAVAILABLE_TEXT


async def test_a_refusal_shows_the_backends_own_message(backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    dispatcher, _ = await run(ActionListAuthorisations(), make_tracker(member.identity))
    assert texts(dispatcher) == "Only your organisation's admins can do that."


async def test_no_identity_in_metadata_means_anonymous_even_if_the_sender_id_looks_real(
        backend):
    admin = factories.register_organisation(backend)
    tracker = make_tracker(None, sender_id=admin.identity)
    dispatcher, _ = await run(ActionListAuthorisations(), tracker)
    assert texts(dispatcher) == base.NOT_IDENTIFIED_TEXT


# ------------------------------------------------------------------ admin flows

async def test_admin_creates_an_authorisation_then_an_invite_a_member_redeems(backend):
    admin = factories.register_organisation(backend)
    answers = {"coverage": "first_relationship", "sessions_per_user": 7, "user_limit": 5,
               "access": "invite_only", "authorisation_confirmed": True}
    dispatcher, events = await run(ActionCreateAuthorisation(),
                                   make_tracker(admin.identity, slots=answers))
    assert "is active" in texts(dispatcher)
    assert slot_events(events)["coverage"] is None  # the form's answers are forgotten
    authorisation_id = dispatcher.messages[0]["buttons"][0]["payload"].split('"')[-2]

    dispatcher, _ = await run(ActionCreateInvite(), make_tracker(admin.identity, slots={
        "authorisation_id": authorisation_id, "invite_email": "none",
        "invite_expiry_days": "usual"}))
    code = texts(dispatcher).split("invite code: ")[1].split(" ")[0]
    assert "redeem" in dispatcher.messages[1]["text"].lower()  # the email text

    typed = code.lower().replace("-", " ")  # typed the way people do
    tracker = make_tracker("test:newcomer", text=f"my code is {typed}", intent="redeem_invite",
                           set_now={"invite_code": f"my code is {typed}"},
                           active_loop="redeem_form")
    dispatcher, events = await run(ValidateRedeemForm(), tracker)
    assert slot_events(events)["invite_code"] == code
    dispatcher, _ = await run(ActionRedeemInvite(), make_tracker(
        "test:newcomer", slots={"invite_code": code}))
    assert "7 sessions" in texts(dispatcher)


async def test_unlimited_users_and_a_cancelled_confirmation(backend):
    admin = factories.register_organisation(backend)
    answers = {"coverage": "new_relationship", "sessions_per_user": 3,
               "user_limit": "unlimited", "access": "all_members"}
    dispatcher, _ = await run(ActionCreateAuthorisation(), make_tracker(
        admin.identity, slots={**answers, "authorisation_confirmed": False}))
    assert texts(dispatcher) == "OK, I haven't created anything."
    dispatcher, _ = await run(ActionCreateAuthorisation(), make_tracker(
        admin.identity, slots={**answers, "authorisation_confirmed": True}))
    assert "All members of your organisation can now book" in texts(dispatcher)
    dispatcher, _ = await run(ActionListAuthorisations(), make_tracker(admin.identity))
    assert "unlimited users" in texts(dispatcher) and "0 places taken" in texts(dispatcher)


async def test_sessions_and_users_in_one_answer_fill_both_questions(backend):
    admin = factories.register_organisation(backend)
    tracker = make_tracker(admin.identity, text="7 sessions for 5 people",
                           active_loop="authorisation_form",
                           slots={"requested_slot": "sessions_per_user",
                                  "coverage": "first_relationship"},
                           set_now={"sessions_per_user": "7 sessions for 5 people"})
    _, events = await run(ValidateAuthorisationForm(), tracker)
    assert slot_events(events)["sessions_per_user"] == 7
    assert slot_events(events)["user_limit"] == 5


async def test_a_member_cannot_start_the_authorisation_form(backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    tracker = make_tracker(member.identity, intent="create_authorisation",
                           active_loop="authorisation_form")
    dispatcher, events = await run(ValidateAuthorisationForm(), tracker)
    assert "Only your organisation's admins" in texts(dispatcher)
    assert form_ended(events)


async def test_repeated_unusable_answers_end_the_form_politely(backend):
    admin = factories.register_organisation(backend)
    failures = 0
    for attempt in range(MAX_FAILURES):
        tracker = make_tracker(admin.identity, text="banana", active_loop="authorisation_form",
                               slots={"requested_slot": "sessions_per_user",
                                      "validation_failures": failures},
                               set_now={"sessions_per_user": "banana"})
        dispatcher, events = await run(ValidateAuthorisationForm(), tracker)
        failures = slot_events(events)["validation_failures"]
        if attempt < MAX_FAILURES - 1:
            assert "number of sessions" in texts(dispatcher)
    assert GIVE_UP_TEXT in texts(dispatcher)
    assert form_ended(events)


async def test_pause_then_revoke_needs_a_confirmation(backend):
    admin = factories.register_organisation(backend)
    offer = factories.authorisation(backend, admin)
    dispatcher, _ = await run(ActionChangeAuthorisationStatus(), make_tracker(
        admin.identity, text="pause it", slots={"status_verb": "pause"}))
    assert texts(dispatcher).endswith("is now paused.")
    dispatcher, _ = await run(ActionChangeAuthorisationStatus(), make_tracker(
        admin.identity, slots={"status_verb": "revoke", "authorisation_id": str(offer.id)}))
    assert "permanent" in texts(dispatcher)
    dispatcher, _ = await run(ActionChangeAuthorisationStatus(), make_tracker(
        admin.identity, slots={"status_verb": "resume", "authorisation_id": "999"}))
    assert texts(dispatcher) == "No authorisation with that id in your organisation."


async def test_card_link_and_spend(backend):
    admin = factories.register_organisation(backend)
    factories.authorisation(backend, admin)
    dispatcher, _ = await run(ActionCardLink(), make_tracker(admin.identity))
    assert "secure page: http" in texts(dispatcher)
    dispatcher, _ = await run(ActionShowSpend(), make_tracker(admin.identity))
    assert texts(dispatcher).startswith("Spend in the months that have ended:")


async def test_news_is_told_after_the_answer_once(backend):
    admin = factories.register_organisation(backend)
    with backend.transaction() as session:
        notifications.notify_admins(session, admin.organisation_id, "card_saved",
                                    "Your company card is saved: Visa ending 4242.")
    dispatcher, _ = await run(ActionShowSpend(), make_tracker(admin.identity))
    said = [m.get("text") or "" for m in dispatcher.messages]
    assert said[0] == "Nothing has been spent yet."  # the answer first, then the news
    assert said[-1] == "Your company card is saved: Visa ending 4242."
    dispatcher, _ = await run(ActionShowSpend(), make_tracker(admin.identity))
    assert "card is saved" not in texts(dispatcher)


# ------------------------------------------------------------------ member flows

def member_with_sessions(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=3)
    member, grant = factories.member_with_grant(db, admin, offer.id)
    return member, grant


async def test_booking_form_refuses_someone_without_sessions(backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    dispatcher, events = await run(ValidateBookingForm(), make_tracker(
        member.identity, intent="find_therapist", active_loop="booking_form"))
    assert "redeem" in texts(dispatcher)
    assert form_ended(events)


def record_posts(monkeypatch) -> list[tuple[str, dict]]:
    """The bodies the actions POST to the backend (the requests still go out)."""
    posted: list[tuple[str, dict]] = []
    send = BackendClient.request

    async def request(self, method, path, json=None, params=None):
        if method == "POST":
            posted.append((path, json))
        return await send(self, method, path, json=json, params=params)

    monkeypatch.setattr(BackendClient, "request", request)
    return posted


async def test_other_times_after_a_push_go_straight_to_that_therapist_s_times(backend):
    member, _ = member_with_sessions(backend)
    therapist_id = str(booking_factories.therapist(backend))
    after_push = {"therapist_id": therapist_id}  # the declined push set it (outbox slots)
    # Rasa hands the slot filled before the form started to the validation as a candidate.
    dispatcher, events = await run(ValidateBookingForm(), make_tracker(
        member.identity, text="show me other times", intent="find_therapist",
        active_loop="booking_form", slots=after_push, set_now=after_push))
    filled = slot_events(events)
    assert filled["therapist_id"] == therapist_id and dispatcher.messages == []
    assert (filled["issue"], filled["modality"], filled["location"], filled["when"]) == (
        "any", "any", "not_needed", {})  # no search questions: their times come next
    # Another start ("find a therapist") forgets the therapist the push left: a new search.
    _, events = await run(ValidateBookingForm(), make_tracker(
        member.identity, text="find a therapist", intent="find_therapist",
        active_loop="booking_form", slots=after_push, set_now=after_push))
    assert slot_events(events)["therapist_id"] is None and "issue" not in slot_events(events)


async def test_search_pick_a_slot_see_who_pays_and_book(backend, monkeypatch):
    member, _ = member_with_sessions(backend)
    booking_factories.therapist(backend)
    booking_factories.therapist(backend)
    posted = record_posts(monkeypatch)
    tracker = make_tracker(member.identity, text="anxiety, video, any time",
                           intent="find_therapist", active_loop="booking_form")
    _, events = await run(ValidateBookingForm(), tracker)
    assert not {"grant_id", "join_offer_id"} & set(slot_events(events))  # the backend chooses
    filters = {"issue": "any", "modality": "video", "location": "not_needed", "when": {}}

    dispatcher, events = await run(ActionAskTherapistId(), make_tracker(
        member.identity, slots=filters))
    results = slot_events(events)["search_results"]
    assert len(results) == 2 and len(dispatcher.messages[0]["buttons"]) == 2

    chosen = {**filters, "search_results": results, "therapist_id": str(results[0]["id"])}
    dispatcher, events = await run(ActionAskSlotStart(), make_tracker(
        member.identity, slots=chosen))
    offered = slot_events(events)["offered_slots"]
    assert offered and dispatcher.messages[0]["buttons"][0]["payload"].startswith("/inform")

    ready = {**chosen, "offered_slots": offered, "slot_start": offered[0]}
    dispatcher, _ = await run(ActionAskBookingConfirmed(), make_tracker(
        member.identity, slots=ready))
    assert "Your organisation pays for this session" in texts(dispatcher)
    assert "leaving 2 after this one. You pay nothing." in texts(dispatcher)
    assert any(path == "/bookings/quote" for path, _ in posted)

    dispatcher, events = await run(ActionBook(), make_tracker(
        member.identity, slots={**ready, "booking_confirmed": True}))
    assert texts(dispatcher).startswith("Requested:")
    assert "Your organisation pays (2 sessions left" in texts(dispatcher)
    assert "usually confirms within 4 business hours" in texts(dispatcher)
    assert slot_events(events)["therapist_id"] is None
    booked = [body for path, body in posted if path == "/bookings"]
    assert booked == [{"therapist_id": results[0]["id"], "starts_at": offered[0],
                       "modality": "video"}]  # no grant named: the backend picks what pays
    assert not any(path == "/me/grants" for path, _ in posted)  # nor joins an offer here

    dispatcher, _ = await run(ActionShowGrants(), make_tracker(member.identity))
    assert "2 of 3 sessions left" in texts(dispatcher)
    dispatcher, _ = await run(ActionListBookings(), make_tracker(member.identity))
    assert "requested, paid by your organisation" in texts(dispatcher)


async def test_in_person_asks_for_a_location_and_video_does_not(backend):
    member, _ = member_with_sessions(backend)
    for modality, location in (("video", "not_needed"), ("in_person", None)):
        tracker = make_tracker(member.identity, text=modality, active_loop="booking_form",
                               slots={"requested_slot": "modality", "issue": "any"},
                               set_now={"modality": modality})
        _, events = await run(ValidateBookingForm(), tracker)
        assert slot_events(events).get("location") == location


@pytest.mark.parametrize(("text", "intent"), [
    ("is this confidential", "faq"),
    ("i've been feeling really low lately", "low_mood"),  # a kind word, then the question again
])
async def test_a_digression_is_rejected_so_the_rules_answer_it(backend, text, intent):
    member, _ = member_with_sessions(backend)
    # Even when the text lands in the slot, the form takes no answer from it.
    tracker = make_tracker(member.identity, text=text, intent=intent,
                           active_loop="booking_form", slots={"requested_slot": "issue"},
                           set_now={"issue": text})
    _, events = await run(ValidateBookingForm(), tracker)
    assert events == []


async def test_a_filter_change_while_choosing_restarts_the_search(backend):
    member, _ = member_with_sessions(backend)
    tracker = make_tracker(member.identity, text="actually make it phone",
                           entities=[{"entity": "modality", "value": "phone"}],
                           active_loop="booking_form",
                           slots={"requested_slot": "slot_start", "issue": "any", "when": {},
                                  "therapist_id": "4", "search_results": [{"id": 4}]},
                           set_now={"modality": "phone"})
    _, events = await run(ValidateBookingForm(), tracker)
    changed = slot_events(events)
    assert changed["modality"] == "phone" and changed["therapist_id"] is None


async def test_cancel_shows_the_policy_sentence_first_then_cancels(backend):
    member, grant = member_with_sessions(backend)
    therapist_id = booking_factories.therapist(backend)
    booked = bookings.book(backend, member, therapist_id=therapist_id,
                           starts_at=booking_factories.slot(24 * 7), modality=Modality.VIDEO,
                           grant_id=grant.id)
    dispatcher, _ = await run(ActionAskChangeChoice(), make_tracker(
        member.identity, slots={"booking_id": str(booked.id)}))
    preview = bookings.cancellation_preview(backend, member, booked.id)
    assert texts(dispatcher).startswith(preview.message)
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        "Yes, cancel it", "Reschedule instead", "Keep it"]
    dispatcher, _ = await run(ActionChangeBooking(), make_tracker(
        member.identity, slots={"booking_id": str(booked.id), "change_choice": "cancel",
                                "slot_start": "not_needed"}))
    assert "gone back to you: 3 left" in texts(dispatcher)


async def test_asking_for_more_sessions_tells_the_admins_someone_asked(backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    dispatcher, _ = await run(ActionAskMoreSessions(), make_tracker(member.identity))
    assert "told your organisation's admins" in texts(dispatcher)
    dispatcher, _ = await run(ActionAskMoreSessions(), make_tracker(member.identity))
    assert "asked already this month" in texts(dispatcher)
    with backend.reader() as session:
        told = session.scalars(select(Notification.member_id).where(
            Notification.kind == "more_sessions_requested")).all()
    assert told == [admin.member_id]


# ------------------------------------------------------------------ anyone

async def test_handoff_is_recorded_for_the_team(backend):
    admin = factories.register_organisation(backend)
    tracker = make_tracker(admin.identity, text="I need help with the card",
                           intent="handoff_request")
    dispatcher, _ = await run(ActionHandoff(), tracker)
    assert "get in touch" in texts(dispatcher)
    # When the team answers comes from the backend's office hours (STAFF_OFFICE_HOURS).
    assert "The support team is" in texts(dispatcher) and "(Mon-Fri 09:00-17:00)" in texts(
        dispatcher)
    with backend.reader() as session:
        row = session.scalars(select(HandoffRequest)).one()
    assert row.identity == admin.identity and row.message == "I need help with the card"


async def test_handoff_for_an_anonymous_visitor_points_elsewhere(backend):
    dispatcher, _ = await run(ActionHandoff(), make_tracker(None))
    assert texts(dispatcher) == ANONYMOUS_TEXT


def after_a_crisis_answer(tracker, risk_kind: str | None = "suicidal"):
    """The tracker of someone who has just had the crisis answer (utter_crisis)."""
    tracker.events.append({"event": "action", "name": "utter_crisis"})
    tracker.slots["risk_kind"] = risk_kind
    return tracker


async def test_a_person_after_a_crisis_answer_is_urgent_with_the_kind_and_none_of_the_words(
        backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    tracker = after_a_crisis_answer(make_tracker(member.identity, text="i want to end my life",
                                                 intent="affirm"))
    dispatcher, _ = await run(ActionHandoff(), tracker)
    assert "get in touch" in texts(dispatcher) and texts(dispatcher).endswith(SAFETY_REMINDER)
    assert "The support team is" in texts(dispatcher)
    with backend.reader() as session:
        row = session.scalars(select(HandoffRequest)).one()
    assert (row.topic, row.urgent, row.risk_kind, row.identity) == (
        "safety", True, "suicidal", member.identity)
    assert row.message == ""


async def test_a_person_after_a_crisis_answer_of_unknown_kind_is_urgent_too(backend):
    tracker = after_a_crisis_answer(make_tracker("test:someone", intent="handoff_request"),
                                    risk_kind="")
    await run(ActionHandoff(), tracker)
    with backend.reader() as session:
        row = session.scalars(select(HandoffRequest)).one()
    assert (row.topic, row.urgent, row.risk_kind) == ("safety", True, None)


async def test_an_anonymous_visitor_after_a_crisis_answer_hears_the_numbers_again(backend):
    dispatcher, _ = await run(ActionHandoff(), after_a_crisis_answer(make_tracker(None)))
    assert ANONYMOUS_TEXT in texts(dispatcher) and "999" in texts(dispatcher)
    with backend.reader() as session:
        assert session.scalars(select(HandoffRequest)).all() == []


async def test_redeeming_a_wrong_code_shows_why(backend):
    admin = factories.register_organisation(backend)
    offer = factories.authorisation(backend, admin)
    invites.create(backend, admin, offer.id)
    dispatcher, _ = await run(ActionRedeemInvite(), make_tracker(
        "test:guess", slots={"invite_code": "AAAAA-11111"}))
    assert "doesn't match any invite" in texts(dispatcher)


async def test_a_later_day_keeps_the_times_already_given(backend):
    member, _ = member_with_sessions(backend)
    earlier = {"days": ["monday", "tuesday", "wednesday", "thursday", "friday"],
               "times": ["evening"], "after": "18:00", "before": None}
    tracker = make_tracker(member.identity, text="wednesday", active_loop="booking_form",
                           slots={"requested_slot": "therapist_id", "issue": "any",
                                  "modality": "video", "location": "not_needed",
                                  "when": earlier})
    _, events = await run(ValidateBookingForm(), tracker)
    assert slot_events(events)["when"] == {"days": ["wednesday"], "times": ["evening"],
                                           "after": "18:00", "before": None}


async def test_the_summary_says_booking_adds_a_member_to_an_offer_for_everyone(backend):
    admin = factories.register_organisation(backend)
    factories.authorisation(backend, admin, access="all_members")
    member = factories.add_member(backend, admin.organisation_id)
    therapist_id = booking_factories.therapist(backend)
    _, events = await run(ValidateBookingForm(), make_tracker(
        member.identity, intent="find_therapist", active_loop="booking_form"))
    assert not form_ended(events)
    ready = {"modality": "video", "therapist_id": str(therapist_id),
             "slot_start": booking_factories.slot(24 * 7).isoformat()}
    dispatcher, _ = await run(ActionAskBookingConfirmed(), make_tracker(
        member.identity, slots=ready))
    assert "booking adds you to this offer" in texts(dispatcher)
    assert "You pay nothing." in texts(dispatcher)


def choosing_a_time(identity, therapist_id, starts_at, **slots):
    """The member picks a time of the therapist they chose (what the booking form validates)."""
    return make_tracker(identity, text=starts_at, active_loop="booking_form",
                        slots={"requested_slot": "slot_start", "issue": "any", "when": {},
                               "modality": "video", "location": "not_needed",
                               "therapist_id": str(therapist_id),
                               "search_results": [{"id": therapist_id, "name": "x"}],
                               "offered_slots": [starts_at], **slots},
                        set_now={"slot_start": starts_at})


def grants_of(db, member) -> int:
    with db.reader() as session:
        return len(session.scalars(select(Grant).where(Grant.member_id == member.member_id))
                   .all())


async def test_dans_time_with_a_therapist_his_offer_does_not_pay_for_is_not_kept(backend):
    """Dan's only offer continues with the therapist he has seen: picking another one is
    answered by the quote (why, and the one it pays for), before any summary."""
    admin = factories.register_organisation(backend)
    factories.authorisation(backend, admin, access="all_members",
                            coverage="existing_relationship", name="Continue with your therapist")
    dan = factories.add_member(backend, admin.organisation_id)
    seen = booking_factories.therapist(backend)
    booking_factories.make_seen(backend, dan, seen)
    other = booking_factories.therapist(backend)
    starts_at = booking_factories.slot(72).isoformat()
    dispatcher, events = await run(ValidateBookingForm(),
                                   choosing_a_time(dan.identity, other, starts_at))
    said = texts(dispatcher)
    assert "pays only for a therapist you have already seen" in said
    assert "Your organisation pays for this session" not in said
    assert "£80.00" in said
    book_seen, pay_himself = dispatcher.messages[-1]["buttons"]
    assert book_seen["payload"] == payload("inform", therapist_id=seen)
    assert pay_himself["title"] == "Book it, I'll pay £80.00"  # tests/bot/test_self_pay.py
    changed = slot_events(events)
    assert changed["slot_start"] is None and changed["therapist_id"] is None  # choose again
    assert grants_of(backend, dan) == 0  # quoting took no place on the offer
    dispatcher, events = await run(ValidateBookingForm(),
                                   choosing_a_time(dan.identity, seen, starts_at))
    assert slot_events(events)["slot_start"] == starts_at and texts(dispatcher) == ""


async def test_bens_paused_offer_is_said_when_he_picks_a_time_and_the_form_ends(backend):
    admin = factories.register_organisation(backend)
    offer = factories.authorisation(backend, admin, name="Wellbeing support")
    ben, _ = factories.member_with_grant(backend, admin, offer.id)
    therapist_id = booking_factories.therapist(backend)
    authorisations.change_status(backend, admin, offer.id, "pause")
    starts_at = booking_factories.slot(72).isoformat()
    dispatcher, events = await run(ValidateBookingForm(),
                                   choosing_a_time(ben.identity, therapist_id, starts_at))
    said = texts(dispatcher)
    assert "“Wellbeing support” is paused" in said and "Your organisation pays" not in said
    assert "talk to a person" in said and form_ended(events)
    assert [b["payload"].split("{")[0] for b in dispatcher.messages[-1]["buttons"]] == [
        "/book_self_paid", "/handoff_request"]

    # Were the summary reached anyway (paused meanwhile), it says so and offers no "Book it".
    dispatcher, _ = await run(ActionAskBookingConfirmed(), make_tracker(ben.identity, slots={
        "modality": "video", "therapist_id": str(therapist_id), "slot_start": starts_at}))
    said = texts(dispatcher)
    assert "is paused" in said and "Your organisation pays" not in said
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert "Book it" not in titles and "Don't book" in titles


async def test_a_time_just_taken_is_said_and_another_is_asked(backend):
    member, _ = member_with_sessions(backend)
    therapist_id = booking_factories.therapist(backend)
    starts_at = booking_factories.slot(72)
    admin = factories.register_organisation(backend, "Other Ltd")
    bookings.book(backend, factories.add_member(backend, admin.organisation_id),
                  therapist_id=therapist_id, starts_at=starts_at, modality=Modality.VIDEO,
                  self_pay=True)
    dispatcher, events = await run(ValidateBookingForm(), choosing_a_time(
        member.identity, therapist_id, starts_at.isoformat()))
    assert "just been taken" in texts(dispatcher) and "pick another time" in texts(dispatcher)
    assert slot_events(events)["slot_start"] is None and not form_ended(events)


async def test_the_summary_with_the_backend_down_promises_nothing(monkeypatch):
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")  # nothing listens there
    dispatcher, _ = await run(ActionAskBookingConfirmed(), make_tracker("test:alice", slots={
        "modality": "video", "therapist_id": "1", "search_results": [{"id": 1, "name": "A"}],
        "slot_start": booking_factories.slot(72).isoformat()}))
    assert texts(dispatcher) == base.UNAVAILABLE_TEXT
    assert not any(m.get("buttons") for m in dispatcher.messages)


async def test_the_confirmation_time_is_the_backends(backend):
    member, grant = member_with_sessions(backend)
    therapist_id = booking_factories.therapist(backend)
    bookings.book(backend, member, therapist_id=therapist_id,
                  starts_at=booking_factories.slot(24 * 7), modality=Modality.VIDEO,
                  grant_id=grant.id)
    dispatcher, _ = await run(ActionCheckConfirmation(), make_tracker(member.identity))
    assert "usually confirmed within 4 business hours" in texts(dispatcher)


# ------------------------------------------------------------------ questions (FAQ)

def asking(question: str | None, identity: str | None = "test:anyone"):
    """A tracker whose latest message the ResponseSelector answered with `faq/<question>`."""
    tracker = make_tracker(identity, text="a question", intent="faq")
    if question:
        tracker.latest_message["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {"response": {"intent_response_key": f"faq/{question}",
                                 "utter_action": f"utter_faq/{question}"}}}
    return tracker


@pytest.fixture
async def backend_with_other_policies(backend_db, monkeypatch):
    """A backend whose operator changed the cancellation window, the reporting minimum and
    the business hours therapists confirm within."""
    async with running_backend(backend_db, monkeypatch, CANCELLATION_WINDOW_HOURS=24,
                               REPORTING_MIN_GROUP=8, CONFIRMATION_BUSINESS_HOURS=6):
        yield


@pytest.mark.parametrize("identity", [None, "test:anyone"])
async def test_policy_answers_state_the_backends_figures_for_anyone(
        backend_with_other_policies, identity):
    dispatcher, events = await run(ActionAnswerFaq(), asking("cancellation_policy", identity))
    assert texts(dispatcher).startswith("You can cancel up to 24 hours before a session")
    assert events == []
    dispatcher, _ = await run(ActionAnswerFaq(), asking("privacy", identity))
    assert "Figures about fewer than 8 people aren't shown" in texts(dispatcher)
    dispatcher, _ = await run(ActionAnswerFaq(), asking("confirmation_time", identity))
    assert "within 6 business hours" in texts(dispatcher)


async def test_a_member_is_told_the_cancellation_window_in_force_at_their_organisation(
        backend_with_other_policies, backend_db):
    db = backend_db
    admin = factories.register_organisation(db, name="Widgets Ltd")
    member = factories.add_member(db, admin.organisation_id)
    organisations.set_cancellation_window(db, admin, 36)
    other = factories.register_organisation(db, name="Other Ltd")  # keeps the operator's 24
    told = {"You can cancel up to 36 hours before a session (the window in force at Widgets "
            "Ltd)": [member.identity, admin.identity],
            "You can cancel up to 24 hours before a session (the window in force at Other "
            "Ltd)": [other.identity],
            "You can cancel up to 24 hours before a session (your organisation may set a "
            "different window)": ["test:nobody", None]}
    for answer, askers in told.items():
        for asker in askers:
            dispatcher, _ = await run(ActionAnswerFaq(), asking("cancellation_policy", asker))
            assert texts(dispatcher).startswith(answer), asker


async def test_coverage_and_confirmation_answers_use_the_backends_wording(backend):
    dispatcher, _ = await run(ActionAnswerFaq(), asking("coverage_options"))
    assert texts(dispatcher) == " ".join(["Coverage says which sessions an authorisation pays "
                                          "for.", *EXPLANATIONS.values()])
    dispatcher, _ = await run(ActionAnswerFaq(), asking("confirmation_time"))
    assert "within 4 business hours" in texts(dispatcher)


async def test_questions_without_figures_are_the_domains_answers(backend):
    dispatcher, _ = await run(ActionAnswerFaq(), asking("vouchers"))
    assert responses(dispatcher) == [("utter_faq/vouchers", None)]


@pytest.mark.parametrize("question", ["cancellation_policy", "privacy", "coverage_options",
                                      "confirmation_time"])
async def test_policy_answers_without_the_backend_say_it_without_figures(monkeypatch, question):
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")  # nothing listens there
    dispatcher, _ = await run(ActionAnswerFaq(), asking(question))
    assert responses(dispatcher) == [(f"utter_faq/{question}", None)]


async def test_a_question_the_selector_did_not_answer_gets_the_default_reply():
    dispatcher, _ = await run(ActionAnswerFaq(), asking(None))
    assert responses(dispatcher) == [("utter_default", None)]


def responses(dispatcher: CollectingDispatcher) -> list[tuple[str | None, str | None]]:
    """(domain response, text) of each message."""
    return [(m.get("response"), m.get("text")) for m in dispatcher.messages]
