"""The booking conversation's gaps of issue 13: "no" at the summary, letting go of a filter, a
time taken while the member decided, the privacy receipt, and what the form answers meanwhile."""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.domain.enums import Modality
from backend.services import bookings
from bot.actions.authorisations import ActionListAuthorisations
from bot.actions.booking import (
    WHAT_TO_CHANGE,
    ActionAskSlotStart,
    ActionBook,
    ActionOutOfScopeInBooking,
    ValidateBookingForm,
    ways_to_widen,
)
from bot.actions.booking_changes import ValidateBookingChangeForm
from bot.actions.faq import privacy_receipt
from bot.actions.policies import known_policies
from tests.backend import booking_factories, factories
from tests.bot.conftest import make_tracker, running_backend, slot_events, texts
from tests.bot.test_actions import form_ended, member_with_sessions, run

LONDON = ZoneInfo("Europe/London")
EVENINGS = {"days": ["monday", "wednesday"], "times": ["evening"], "after": "18:00",
            "before": None}


def answered(therapist_id: int | str | None = 4, **slots: Any) -> dict[str, Any]:
    """Every filter a member gave, the search's results, a therapist and a time chosen."""
    return {"issue": ["anxiety"], "modality": "video", "location": "not_needed",
            "when": EVENINGS, "gender": "female", "language": "French", "therapy_type": "CBT",
            "search_results": [{"id": 4, "name": "Dr A"}],
            "therapist_id": None if therapist_id is None else str(therapist_id),
            "slot_start": booking_factories.slot(72).isoformat(), **slots}


def saying(identity: str, text: str, *, asked: str, intent: str = "inform",
           entities: list[dict[str, Any]] | None = None, slots: dict[str, Any] | None = None,
           set_now: dict[str, Any] | None = None):
    return make_tracker(identity, text=text, intent=intent, entities=entities,
                        active_loop="booking_form",
                        slots={"requested_slot": asked, **(slots or answered())},
                        set_now=set_now)


def kept(events: list[dict[str, Any]], *slots: str) -> bool:
    """None of the slots is changed by the events."""
    return not set(slots) & set(slot_events(events))


# ------------------------------------------------------------- 1. "no" at the summary

async def test_no_at_the_summary_keeps_every_filter_and_asks_what_to_change(backend):
    member, _ = member_with_sessions(backend)
    dispatcher, events = await run(ValidateBookingForm(), saying(
        member.identity, "no", intent="deny", asked="booking_confirmed",
        set_now={"booking_confirmed": False}))
    changed = slot_events(events)
    assert changed["booking_confirmed"] is None and changed["slot_start"] is None
    assert kept(events, "issue", "modality", "location", "when", "gender", "language",
                "therapy_type", "therapist_id", "search_results")
    assert texts(dispatcher) == WHAT_TO_CHANGE and not form_ended(events)


async def test_no_with_a_change_at_the_summary_searches_again_with_the_others_kept(backend):
    member, _ = member_with_sessions(backend)
    dispatcher, events = await run(ValidateBookingForm(), saying(
        member.identity, "no, phone instead", intent="deny", asked="booking_confirmed",
        entities=[{"entity": "modality", "value": "phone"}],
        set_now={"booking_confirmed": False, "modality": "phone"}))
    changed = slot_events(events)
    assert changed["modality"] == "phone" and changed["therapist_id"] is None
    assert changed["booking_confirmed"] is None
    assert kept(events, "when", "gender", "language", "therapy_type", "issue")
    assert WHAT_TO_CHANGE not in texts(dispatcher)


async def test_a_bare_no_while_choosing_a_therapist_keeps_the_days_and_times(backend):
    member, _ = member_with_sessions(backend)
    _, events = await run(ValidateBookingForm(), saying(
        member.identity, "no", intent="deny", asked="therapist_id",
        slots=answered(therapist_id=None, slot_start=None), set_now={"therapist_id": "no"}))
    assert kept(events, "when")


async def test_when_the_search_found_nobody_an_answer_is_never_a_failed_pick(backend):
    """After "I couldn't find a therapist", an answer that widens nothing is no failed pick
    ("please pick one of the therapists" with none offered, then giving up): the question
    comes again, and with it the search and what could widen it."""
    member, _ = member_with_sessions(backend)
    for said in ("any time", "ok", "hmm", "the first one"):
        dispatcher, events = await run(ValidateBookingForm(), saying(
            member.identity, said, asked="therapist_id",
            slots=answered(therapist_id=None, slot_start=None, search_results=[], when={}),
            set_now={"therapist_id": said}))
        changed = slot_events(events)
        assert changed["therapist_id"] is None and not changed.get("validation_failures"), said
        assert texts(dispatcher) == "", said


async def test_any_time_while_choosing_a_therapist_lets_the_days_and_times_go(backend):
    member, _ = member_with_sessions(backend)
    _, events = await run(ValidateBookingForm(), saying(
        member.identity, "any time", asked="therapist_id",
        slots=answered(therapist_id=None, slot_start=None), set_now={"therapist_id": "any time"}))
    changed = slot_events(events)
    assert changed["when"] == {"days": [], "times": [], "after": None, "before": None}
    assert changed["therapist_id"] is None and changed["search_results"] is None


def test_a_search_that_found_nobody_suggests_widening_only_the_filters_given():
    assert ways_to_widen({"issues": ["anxiety"], "modality": "video", "days": ["monday"],
                          "gender": "female"}) == (
        "Try 'any time' or 'any gender' or 'phone instead', or I can tell you when one is free.")
    assert ways_to_widen({"issues": ["grief"], "modality": "in_person", "location": "Leeds",
                          "language": "French", "therapy_type": "CBT"}) == (
        "Try 'any language' or 'any type of therapy' or 'video instead', or I can tell you when "
        "one is free.")
    assert ways_to_widen({"issues": ["grief"]}) == (
        "Try another issue, or I can tell you when one is free.")


async def test_each_way_to_widen_suggested_lets_its_filter_go(backend):
    member, _ = member_with_sessions(backend)
    for said, slot in (("any time", "when"), ("any gender", "gender"),
                       ("any language", "language"), ("any type of therapy", "therapy_type")):
        _, events = await run(ValidateBookingForm(), saying(
            member.identity, said, asked="therapist_id",
            slots=answered(therapist_id=None, slot_start=None, search_results=[]),
            set_now={"therapist_id": said}))
        assert slot_events(events)[slot] in (None, {"days": [], "times": [], "after": None,
                                                    "before": None}), said


# ------------------------------------------------------------- 2. letting go of a filter

async def test_any_gender_while_choosing_a_time_clears_it_and_searches_again(backend):
    member, _ = member_with_sessions(backend)
    _, events = await run(ValidateBookingForm(), saying(
        member.identity, "any gender", asked="slot_start", set_now={"slot_start": "any gender"}))
    changed = slot_events(events)
    assert changed["gender"] is None and changed["therapist_id"] is None
    assert changed["slot_start"] is None and not form_ended(events)
    assert kept(events, "language", "therapy_type", "issue", "modality")
    assert changed.get("when", EVENINGS) == EVENINGS


async def test_the_type_of_therapy_and_the_language_can_be_let_go(backend):
    member, _ = member_with_sessions(backend)
    for text, slot in (("I don't mind the type of therapy", "therapy_type"),
                       ("any language is fine", "language")):
        _, events = await run(ValidateBookingForm(), saying(
            member.identity, text, asked="therapist_id",
            slots=answered(therapist_id=None, slot_start=None), set_now={"therapist_id": text}))
        changed = slot_events(events)
        assert changed[slot] is None and changed["therapist_id"] is None
        others = {"gender", "language", "therapy_type"} - {slot}
        assert kept(events, *others)


async def test_any_day_lets_go_of_the_days_and_keeps_the_times(backend):
    member, _ = member_with_sessions(backend)
    for asked in ("therapist_id", "slot_start"):
        _, events = await run(ValidateBookingForm(), saying(
            member.identity, "any day", asked=asked,
            slots=answered(therapist_id="4" if asked == "slot_start" else None, slot_start=None),
            set_now={asked: "any day"}))
        changed = slot_events(events)
        assert changed["when"] == {**EVENINGS, "days": []}, asked
        assert changed["therapist_id"] is None
        assert kept(events, "gender", "language", "therapy_type")


# ------------------------------------------------------------- 3. a time taken meanwhile

async def test_a_time_taken_at_booking_keeps_the_therapist_and_offers_their_next_times(backend):
    member, _ = member_with_sessions(backend)
    therapist_id = booking_factories.therapist(backend)
    starts_at = booking_factories.slot(72)
    ready = answered(therapist_id, slot_start=starts_at.isoformat(), booking_confirmed=True,
                     when={}, gender=None, language=None, therapy_type=None,
                     search_results=[{"id": therapist_id, "name": "Dr A"}])
    admin = factories.register_organisation(backend, "Other Ltd")
    bookings.book(backend, factories.add_member(backend, admin.organisation_id),
                  therapist_id=therapist_id, starts_at=starts_at, modality=Modality.VIDEO,
                  self_pay=True)  # someone else books it while the member reads the summary
    dispatcher, events = await run(ActionBook(), make_tracker(member.identity, text="yes",
                                                              intent="affirm", slots=ready))
    assert "just been taken" in texts(dispatcher)
    changed = slot_events(events)
    assert changed == {"slot_start": None, "booking_confirmed": None, "offered_slots": None,
                       "requested_slot": "slot_start"}
    assert [e["name"] for e in events if e["event"] == "active_loop"] == ["booking_form"]

    # The form, active again, validates with the tracker Rasa's FormAction builds (its
    # _temporary_tracker): the events so far, the requested slot, then the form's own
    # execution, with "yes" still the latest message. It keeps the therapist (a booking that
    # starts forgets one left behind).
    reopened = make_tracker(member.identity, text="yes", intent="affirm",
                            active_loop="booking_form", slots={**ready, **changed})
    reopened.events += [{"event": "action", "name": "action_book"}, *events,
                        {"event": "slot", "name": "requested_slot", "value": "slot_start"},
                        {"event": "action", "name": "booking_form"}]
    reopened.latest_action_name = "booking_form"
    dispatcher, events = await run(ValidateBookingForm(), reopened)
    assert "therapist_id" not in slot_events(events) and not form_ended(events)

    still = {**ready, **changed}
    dispatcher, events = await run(ActionAskSlotStart(), make_tracker(member.identity,
                                                                      slots=still))
    offered = slot_events(events)["offered_slots"]
    assert offered and starts_at.isoformat() not in offered
    assert texts(dispatcher).startswith("Dr A's next free times")


# ------------------------------------------------------------- 4. the privacy receipt

async def test_the_receipt_says_what_the_admins_see_with_the_backends_minimum_group(
        backend_db, monkeypatch):
    async with running_backend(backend_db, monkeypatch, REPORTING_MIN_GROUP=8):
        admin = factories.register_organisation(backend_db)
        offer = factories.authorisation(backend_db, admin, name="Wellbeing support")
        member, _ = factories.member_with_grant(backend_db, admin, offer.id)
        therapist_id = booking_factories.therapist(backend_db)
        ready = answered(therapist_id, when={}, booking_confirmed=True,
                         search_results=[{"id": therapist_id, "name": "Dr A"}])
        dispatcher, _ = await run(ActionBook(), make_tracker(member.identity, slots=ready))
        receipt = dispatcher.messages[-1]["text"]
        assert receipt == privacy_receipt("Wellbeing support", await known_policies())
        assert "“Wellbeing support”" in receipt
        assert "at least 8 people (you and 7 others or more)" in receipt
        assert "never see who booked, which therapist, when, or what it's about" in receipt
        # What the receipt promises is what the admin is shown: nothing of one booking.
        dispatcher, _ = await run(ActionListAuthorisations(), make_tracker(admin.identity))
        assert "Wellbeing support" in texts(dispatcher)
        assert "at least 8 people counted" in texts(dispatcher)


async def test_the_receipt_without_the_backends_policies_states_no_figure():
    receipt = privacy_receipt(None, None)
    assert "your organisation's authorisation" in receipt
    assert "nobody can be singled out" in receipt and not re.search(r"\d", receipt)


# ------------------------------------------------------------- 5. answered, then the form resumes

ANSWERING_NOTHING = [
    ("thanks so much", "thanks"),
    ("what's the weather tomorrow", "out_of_scope"),
    ("how many sessions do I have left", "ask_remaining_sessions"),
    ("when is my next appointment", "ask_bookings"),
    ("has my therapist confirmed", "check_confirmation"),
    ("tell me if laura has an evening free", "watch_for_times"),  # leaves for the waitlist
]
QUESTIONS = ["issue", "when", "therapist_id", "slot_start"]


# Out of scope at the issue question is the answer instead (the next test).
@pytest.mark.parametrize(("text", "intent", "asked"), [
    (text, intent, asked) for text, intent in ANSWERING_NOTHING for asked in QUESTIONS
    if (intent, asked) != ("out_of_scope", "issue")])
async def test_a_message_answering_nothing_is_left_to_the_rules(backend, text, intent, asked):
    member, _ = member_with_sessions(backend)
    dispatcher, events = await run(ValidateBookingForm(), saying(
        member.identity, text, intent=intent, asked=asked,
        slots=answered(therapist_id="4" if asked == "slot_start" else None)))
    assert events == [] and dispatcher.messages == []  # rejected: a rule answers, form resumes


async def test_at_the_issue_question_what_the_nlu_calls_out_of_scope_is_the_answer(backend):
    """A person naming their problem is never told it is out of scope: the form matches it to
    the issues therapists list, or shows those, and the rule's action stays quiet."""
    member, _ = member_with_sessions(backend)

    def out_of_scope(text: str):
        return saying(member.identity, text, intent="out_of_scope", asked="issue",
                      set_now={"issue": text})

    dispatcher, events = await run(ValidateBookingForm(), out_of_scope("my anxiety at work"))
    assert slot_events(events)["issue"] == ["anxiety"] and dispatcher.messages == []
    dispatcher, events = await run(ValidateBookingForm(), out_of_scope("order me a pizza"))
    assert slot_events(events)["issue"] is None
    assert "couldn't match that to what therapists list" in texts(dispatcher)
    dispatcher, _ = await run(ActionOutOfScopeInBooking(), out_of_scope("order me a pizza"))
    assert dispatcher.messages == []


@pytest.mark.parametrize("asked", [q for q in QUESTIONS if q != "issue"])
async def test_out_of_scope_at_the_other_questions_is_answered_by_the_rule(backend, asked):
    member, _ = member_with_sessions(backend)
    dispatcher, _ = await run(ActionOutOfScopeInBooking(), saying(
        member.identity, "order me a pizza", intent="out_of_scope", asked=asked))
    assert [m.get("response") for m in dispatcher.messages] == ["utter_out_of_scope_in_form"]


@pytest.mark.parametrize("intent", ["thanks", "ask_bookings"])
async def test_the_booking_change_form_leaves_them_to_the_rules_too(backend, intent):
    member, _ = member_with_sessions(backend)
    dispatcher, events = await run(ValidateBookingChangeForm(), make_tracker(
        member.identity, text="thanks", intent=intent, active_loop="booking_change_form",
        slots={"requested_slot": "booking_id"}))
    assert events == [] and dispatcher.messages == []


async def test_which_session_to_change_is_read_by_its_time_not_as_a_place_in_the_list(backend):
    """'tue 3pm' among sessions on Monday 10:00, Tuesday 15:00 and Wednesday 16:00 is Tuesday's,
    not the third one; a place in the list alone still picks by place."""
    member, grant = member_with_sessions(backend)
    therapist_id = booking_factories.therapist(backend)
    later = booking_factories.slot(24 * 10).astimezone(LONDON)
    monday = (later + timedelta(days=-later.weekday() % 7)).replace(hour=10, minute=0)
    ids = []
    for day, hour in [(0, 10), (1, 15), (2, 16)]:
        booked = bookings.book(backend, member, therapist_id=therapist_id,
                               starts_at=booking_factories.slot(24 * 7 + 24 * day),
                               modality=Modality.VIDEO, grant_id=grant.id)
        booking_factories.move_to(backend, booked.id, (monday + timedelta(days=day)).replace(
            hour=hour).astimezone(timezone.utc))
        ids.append(str(booked.id))
    for said, chosen in [("tue 3pm", 1), ("the wednesday one", 2), ("monday at 10", 0),
                         ("3", 2), ("the second one", 1)]:
        _, events = await run(ValidateBookingChangeForm(), make_tracker(
            member.identity, text=said, active_loop="booking_change_form",
            slots={"requested_slot": "booking_id"}, set_now={"booking_id": said}))
        assert slot_events(events)["booking_id"] == ids[chosen], said
