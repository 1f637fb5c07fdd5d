"""An admin's team, invites, settings and sessions by chat: an admin adds another admin and
removes them again; is greeted with admin actions, creates an invite that works for ten days,
lists the invites and revokes it (its code then works no more); changes the organisation's
cancellation window, which its members are then told; a member asks for more sessions
anonymously, and the admin sees the request and tops up an authorisation with its button. The
backend's HTTP API then shows what changed.

Each conversation is written against tests.e2e.people, and runs here over the development REST
channel and in tests/channels/test_conversations_slack_live.py over Slack."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.backend_api import ADMIN, BackendApi
from tests.e2e.chat import (
    button_for,
    buttons_of,
    drive,
    invite_code_in,
    mentions,
    offered,
    press_offered,
    text_of,
    when_asked,
)
from tests.e2e.people import People, each_over_people

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def admin_emails(backend: BackendApi) -> set[str]:
    return {a["email"] for a in (await backend.get("/organisation/admins", ADMIN))["admins"]}


async def an_admin_adds_and_removes_another_admin(people: People) -> None:
    admin, backend = people.admin(), people.backend
    await admin.say("please add priya@widgets.example as an admin")
    assert mentions(r"name of the person with priya@widgets\.example")(admin.replies), \
        admin.transcript()
    await admin.say("Priya Shah")
    yes = button_for(admin.replies, "affirm")
    assert yes, admin.transcript()
    assert "priya@widgets.example" not in await admin_emails(backend)
    await admin.press(yes)
    assert mentions(r"Done: Priya Shah \(priya@widgets\.example\) is now an admin")(
        admin.replies), admin.transcript()
    assert "priya@widgets.example" in await admin_emails(backend)

    await admin.say("remove priya as admin")
    assert mentions(r"Remove Priya Shah \(priya@widgets\.example\) as an admin\?")(
        admin.replies), admin.transcript()
    yes = button_for(admin.replies, "affirm")
    assert yes, admin.transcript()
    await admin.press(yes)
    assert mentions(r"Priya Shah is no longer an admin")(admin.replies), admin.transcript()
    assert "priya@widgets.example" not in await admin_emails(backend)


async def a_members_anonymous_ask_reaches_the_admin_who_tops_up_with_a_button(
        people: People) -> None:
    backend = people.backend
    authorisation = await backend.create_authorisation(sessions_per_user=7)
    code = await backend.create_invite(authorisation["id"])
    member = people.newcomer("member")
    await member.say(f"hi, my invite code is {code}")
    assert mentions(r"organisation pays")(member.replies), member.transcript()
    await member.say("i've used all my sessions, can i get more")
    assert mentions(r"told your organisation's admins")(member.replies), member.transcript()

    admin = people.admin()
    await admin.say("show requests for more sessions")
    said = text_of(admin.replies)
    assert "asked for more sessions this month" in said, admin.transcript()
    assert member.sender not in said and "Who asked is never shown" in said
    buttons = {b.entities["top_up_authorisation_id"]: b
               for b in offered(admin.replies, "top_up_authorisation_id")}
    assert str(authorisation["id"]) in buttons, admin.transcript()

    await admin.press(buttons[str(authorisation["id"])])
    assert mentions(r"gives 7 sessions per person\. How many more")(admin.replies), \
        admin.transcript()
    await admin.say("two more")
    assert mentions(r"That makes 9 sessions per person \(now 7\)")(admin.replies), \
        admin.transcript()
    assert (await backend.get(f"/authorisations/{authorisation['id']}",
                              ADMIN))["sessions_per_user"] == 7  # nothing before the yes
    await admin.say("yes")
    assert mentions(r"now has 9 sessions per person")(admin.replies), admin.transcript()
    assert (await backend.get(f"/authorisations/{authorisation['id']}",
                              ADMIN))["sessions_per_user"] == 9


async def a_greeted_admin_invites_for_ten_days_then_lists_and_revokes_the_invite(
        people: People) -> None:
    backend = people.backend
    authorisation = await backend.create_authorisation()
    admin = people.admin()
    greeting = await admin.say("hello", kind="greet")
    assert mentions(r"As your organisation's admin")(greeting), admin.transcript()
    assert {"create_invite", "list_invites", "list_authorisations"} <= {
        b.intent for b in buttons_of(greeting)}, admin.transcript()

    create = button_for(greeting, "create_invite")
    assert create is not None
    await admin.press(create, kind="create_invite")
    await drive(admin, [press_offered("authorisation", "authorisation_id",
                                      str(authorisation["id"])),
                        when_asked("expiry", r"how long should the code work", "10 days"),
                        when_asked("email", r"email", "no")],
                done=lambda replies: invite_code_in(replies) is not None)
    code = invite_code_in(admin.replies)
    path = f"/authorisations/{authorisation['id']}/invites"
    [invite] = (await backend.get(path, ADMIN))["invites"]
    lasts = datetime.fromisoformat(invite["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(days=9) < lasts <= timedelta(days=10), invite

    listed = await admin.say("which invites are still open", kind="list_invites")
    assert mentions(re.escape(f"#{invite['id']} …{invite['code_hint']}") + r" \(.*\): open "
                    r"until")(listed), admin.transcript()
    revoke = next((b for b in buttons_of(listed) if b.intent == "revoke_invite"
                   and int(b.entities["invite_id"]) == invite["id"]), None)
    assert revoke is not None, admin.transcript()
    assert mentions(rf"Invite #{invite['id']} \(…{invite['code_hint']}\) is revoked")(
        await admin.press(revoke, kind="revoke")), admin.transcript()
    assert [i["state"] for i in (await backend.get(path, ADMIN))["invites"]] == ["revoked"]

    too_late = people.newcomer("too-late")
    refused = await too_late.say(f"my invite code is {code}", kind="redeem")
    assert mentions(r"This invite code has been revoked")(refused), too_late.transcript()
    assert not mentions(r"organisation pays")(refused), too_late.transcript()


async def an_admin_changes_the_cancellation_window_and_a_member_is_told_it(
        people: People) -> None:
    admin, backend = people.admin(), people.backend
    before = (await backend.get("/organisation", ADMIN))["cancellation_window_hours"]
    asked = await admin.say("set the cancellation window to 36 hours", kind="window")
    yes = button_for(asked, "affirm")
    assert yes is not None and yes.title == "Yes, 36 hours", admin.transcript()
    assert (await backend.get("/organisation", ADMIN))["cancellation_window_hours"] == before
    assert mentions(r"Done: members can now cancel free of charge up to 36 hours")(
        await admin.press(yes, kind="confirm")), admin.transcript()
    assert (await backend.get("/organisation", ADMIN))["cancellation_window_hours"] == 36
    try:
        member = people.demo("ben")
        told = await member.say("what is the cancellation policy?", kind="ask")
        assert mentions(r"cancel up to 36 hours before a session \(the window in force at "
                        r"Northwind")(told), member.transcript()
    finally:  # the service's window again, for the other conversations on this stack
        policies = await backend.get("/policies", ADMIN)
        await backend.post("/organisation/cancellation-window", ADMIN,
                           {"hours": before or policies["cancellation_window_hours"]})


CONVERSATIONS = [an_admin_adds_and_removes_another_admin,
                 a_greeted_admin_invites_for_ten_days_then_lists_and_revokes_the_invite,
                 an_admin_changes_the_cancellation_window_and_a_member_is_told_it,
                 a_members_anonymous_ask_reaches_the_admin_who_tops_up_with_a_button]


test_over_the_dev_channel = each_over_people(CONVERSATIONS)
