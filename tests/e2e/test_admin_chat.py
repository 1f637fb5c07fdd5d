"""An admin's team and sessions by chat, over the development REST channel (tests/stack.py): an
admin adds another admin and removes them again, a member asks for more sessions anonymously, and
the admin sees the request and tops up an authorisation with its button. The backend's HTTP API
then shows what changed."""

from __future__ import annotations

import aiohttp
import pytest

from tests.e2e.backend_api import ADMIN, BackendApi
from tests.e2e.chat import RestChat, button_for, mentions, new_sender, offered, text_of
from tests.stack import Stack, stack_factory  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(stack_factory) -> Stack:  # noqa: F811
    return stack_factory("admin-chat", rasa_env={"DEV_TRUST_SENDER": "true"})


async def admin_emails(backend: BackendApi) -> set[str]:
    return {a["email"] for a in (await backend.get("/organisation/admins", ADMIN))["admins"]}


async def test_an_admin_adds_and_removes_another_admin_by_chat(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    admin = RestChat(http, stack.rasa_url, "alice")
    await admin.say("please add priya@widgets.example as an admin")
    assert mentions(r"name of the person with priya@widgets\.example")(admin.replies), \
        admin.transcript()
    await admin.say("Priya Shah")
    assert button_for(admin.replies, "affirm"), admin.transcript()
    assert "priya@widgets.example" not in await admin_emails(backend)
    await admin.say("/affirm")
    assert mentions(r"Done: Priya Shah \(priya@widgets\.example\) is now an admin")(
        admin.replies), admin.transcript()
    assert "priya@widgets.example" in await admin_emails(backend)

    await admin.say("remove priya as admin")
    assert mentions(r"Remove Priya Shah \(priya@widgets\.example\) as an admin\?")(
        admin.replies), admin.transcript()
    await admin.say("/affirm")
    assert mentions(r"Priya Shah is no longer an admin")(admin.replies), admin.transcript()
    assert "priya@widgets.example" not in await admin_emails(backend)


async def test_a_members_anonymous_ask_reaches_the_admin_who_tops_up_with_a_button(
        stack: Stack, http: aiohttp.ClientSession, backend: BackendApi):
    authorisation = await backend.create_authorisation(sessions_per_user=7)
    code = await backend.create_invite(authorisation["id"])
    member = RestChat(http, stack.rasa_url, new_sender("member"))
    await member.say(f"hi, my invite code is {code}")
    assert mentions(r"organisation pays")(member.replies), member.transcript()
    await member.say("i've used all my sessions, can i get more")
    assert mentions(r"told your organisation's admins")(member.replies), member.transcript()

    admin = RestChat(http, stack.rasa_url, "alice")
    await admin.say("show requests for more sessions")
    said = text_of(admin.replies)
    assert "asked for more sessions this month" in said, admin.transcript()
    assert member.sender not in said and "Who asked is never shown" in said
    buttons = {b.entities["top_up_authorisation_id"]: b
               for b in offered(admin.replies, "top_up_authorisation_id")}
    assert str(authorisation["id"]) in buttons, admin.transcript()

    await admin.say(buttons[str(authorisation["id"])].payload)
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
