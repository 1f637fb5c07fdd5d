"""Issue 15 in the actions, against the real backend over HTTP: what can pay is said when the
booking starts, the search is shaped by coverage and says so, and admins name authorisations as
people say them."""

from __future__ import annotations

import pytest

from backend.services import authorisations, bookings, grants
from bot.actions.authorisations import ActionChangeAuthorisationStatus
from bot.actions.booking import ActionAskTherapistId, ValidateBookingForm
from bot.actions.common import payload
from tests.backend import booking_factories, factories
from tests.bot.conftest import make_tracker, slot_events, texts
from tests.bot.test_actions import form_ended, run

SEARCH = {"issue": "any", "modality": "video", "location": "not_needed", "when": {}}


def starting(identity):
    return make_tracker(identity, intent="find_therapist", active_loop="booking_form")


async def test_bens_paused_offer_is_said_before_any_question(backend):
    admin = factories.register_organisation(backend)
    offer = factories.authorisation(backend, admin, name="Wellbeing support")
    ben, _ = factories.member_with_grant(backend, admin, offer.id)
    booking_factories.therapist(backend)
    authorisations.change_status(backend, admin, offer.id, "pause")
    dispatcher, events = await run(ValidateBookingForm(), starting(ben.identity))
    said = texts(dispatcher)
    assert "“Wellbeing support” is paused" in said and "Your organisation pays" not in said
    assert "Your admin can add sessions" in said and "£80.00" in said
    assert form_ended(events) and not any(e.get("name") == "requested_slot" and e.get("value")
                                          for e in events)
    assert [b["payload"] for b in dispatcher.messages[-1]["buttons"]] == [
        payload("find_therapist", self_pay="yes"), "/handoff_request"]  # tests/bot/test_self_pay


@pytest.mark.parametrize("case", ["used_up", "full", "revoked", "nothing"])
async def test_each_reason_nothing_pays_ends_the_form_at_once(backend, case):
    admin = factories.register_organisation(backend)
    therapist_id = booking_factories.therapist(backend)
    if case == "full":
        offer = factories.authorisation(backend, admin, access="all_members", user_limit=1)
        grants.join(backend, factories.add_member(backend, admin.organisation_id), offer.id)
        member = factories.add_member(backend, admin.organisation_id)
    elif case == "nothing":
        member = factories.add_member(backend, admin.organisation_id)
    else:
        offer = factories.authorisation(backend, admin, sessions_per_user=1, name="One")
        member, _ = factories.member_with_grant(backend, admin, offer.id)
        if case == "used_up":
            bookings.book(backend, member, therapist_id=therapist_id, modality="video",
                          starts_at=booking_factories.slot(72).isoformat())
        else:
            authorisations.change_status(backend, admin, offer.id, "revoke")
    expected = {"used_up": "used all 1 sessions", "full": "places on this offer have been taken",
                "revoked": "“One” is revoked", "nothing": "say 'redeem'"}[case]
    dispatcher, events = await run(ValidateBookingForm(), starting(member.identity))
    assert expected in texts(dispatcher) and form_ended(events)


async def test_dans_search_offers_the_therapist_he_has_seen_and_says_why(backend):
    admin = factories.register_organisation(backend)
    factories.authorisation(backend, admin, access="all_members",
                            coverage="existing_relationship", name="Continue with your therapist")
    dan = factories.add_member(backend, admin.organisation_id)
    others = [booking_factories.therapist(backend) for _ in range(3)]
    seen = booking_factories.therapist(backend)
    booking_factories.make_seen(backend, dan, seen)
    _, events = await run(ValidateBookingForm(), starting(dan.identity))
    assert not form_ended(events)
    dispatcher, events = await run(ActionAskTherapistId(), make_tracker(dan.identity,
                                                                        slots=SEARCH))
    said = texts(dispatcher)
    assert said.startswith("Your organisation's offer “Continue with your therapist” pays for a "
                           "therapist you have seen before.")
    assert "you have seen them before" in said and "Paid by" not in said
    assert [r["id"] for r in slot_events(events)["search_results"]] == [seen]
    assert not set(others) & {int(r["id"]) for r in slot_events(events)["search_results"]}


async def test_with_two_offers_each_result_names_the_one_that_pays(backend):
    admin = factories.register_organisation(backend)
    factories.authorisation(backend, admin, access="all_members",
                            coverage="existing_relationship", name="Continue")
    factories.authorisation(backend, admin, access="all_members",
                            coverage="new_relationship", name="Fresh start")
    member = factories.add_member(backend, admin.organisation_id)
    seen, other = booking_factories.therapist(backend), booking_factories.therapist(backend)
    booking_factories.make_seen(backend, member, seen)
    dispatcher, _ = await run(ActionAskTherapistId(), make_tracker(member.identity,
                                                                   slots=SEARCH))
    said = texts(dispatcher)
    assert "Paid by “Continue”" in said and "Paid by “Fresh start”" in said
    assert "pays for a therapist you have not seen before" in said
    assert other  # listed, paid by the new-relationship offer


async def test_authorisations_by_their_name_or_a_distinctive_word(backend):
    admin = factories.register_organisation(backend)
    wellbeing = factories.authorisation(backend, admin, name="Wellbeing support")
    pilot = factories.authorisation(backend, admin, name="Pilot for managers")
    for text, verb, offer, status in (
            ("pause the wellbeing support authorisation", "pause", wellbeing, "paused"),
            ("resume wellbeing", "resume", wellbeing, "active"),
            ("pause the pilot one", "pause", pilot, "paused")):
        dispatcher, _ = await run(ActionChangeAuthorisationStatus(), make_tracker(
            admin.identity, text=text, slots={"status_verb": verb}))
        assert texts(dispatcher) == f"#{offer.id} {offer.name} is now {status}.", text
    dispatcher, _ = await run(ActionChangeAuthorisationStatus(), make_tracker(
        admin.identity, text="revoke the pilot one", slots={"status_verb": "revoke"}))
    assert "permanent" in texts(dispatcher) and f"#{pilot.id}" in texts(dispatcher)


async def test_a_name_two_authorisations_share_asks_which_with_buttons(backend):
    admin = factories.register_organisation(backend)
    first = factories.authorisation(backend, admin, name="Wellbeing 2025")
    second = factories.authorisation(backend, admin, name="Wellbeing for managers")
    factories.authorisation(backend, admin, name="Pilot")
    dispatcher, _ = await run(ActionChangeAuthorisationStatus(), make_tracker(
        admin.identity, text="pause wellbeing", slots={"status_verb": "pause"}))
    assert texts(dispatcher) == "Which one, and what should I do?"
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert titles == [f"Pause #{first.id} Wellbeing 2025", f"Pause #{second.id} Wellbeing for "
                      "managers"]
