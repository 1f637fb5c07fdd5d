"""An admin's team and sessions by chat: adding and removing admins, topping up an authorisation,
and the anonymous requests for more sessions with their top-up buttons. Actions against the real
backend over HTTP (tests/bot/conftest.py), in the style of test_admin_actions.py."""

from __future__ import annotations

from backend.services import authorisations, more_sessions, organisations
from bot.actions.admins import (
    ActionAddAdmin,
    ActionAskNewAdminConfirmed,
    ActionAskNewAdminName,
    ActionAskRemovedAdmin,
    ActionAskRemovedAdminConfirmed,
    ActionRemoveAdmin,
    ValidateAddAdminForm,
    ValidateRemoveAdminForm,
    name_in,
)
from bot.actions.top_up import (
    ActionAskTopUpAuthorisation,
    ActionAskTopUpConfirmed,
    ActionAskTopUpSessions,
    ActionListMoreSessionsRequests,
    ActionTopUp,
    ValidateTopUpForm,
    extra_sessions_in,
)
from tests.backend import factories
from tests.bot.conftest import make_tracker, slot_events, texts
from tests.bot.test_admin_actions import payloads, pressed, run

SECRET = "admin-chat-test-secret"


def admins_of(db, admin) -> dict[str, bool]:
    return {a.email: a.is_admin for a in organisations.list_admins(db, admin)}


def form(identity: str, text: str, intent: str, loop: str, **slots):
    return make_tracker(identity, text=text, intent=intent, active_loop=loop, slots=slots)


async def validate(action, identity: str, loop: str, slot: str, answer: str, **slots):
    tracker = make_tracker(identity, text=answer, intent="inform", set_now={slot: answer},
                           active_loop=loop, slots={"requested_slot": slot, **slots})
    dispatcher, events = await run(action, tracker)
    return texts(dispatcher), slot_events(events)


# ------------------------------------------------------------------ adding an admin

def test_the_name_in_a_request_to_add_an_admin():
    assert name_in("add priya shah as an admin") == "Priya Shah"
    assert name_in("make sam an admin please") == "Sam"
    assert name_in("add priya@acme.example as an admin") is None
    assert name_in("can you add another admin") is None
    assert name_in("add an amdin") is None


async def test_an_admin_adds_another_after_the_name_is_asked_and_confirmed(backend):
    admin = factories.register_organisation(backend)
    _, events = await run(ValidateAddAdminForm(), form(
        admin.identity, "add priya@acme.example as an admin", "add_admin", "add_admin_form"))
    assert slot_events(events)["new_admin_email"] == "priya@acme.example"
    assert "new_admin_name" not in slot_events(events)  # asked next

    dispatcher, _ = await run(ActionAskNewAdminName(), make_tracker(
        admin.identity, slots={"new_admin_email": "priya@acme.example"}))
    assert texts(dispatcher) == "What's the name of the person with priya@acme.example?"
    said, slots = await validate(ValidateAddAdminForm(), admin.identity, "add_admin_form",
                                 "new_admin_name", "Priya Shah",
                                 new_admin_email="priya@acme.example")
    assert slots["new_admin_name"] == "Priya Shah" and said == ""

    chosen = {"new_admin_name": "Priya Shah", "new_admin_email": "priya@acme.example"}
    dispatcher, _ = await run(ActionAskNewAdminConfirmed(), make_tracker(admin.identity,
                                                                         slots=chosen))
    assert texts(dispatcher).startswith("Make Priya Shah (priya@acme.example) an admin?")
    assert payloads(dispatcher) == ["/affirm", "/deny"]
    assert "priya@acme.example" not in admins_of(backend, admin)  # nothing before the yes

    dispatcher, events = await run(ActionAddAdmin(), make_tracker(
        admin.identity, slots={**chosen, "new_admin_confirmed": True}))
    assert texts(dispatcher).startswith("Done: Priya Shah (priya@acme.example) is now an admin")
    assert admins_of(backend, admin)["priya@acme.example"] is True
    assert slot_events(events)["new_admin_email"] is None


async def test_a_no_adds_nobody_and_a_bad_email_is_asked_again(backend):
    admin = factories.register_organisation(backend)
    said, slots = await validate(ValidateAddAdminForm(), admin.identity, "add_admin_form",
                                 "new_admin_email", "priya at acme", new_admin_name="Priya")
    assert slots["new_admin_email"] is None and "doesn't look like an email" in said
    dispatcher, _ = await run(ActionAddAdmin(), make_tracker(admin.identity, slots={
        "new_admin_name": "Priya", "new_admin_email": "priya@acme.example",
        "new_admin_confirmed": False}))
    assert texts(dispatcher) == "OK, I haven't added anyone."
    assert list(admins_of(backend, admin)) == [admin_email(backend, admin)]


def admin_email(db, admin) -> str:
    return organisations.list_admins(db, admin)[0].email


async def test_members_cannot_add_or_remove_admins(backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    for action, text, intent, loop in (
            (ValidateAddAdminForm(), "make me an admin", "add_admin", "add_admin_form"),
            (ValidateRemoveAdminForm(), "remove an admin", "remove_admin", "remove_admin_form")):
        dispatcher, events = await run(action, form(member.identity, text, intent, loop))
        assert texts(dispatcher).startswith("Only your organisation's admins can")
        assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert len(admins_of(backend, admin)) == 1


# ------------------------------------------------------------------ removing an admin

async def test_remove_sam_picks_sam_confirms_and_sam_stays_a_member(backend):
    admin = factories.register_organisation(backend)
    sam = organisations.add_admin(backend, admin, name="Sam Jones", email="sam@acme.example")
    organisations.add_admin(backend, admin, name="Dana Lee", email="dana@acme.example")

    _, events = await run(ValidateRemoveAdminForm(), form(
        admin.identity, "remove sam as admin", "remove_admin", "remove_admin_form"))
    assert slot_events(events)["removed_admin_id"] == str(sam)
    dispatcher, _ = await run(ActionAskRemovedAdminConfirmed(), make_tracker(
        admin.identity, slots={"removed_admin_id": str(sam)}))
    assert texts(dispatcher).startswith("Remove Sam Jones (sam@acme.example) as an admin?")
    assert payloads(dispatcher) == ["/affirm", "/deny"]

    dispatcher, _ = await run(ActionRemoveAdmin(), make_tracker(admin.identity, slots={
        "removed_admin_id": str(sam), "removed_admin_confirmed": True}))
    assert texts(dispatcher) == ("Done: Sam Jones is no longer an admin. They stay a member of "
                                 "your organisation.")
    assert "sam@acme.example" not in admins_of(backend, admin)
    assert "dana@acme.example" in admins_of(backend, admin)


async def test_without_a_name_the_admins_are_offered_as_buttons(backend):
    admin = factories.register_organisation(backend)
    dana = organisations.add_admin(backend, admin, name="Dana Lee", email="dana@acme.example")
    _, events = await run(ValidateRemoveAdminForm(), form(
        admin.identity, "remove an admin", "remove_admin", "remove_admin_form"))
    assert "removed_admin_id" not in slot_events(events)
    dispatcher, _ = await run(ActionAskRemovedAdmin(), make_tracker(admin.identity))
    assert f'/inform{{"removed_admin_id": "{dana}"}}' in payloads(dispatcher)
    assert len(payloads(dispatcher)) == 2  # the two admins, nobody else

    said, slots = await validate(ValidateRemoveAdminForm(), admin.identity, "remove_admin_form",
                                 "removed_admin_id", str(dana))
    assert slots["removed_admin_id"] == str(dana)
    said, slots = await validate(ValidateRemoveAdminForm(), admin.identity, "remove_admin_form",
                                 "removed_admin_id", "bob")
    assert slots["removed_admin_id"] is None and "isn't one of your admins" in said


async def test_the_last_admin_is_refused_in_the_backends_words_and_stays(backend):
    admin = factories.register_organisation(backend)
    me = organisations.list_admins(backend, admin)[0]
    dispatcher, events = await run(ActionRemoveAdmin(), make_tracker(admin.identity, slots={
        "removed_admin_id": str(me.member_id), "removed_admin_confirmed": True}))
    assert texts(dispatcher) == (f"{me.name} is the organisation's only admin. Add another "
                                 "admin first, then remove this one.")
    assert slot_events(events)["removed_admin_id"] is None
    assert admins_of(backend, admin) == {me.email: True}


async def test_someone_no_longer_an_admin_is_said_plainly(backend):
    admin = factories.register_organisation(backend)
    sam = organisations.add_admin(backend, admin, name="Sam Jones", email="sam@acme.example")
    organisations.remove_admin(backend, admin, sam)  # another admin was quicker
    dispatcher, _ = await run(ActionRemoveAdmin(), make_tracker(admin.identity, slots={
        "removed_admin_id": str(sam), "removed_admin_confirmed": True}))
    assert texts(dispatcher) == ("They aren't an admin any more, so there was nothing to "
                                 "remove.")


# ------------------------------------------------------------------ topping up

def test_the_extra_sessions_in_a_request():
    assert extra_sessions_in("top up the wellbeing one by 2 sessions") == 2
    assert extra_sessions_in("give everyone on the pilot 3 more sessions") == 3
    assert extra_sessions_in("top uo the pilot by two") == 2
    assert extra_sessions_in("top up authorisation 4") is None


async def test_top_up_by_name_with_the_number_in_the_request(backend):
    admin = factories.register_organisation(backend)
    wellbeing = factories.authorisation(backend, admin, name="Wellbeing support")
    pilot = factories.authorisation(backend, admin, name="Pilot scheme")
    for text, meant, extra in (("top up the wellbeing one by 2 sessions", wellbeing, "2"),
                               ("give everyone on the pilot 3 more sessions", pilot, "3")):
        _, events = await run(ValidateTopUpForm(), form(
            admin.identity, text, "top_up_authorisation", "top_up_form"))
        assert slot_events(events)["top_up_authorisation_id"] == str(meant.id)
        assert slot_events(events)["top_up_sessions"] == extra

    chosen = {"top_up_authorisation_id": str(pilot.id), "top_up_sessions": "3"}
    dispatcher, _ = await run(ActionAskTopUpConfirmed(), make_tracker(admin.identity,
                                                                      slots=chosen))
    assert texts(dispatcher).startswith(f"Give everyone on #{pilot.id} Pilot scheme 3 more "
                                        "sessions? That makes 10 sessions per person (now 7)")
    dispatcher, events = await run(ActionTopUp(), make_tracker(
        admin.identity, slots={**chosen, "top_up_confirmed": True}))
    assert texts(dispatcher) == (f"Done: everyone on #{pilot.id} Pilot scheme now has 10 "
                                 "sessions per person.")
    assert authorisations.get(backend, admin, pilot.id).sessions_per_user == 10
    assert authorisations.get(backend, admin, wellbeing.id).sessions_per_user == 7
    assert slot_events(events)["top_up_sessions"] is None


async def test_the_number_is_asked_when_missing_and_a_no_changes_nothing(backend):
    admin = factories.register_organisation(backend)
    only = factories.authorisation(backend, admin, name="Wellbeing")
    _, events = await run(ValidateTopUpForm(), form(
        admin.identity, "top up an authorisation", "top_up_authorisation", "top_up_form"))
    assert slot_events(events)["top_up_authorisation_id"] == str(only.id)  # the only one
    assert "top_up_sessions" not in slot_events(events)
    dispatcher, _ = await run(ActionAskTopUpSessions(), make_tracker(
        admin.identity, slots={"top_up_authorisation_id": str(only.id)}))
    assert "gives 7 sessions per person. How many more" in texts(dispatcher)
    assert '/inform{"top_up_sessions": "2"}' in payloads(dispatcher)
    said, slots = await validate(ValidateTopUpForm(), admin.identity, "top_up_form",
                                 "top_up_sessions", "lots")
    assert slots["top_up_sessions"] is None and "number of extra sessions" in said
    said, slots = await validate(ValidateTopUpForm(), admin.identity, "top_up_form",
                                 "top_up_sessions", "two more")
    assert slots["top_up_sessions"] == "2"

    dispatcher, _ = await run(ActionTopUp(), make_tracker(admin.identity, slots={
        "top_up_authorisation_id": str(only.id), "top_up_sessions": "2",
        "top_up_confirmed": False}))
    assert texts(dispatcher) == "OK, I haven't changed anything."
    assert authorisations.get(backend, admin, only.id).sessions_per_user == 7


async def test_a_top_up_the_backend_refuses_is_explained_and_changes_nothing(backend):
    admin = factories.register_organisation(backend)
    item = factories.authorisation(backend, admin, name="Wellbeing")
    authorisations.change_status(backend, admin, item.id, "revoke")
    dispatcher, events = await run(ActionTopUp(), make_tracker(admin.identity, slots={
        "top_up_authorisation_id": str(item.id), "top_up_sessions": "2",
        "top_up_confirmed": True}))
    assert texts(dispatcher) == "This authorisation is revoked; create a new one instead."
    assert slot_events(events)["top_up_authorisation_id"] is None
    assert authorisations.get(backend, admin, item.id).sessions_per_user == 7
    dispatcher, events = await run(ValidateTopUpForm(), form(
        admin.identity, "top up", "top_up_authorisation", "top_up_form"))
    assert texts(dispatcher).startswith("There's no authorisation to top up.")


# ------------------------------------------------------------------ requests for more sessions

async def test_requests_are_counted_never_who_and_every_active_one_has_a_button(backend):
    admin = factories.register_organisation(backend)
    wellbeing = factories.authorisation(backend, admin, name="Wellbeing")
    pilot = factories.authorisation(backend, admin, name="Pilot")
    paused = factories.authorisation(backend, admin, name="Old")
    authorisations.change_status(backend, admin, paused.id, "pause")
    dispatcher, _ = await run(ActionListMoreSessionsRequests(), make_tracker(admin.identity))
    assert texts(dispatcher).startswith("Nobody has asked for more sessions this month.")

    member = factories.add_member(backend, admin.organisation_id, email="ben@acme.example")
    more_sessions.ask(backend, member, SECRET)
    dispatcher, _ = await run(ActionListMoreSessionsRequests(), make_tracker(admin.identity))
    said = texts(dispatcher)
    assert said.startswith("1 person has asked for more sessions this month. Who asked is "
                           "never shown")
    assert "ben" not in said.lower() and "Person" not in said
    assert payloads(dispatcher) == [
        f'/top_up_authorisation{{"top_up_authorisation_id": "{i.id}"}}'
        for i in (wellbeing, pilot)]

    # The button starts the top-up of that authorisation: the number is asked next.
    _, events = await run(ValidateTopUpForm(), pressed(payloads(dispatcher)[1], admin.identity))
    assert slot_events(events).get("top_up_authorisation_id", str(pilot.id)) == str(pilot.id)
    assert "top_up_sessions" not in slot_events(events)


async def test_past_eight_authorisations_the_newest_get_top_up_buttons(backend):
    admin = factories.register_organisation(backend)
    ids = [factories.authorisation(backend, admin).id for _ in range(9)]
    expected = [f'"top_up_authorisation_id": "{i}"}}' for i in ids[1:]]
    dispatcher, _ = await run(ActionListMoreSessionsRequests(), make_tracker(admin.identity))
    assert [p.partition("{")[2] for p in payloads(dispatcher)] == expected
    assert "newest 8 of 9; for another, say 'top up'." in texts(dispatcher)
    dispatcher, _ = await run(ActionAskTopUpAuthorisation(), make_tracker(admin.identity))
    assert [p.partition("{")[2] for p in payloads(dispatcher)] == expected
    assert "newest 8 of 9; for another, type its number." in texts(dispatcher)


async def test_members_cannot_see_the_requests(backend):
    admin = factories.register_organisation(backend)
    member = factories.add_member(backend, admin.organisation_id)
    dispatcher, _ = await run(ActionListMoreSessionsRequests(), make_tracker(member.identity))
    assert texts(dispatcher).startswith("Only your organisation's admins can see requests")
