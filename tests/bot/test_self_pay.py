"""Booking a session the organisation does not pay for, paying oneself: the quote's refusal
offers "Book it, I'll pay £…" for that very session, and pressing it books it as self-paid
(bot/actions/quotes.py, ActionBookSelfPaid). Against the real backend."""

from __future__ import annotations

import json

from backend.domain.enums import Modality
from backend.models import Grant
from backend.services import authorisations, bookings
from bot.actions.booking import (
    ActionAskBookingConfirmed,
    ActionBook,
    ActionBookSelfPaid,
    ValidateBookingForm,
)
from tests.backend import booking_factories, factories
from tests.bot.conftest import make_tracker, run, slot_events, texts
from tests.bot.test_actions import choosing_a_time, form_ended, grants_of


def pressed(identity: str, button: dict[str, str], **tracker: object):
    """The tracker after the member pressed `button` (its intent and entities, as Rasa reads a
    payload)."""
    intent, _, entities = button["payload"].lstrip("/").partition("{")
    values = json.loads("{" + entities) if entities else {}
    return make_tracker(identity, text=button["payload"], intent=intent,
                        entities=[{"entity": k, "value": v} for k, v in values.items()],
                        **tracker)


def self_pay_button(dispatcher) -> dict[str, str]:
    [button] = [b for m in dispatcher.messages for b in m.get("buttons") or []
                if b["payload"].startswith("/book_self_paid")]
    return button


def a_paused_offer(db):
    """Ben's case: his one offer is paused, so his organisation pays for no session."""
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, name="Wellbeing support")
    ben, grant = factories.member_with_grant(db, admin, offer.id)
    authorisations.change_status(db, admin, offer.id, "pause")
    return ben, grant


async def test_a_time_the_organisation_does_not_pay_for_can_be_booked_paying_oneself(backend):
    ben, grant = a_paused_offer(backend)
    therapist_id = booking_factories.therapist(backend)
    starts_at = booking_factories.slot(72).isoformat()
    dispatcher, events = await run(ValidateBookingForm(),
                                   choosing_a_time(ben.identity, therapist_id, starts_at))
    assert form_ended(events) and "is paused" in texts(dispatcher)
    assert "Paying yourself, this session costs £80.00" in texts(dispatcher)
    button = self_pay_button(dispatcher)
    assert button["title"] == "Book it, I'll pay £80.00"

    dispatcher, events = await run(ActionBookSelfPaid(), pressed(ben.identity, button))
    said = texts(dispatcher)
    assert "Requested: Dr Therapist" in said and "You pay £80.00 for this session yourself" in said
    assert "admin" not in said.lower()  # no privacy receipt: the organisation is not involved
    assert events == []  # no form was running
    [booking] = bookings.list_mine(backend, ben)
    assert (booking.therapist_id, booking.starts_at.isoformat(), booking.modality) == (
        therapist_id, starts_at, Modality.VIDEO)
    assert booking.paid_by_organisation is False and booking.grant_id is None
    with backend.reader() as session:
        assert session.get(Grant, grant.id).sessions_committed == 0


async def test_pressing_it_while_the_form_still_runs_books_and_ends_the_form(backend):
    """Dan's case: his offer pays for the therapist he has seen, so the form goes on (another
    therapist may be paid); pressing "I'll pay" for the one he chose books it and ends the form."""
    admin = factories.register_organisation(backend)
    factories.authorisation(backend, admin, access="all_members",
                            coverage="existing_relationship")
    dan = factories.add_member(backend, admin.organisation_id)
    booking_factories.make_seen(backend, dan, booking_factories.therapist(backend))
    other = booking_factories.therapist(backend)
    starts_at = booking_factories.slot(72).isoformat()
    dispatcher, events = await run(ValidateBookingForm(),
                                   choosing_a_time(dan.identity, other, starts_at))
    assert not form_ended(events)
    button = self_pay_button(dispatcher)
    dispatcher, events = await run(ActionBookSelfPaid(), pressed(
        dan.identity, button, active_loop="booking_form", slots={"requested_slot": "therapist_id"}))
    assert "You pay £80.00 for this session yourself" in texts(dispatcher)
    assert form_ended(events) and slot_events(events)["therapist_id"] is None
    assert [b.therapist_id for b in bookings.list_mine(backend, dan)
            if not b.paid_by_organisation and b.starts_at.isoformat() == starts_at] == [other]
    assert grants_of(backend, dan) == 0  # no place taken on the offer


async def test_a_time_taken_meanwhile_is_said_and_nothing_is_booked(backend):
    ben, _ = a_paused_offer(backend)
    therapist_id = booking_factories.therapist(backend)
    starts_at = booking_factories.slot(72)
    dispatcher, _ = await run(ValidateBookingForm(), choosing_a_time(
        ben.identity, therapist_id, starts_at.isoformat()))
    button = self_pay_button(dispatcher)
    someone = factories.add_member(backend, factories.register_organisation(
        backend, "Other Ltd").organisation_id)
    bookings.book(backend, someone, therapist_id=therapist_id, starts_at=starts_at,
                  modality=Modality.VIDEO, self_pay=True)
    dispatcher, _ = await run(ActionBookSelfPaid(), pressed(ben.identity, button))
    assert "just been taken" in texts(dispatcher) and "find a therapist" in texts(dispatcher)
    assert bookings.list_mine(backend, ben) == []


async def test_without_the_buttons_session_it_asks_which_and_books_nothing(backend):
    ben, _ = a_paused_offer(backend)
    dispatcher, _ = await run(ActionBookSelfPaid(), pressed(
        ben.identity, {"payload": '/book_self_paid{"therapist_id": "x1"}'}))
    assert "Which session?" in texts(dispatcher)
    assert bookings.list_mine(backend, ben) == []


async def test_when_nothing_pays_the_member_can_still_find_a_therapist_and_pay(backend):
    """"Find a therapist, I'll pay" under the refusal: no refusal this time, the time is kept,
    the summary says the fee, and "yes" books it self-paid."""
    ben, grant = a_paused_offer(backend)
    therapist_id = booking_factories.therapist(backend)
    dispatcher, events = await run(ValidateBookingForm(), make_tracker(
        ben.identity, intent="find_therapist", active_loop="booking_form"))
    assert form_ended(events)
    restart = next(b for b in dispatcher.messages[-1]["buttons"]
                   if b["title"] == "Find a therapist, I'll pay")
    dispatcher, events = await run(ValidateBookingForm(), pressed(
        ben.identity, restart, active_loop="booking_form", slots={"self_pay": "yes"}))
    assert not form_ended(events) and "is paused" not in texts(dispatcher)

    starts_at = booking_factories.slot(72).isoformat()
    dispatcher, events = await run(ValidateBookingForm(), choosing_a_time(
        ben.identity, therapist_id, starts_at, self_pay="yes"))
    assert slot_events(events)["slot_start"] == starts_at and texts(dispatcher) == ""
    ready = {"modality": "video", "therapist_id": str(therapist_id), "slot_start": starts_at,
             "search_results": [{"id": therapist_id, "name": "Dr A"}], "self_pay": "yes"}
    dispatcher, _ = await run(ActionAskBookingConfirmed(), make_tracker(ben.identity,
                                                                        slots=ready))
    assert "You pay £80.00 for this session yourself" in texts(dispatcher)
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        "Book it, I'll pay £80.00", "No"]

    filled = {**ready, "issue": "any", "when": {}, "location": "not_needed",
              "booking_confirmed": True}
    dispatcher, events = await run(ActionBook(), make_tracker(ben.identity, slots=filled))
    assert "You pay for this session yourself" in texts(dispatcher)
    assert slot_events(events)["self_pay"] is None  # forgotten with the form
    [booking] = bookings.list_mine(backend, ben)
    assert booking.paid_by_organisation is False and booking.therapist_id == therapist_id
    with backend.reader() as session:
        assert session.get(Grant, grant.id).sessions_committed == 0


async def test_without_choosing_to_pay_a_summary_never_books_self_paid(backend):
    """The same time for Ben, not having chosen to pay: refused when picked, and a "yes" at a
    summary reached anyway books nothing (the backend refuses: nothing pays)."""
    ben, _ = a_paused_offer(backend)
    therapist_id = booking_factories.therapist(backend)
    starts_at = booking_factories.slot(72).isoformat()
    filled = {"modality": "video", "therapist_id": str(therapist_id), "slot_start": starts_at,
              "issue": "any", "when": {}, "location": "not_needed", "booking_confirmed": True}
    dispatcher, _ = await run(ActionBook(), make_tracker(ben.identity, slots=filled))
    assert "paused" in texts(dispatcher) and bookings.list_mine(backend, ben) == []
