"""An admin's conversations by chat: the greeting, invites with their states, revoking one, an
invite's expiry, the cancellation window. Actions against the real backend over HTTP
(tests/bot/conftest.py)."""

from __future__ import annotations

import json
from datetime import timedelta

from backend.models.base import utcnow
from backend.services import invites, organisations
from bot.actions.cancellation_window import (
    ActionAskCancellationWindowConfirmed,
    ActionAskCancellationWindowHours,
    ActionSetCancellationWindow,
    ValidateCancellationWindowForm,
)
from bot.actions.general import ADMIN_GREETING, GREETING, MEMBER_GREETING, ActionGreet
from bot.actions.invite_list import ActionListInvites, ActionRevokeInvite
from bot.actions.invites import (
    ActionAskInviteAuthorisation,
    ActionAskInviteExpiry,
    ActionCreateInvite,
    ValidateInviteForm,
)
from tests.backend import factories
from tests.bot.conftest import make_tracker, payloads, run, slot_events, texts


def pressed(button_payload: str, identity: str):
    """The tracker after the person presses a button `/intent{"entity": "value"}`."""
    intent, _, entities = button_payload[1:].partition("{")
    values = json.loads("{" + entities) if entities else {}
    return make_tracker(identity, text=button_payload, intent=intent,
                        entities=[{"entity": k, "value": v} for k, v in values.items()])


# ------------------------------------------------------------------ the greeting

async def test_an_admins_greeting_offers_the_admin_actions(backend):
    admin = factories.register_organisation(backend)
    dispatcher, _ = await run(ActionGreet(), make_tracker(admin.identity, intent="greet"))
    assert texts(dispatcher) == ADMIN_GREETING
    offered = payloads(dispatcher)
    for intent in ("create_invite", "list_invites", "list_authorisations", "find_therapist"):
        assert f"/{intent}" in offered
    assert "/redeem_invite" not in offered


async def test_members_and_strangers_are_not_offered_admin_actions(backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    dispatcher, _ = await run(ActionGreet(), make_tracker(member.identity, intent="greet"))
    assert texts(dispatcher) == MEMBER_GREETING
    assert "/find_therapist" in payloads(dispatcher)
    assert not {"/create_invite", "/list_invites"} & set(payloads(dispatcher))
    for tracker in (make_tracker("test:never-seen", intent="greet"),
                    make_tracker(None, intent="greet")):  # no identity: the web before sign-in
        dispatcher, _ = await run(ActionGreet(), tracker)
        assert texts(dispatcher) == GREETING
        assert "/redeem_invite" in payloads(dispatcher)
        assert "/list_invites" not in payloads(dispatcher)


async def test_the_greeting_still_answers_when_the_backend_is_down(monkeypatch):
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")  # nothing listens there
    dispatcher, _ = await run(ActionGreet(), make_tracker("test:alice", intent="greet"))
    assert texts(dispatcher) == GREETING


# ------------------------------------------------------------------ invites and their states

async def test_admin_lists_invites_with_states_and_revokes_an_open_one_by_its_button(backend):
    admin = factories.register_organisation(backend)
    wellbeing = factories.authorisation(backend, admin, name="Wellbeing")
    pilot = factories.authorisation(backend, admin, name="Pilot")
    kept = invites.create(backend, admin, wellbeing.id, email="sam@example.com")
    dropped = invites.create(backend, admin, pilot.id)
    invites.revoke(backend, admin, dropped.id)
    used = invites.create(backend, admin, wellbeing.id)
    invites.redeem(backend, factories.stranger(backend), used.code)

    dispatcher, _ = await run(ActionListInvites(), make_tracker(admin.identity))
    said = texts(dispatcher)
    assert f"#{kept.id} …{kept.code[-4:]} for sam@example.com (Wellbeing): open until" in said
    assert f"#{dropped.id} …{dropped.code[-4:]} (Pilot): revoked" in said
    assert f"#{used.id} …{used.code[-4:]} (Wellbeing): redeemed" in said
    assert kept.code not in said  # a code is shown once, when it is created
    assert said.index(f"#{used.id} ") < said.index(f"#{kept.id} ")  # newest first
    assert payloads(dispatcher) == [f'/revoke_invite{{"invite_id": "{kept.id}"}}']

    dispatcher, _ = await run(ActionRevokeInvite(), pressed(payloads(dispatcher)[0],
                                                            admin.identity))
    assert f"Invite #{kept.id} (…{kept.code[-4:]}) is revoked" in texts(dispatcher)
    states = {i.id: i.state for i in invites.list_for_admin(backend, admin, wellbeing.id)}
    assert states == {kept.id: "revoked", used.id: "redeemed"}


async def test_revoke_without_a_number_lists_the_invites_and_nothing_changes(backend):
    admin = factories.register_organisation(backend)
    authorisation = factories.authorisation(backend, admin)
    invite = invites.create(backend, admin, authorisation.id)
    dispatcher, _ = await run(ActionRevokeInvite(), make_tracker(
        admin.identity, text="/revoke_invite", intent="revoke_invite"))
    assert "Your invites, newest first" in texts(dispatcher)
    assert [i.state for i in invites.list_for_admin(backend, admin, authorisation.id)] == ["open"]
    assert payloads(dispatcher) == [f'/revoke_invite{{"invite_id": "{invite.id}"}}']


async def test_a_redeemed_invite_or_another_organisations_cannot_be_revoked(backend):
    admin = factories.register_organisation(backend)
    other = factories.register_organisation(backend, name="Other Ltd")
    authorisation = factories.authorisation(backend, admin)
    used = invites.create(backend, admin, authorisation.id)
    invites.redeem(backend, factories.stranger(backend), used.code)
    theirs = invites.create(backend, other, factories.authorisation(backend, other).id)

    dispatcher, _ = await run(ActionRevokeInvite(), pressed(
        f'/revoke_invite{{"invite_id": "{used.id}"}}', admin.identity))
    assert texts(dispatcher).startswith("This invite has already been redeemed")
    dispatcher, _ = await run(ActionRevokeInvite(), pressed(
        f'/revoke_invite{{"invite_id": "{theirs.id}"}}', admin.identity))
    assert "revoked" not in texts(dispatcher)
    assert [i.state for i in invites.list_for_admin(
        backend, other, theirs.authorisation_id)] == ["open"]


async def test_members_cannot_see_invites(backend):
    admin = factories.register_organisation(backend)
    invites.create(backend, admin, factories.authorisation(backend, admin).id)
    member = factories.add_member(backend, admin.organisation_id)
    dispatcher, _ = await run(ActionListInvites(), make_tracker(member.identity))
    assert texts(dispatcher) == "Only your organisation's admins can do that."
    assert payloads(dispatcher) == []


async def test_no_invites_yet_offers_to_create_one(backend):
    admin = factories.register_organisation(backend)
    factories.authorisation(backend, admin)
    dispatcher, _ = await run(ActionListInvites(), make_tracker(admin.identity))
    assert texts(dispatcher) == "You haven't created any invites yet."
    assert payloads(dispatcher) == ["/create_invite"]


# ------------------------------------------------------------------ an invite's expiry

async def validate_expiry(identity: str, answer: str) -> tuple[str, dict]:
    tracker = make_tracker(identity, text=answer, set_now={"invite_expiry_days": answer},
                           active_loop="invite_form",
                           slots={"requested_slot": "invite_expiry_days",
                                  "authorisation_id": "1", "invite_email": "none"})
    dispatcher, events = await run(ValidateInviteForm(), tracker)
    return texts(dispatcher), slot_events(events)


async def test_the_expiry_is_read_in_days_weeks_or_the_usual(backend):
    admin = factories.register_organisation(backend)
    factories.authorisation(backend, admin)
    for answer, meant in (("two weeks", "14"), ("10 days", "10"), ("90", "90"),
                          ("the usual", "usual"), ("usual", "usual"), ("a month", "30")):
        _, slots = await validate_expiry(admin.identity, answer)
        assert slots["invite_expiry_days"] == meant, answer
    said, slots = await validate_expiry(admin.identity, "whenever it suits me")
    assert slots["invite_expiry_days"] is None and "number of days" in said


async def test_past_eight_authorisations_the_newest_are_offered_and_another_can_be_typed(backend):
    admin = factories.register_organisation(backend)
    ids = [factories.authorisation(backend, admin).id for _ in range(10)]
    dispatcher, _ = await run(ActionAskInviteAuthorisation(), make_tracker(admin.identity))
    assert payloads(dispatcher) == [f'/inform{{"authorisation_id": "{i}"}}' for i in ids[2:]]
    assert "newest 8 of 10; for another, type its number" in texts(dispatcher)
    typed = f"#{ids[0]}"
    dispatcher, events = await run(ValidateInviteForm(), make_tracker(
        admin.identity, text=typed, set_now={"authorisation_id": typed}, active_loop="invite_form",
        slots={"requested_slot": "authorisation_id"}))
    assert slot_events(events)["authorisation_id"] == str(ids[0]), texts(dispatcher)


async def test_a_few_authorisations_are_all_offered_without_a_hint(backend):
    admin = factories.register_organisation(backend)
    ids = [factories.authorisation(backend, admin).id for _ in range(3)]
    dispatcher, _ = await run(ActionAskInviteAuthorisation(), make_tracker(admin.identity))
    assert payloads(dispatcher) == [f'/inform{{"authorisation_id": "{i}"}}' for i in ids]
    assert texts(dispatcher) == "Which authorisation is the invite for?"


async def test_the_expiry_question_offers_the_usual_and_a_few_lengths():
    dispatcher, _ = await run(ActionAskInviteExpiry(), make_tracker("test:someone"))
    assert payloads(dispatcher)[0] == '/inform{"invite_expiry_days": "usual"}'
    assert '/inform{"invite_expiry_days": "14"}' in payloads(dispatcher)


async def test_an_invite_expires_when_the_admin_said_or_after_the_usual_days(backend):
    admin = factories.register_organisation(backend)
    authorisation = factories.authorisation(backend, admin)
    for expiry, days in (("14", 14), ("usual", 30)):  # INVITE_TTL_DAYS defaults to 30
        dispatcher, _ = await run(ActionCreateInvite(), make_tracker(admin.identity, slots={
            "authorisation_id": str(authorisation.id), "invite_email": "none",
            "invite_expiry_days": expiry}))
        assert "It expires on" in texts(dispatcher)
        newest = invites.list_for_admin(backend, admin, authorisation.id)[-1]
        left = newest.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
        assert timedelta(days=days) - timedelta(minutes=5) < left <= timedelta(days=days)


async def test_an_expiry_the_backend_refuses_creates_nothing(backend):
    admin = factories.register_organisation(backend)
    authorisation = factories.authorisation(backend, admin)
    dispatcher, events = await run(ActionCreateInvite(), make_tracker(admin.identity, slots={
        "authorisation_id": str(authorisation.id), "invite_email": "none",
        "invite_expiry_days": "400"}))
    assert "365" in texts(dispatcher)
    assert slot_events(events)["invite_expiry_days"] is None  # the form's answers are forgotten
    assert invites.list_for_admin(backend, admin, authorisation.id) == []


# ------------------------------------------------------------------ the cancellation window

def window_form(identity: str, text: str, **slots):
    return make_tracker(identity, text=text, intent="change_cancellation_window",
                        active_loop="cancellation_window_form", slots=slots)


async def test_an_admin_sets_the_cancellation_window_after_confirming(backend):
    admin = factories.register_organisation(backend)
    dispatcher, _ = await run(ActionAskCancellationWindowHours(), make_tracker(admin.identity))
    assert texts(dispatcher).startswith("Members can now cancel free of charge up to 48 hours")
    assert '/inform{"cancellation_window_hours": "24"}' in payloads(dispatcher)

    for answer, meant in (("two days", "48"), ("36 hours", "36"), ("12", "12")):
        _, slots = await validate_window(admin.identity, answer)
        assert slots["cancellation_window_hours"] == meant

    dispatcher, _ = await run(ActionAskCancellationWindowConfirmed(), make_tracker(
        admin.identity, slots={"cancellation_window_hours": "36"}))
    assert "up to 36 hours before a session" in texts(dispatcher)
    assert payloads(dispatcher) == ["/affirm", "/deny"]

    dispatcher, events = await run(ActionSetCancellationWindow(), make_tracker(
        admin.identity, slots={"cancellation_window_hours": "36",
                               "cancellation_window_confirmed": True}))
    assert texts(dispatcher) == ("Done: members can now cancel free of charge up to 36 hours "
                                 "before a session.")
    assert slot_events(events)["cancellation_window_hours"] is None
    assert organisations.describe(backend, admin).cancellation_window_hours == 36
    dispatcher, _ = await run(ActionAskCancellationWindowHours(), make_tracker(admin.identity))
    assert texts(dispatcher).startswith("Members can now cancel free of charge up to 36 hours")


async def validate_window(identity: str, answer: str) -> tuple[str, dict]:
    tracker = make_tracker(identity, text=answer, intent="inform",
                           set_now={"cancellation_window_hours": answer},
                           active_loop="cancellation_window_form",
                           slots={"requested_slot": "cancellation_window_hours"})
    dispatcher, events = await run(ValidateCancellationWindowForm(), tracker)
    return texts(dispatcher), slot_events(events)


async def test_the_hours_in_the_first_message_are_taken_and_a_no_changes_nothing(backend):
    admin = factories.register_organisation(backend)
    dispatcher, events = await run(ValidateCancellationWindowForm(), window_form(
        admin.identity, "set the cancellation window to 12 hours"))
    assert slot_events(events)["cancellation_window_hours"] == "12"
    said, slots = await validate_window(admin.identity, "as soon as possible")
    assert slots["cancellation_window_hours"] is None and "number of hours" in said

    dispatcher, _ = await run(ActionSetCancellationWindow(), make_tracker(
        admin.identity, slots={"cancellation_window_hours": "12",
                               "cancellation_window_confirmed": False}))
    assert texts(dispatcher) == "OK, I haven't changed anything."
    assert organisations.describe(backend, admin).cancellation_window_hours is None


async def test_a_window_the_backend_refuses_is_explained_and_nothing_changes(backend):
    admin = factories.register_organisation(backend)
    dispatcher, events = await run(ActionSetCancellationWindow(), make_tracker(
        admin.identity, slots={"cancellation_window_hours": "500",
                               "cancellation_window_confirmed": True}))
    assert texts(dispatcher) == ("The cancellation window must be between 1 and 168 hours "
                                 "(a week) before a session.")
    assert slot_events(events)["cancellation_window_hours"] is None
    assert organisations.describe(backend, admin).cancellation_window_hours is None


async def test_members_cannot_start_changing_the_window(backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    dispatcher, events = await run(ValidateCancellationWindowForm(), window_form(
        member.identity, "change the cancellation window"))
    assert texts(dispatcher).startswith("Only your organisation's admins can change the "
                                        "cancellation window")
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
