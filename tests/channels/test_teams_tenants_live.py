"""Teams per tenant in the running service (backend, action server, Rasa as users start them):
two organisations' admins connect their tenants through "Connect Microsoft Teams" (the Microsoft
login stand-in's admin consent and OpenID sign-in, answered and signed as Microsoft does), then
a member of each speaks to the bot in Teams at the same time and each is served as their own
organisation's. Someone of a tenant no organisation connected is told, in Teams, that their
organisation's admin connects Teams from the portal, and nothing reaches the bot; a message of
theirs that suggests a risk still gets the crisis answer."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass

import aiohttp
import pytest

from backend.models import Member
from backend.services import actors, invites
from channels.teams_protocol import PAYLOAD_KEY
from channels.teams_tenants import NOT_CONNECTED
from tests.backend import factories
from tests.channels.conftest import TEAMS_APP_ID, ChannelWorld
from tests.channels.standins import teams_activity, wait_for
from tests.channels.test_teams_live import _post, _token

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class Tenant:
    tenant: str
    organisation_id: int
    admin_member_id: int
    member_aad: str
    sessions: int


def _organisation(world: ChannelWorld, suffix: str, sessions: int) -> Tenant:
    db = world.stack.database()
    try:
        admin = factories.register_organisation(db, f"Org {suffix}")
        authorisation = factories.authorisation(db, admin, sessions_per_user=sessions,
                                                user_limit=5)
        email = f"member@{suffix.lower()}.example"
        member = factories.add_member(db, admin.organisation_id, email=email)
        invite = invites.create(db, admin, authorisation.id)
        invites.redeem(db, actors.resolve(db, member.identity), invite.code)
        with db.reader() as session:
            assert session.get(Member, member.member_id) is not None
    finally:
        db.dispose()
    tenant = str(uuid.uuid4())
    aad = f"aad-{suffix.lower()}"
    world.connector.members[f"29:{aad}"] = {
        "id": f"29:{aad}", "name": f"Member {suffix}", "aadObjectId": aad, "email": email,
        "userPrincipalName": email, "tenantId": tenant}
    return Tenant(tenant, admin.organisation_id, admin.member_id, aad, sessions)


async def _connect(world: ChannelWorld, tenant: Tenant) -> None:
    """The admin's browser: dev sign-in, "Connect Microsoft Teams", Accept, signed in with
    Microsoft (the stand-in's ID token names the tenant), back to the portal."""
    base = world.stack.backend_url
    origin = {"Origin": base}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{base}/portal/api/session") as answer:
            csrf = (await answer.json())["csrf_token"]
        headers = {**origin, "X-CSRF-Token": csrf}
        async with browser.post(f"{base}/portal/api/dev-login",
                                json={"member_id": tenant.admin_member_id},
                                headers=headers) as answer:
            assert answer.status == 200, await answer.text()
        async with browser.post(f"{base}/portal/api/teams/consent", headers=headers) as answer:
            assert answer.status == 200, await answer.text()
            consent_url = (await answer.json())["consent_url"]
        world.login.consenting = tenant.tenant
        async with browser.get(consent_url) as answer:
            accept = (await answer.text()).split("id=accept href='", 1)[1].split("'", 1)[0]
        login_base = consent_url.split("/organizations/", 1)[0]
        async with browser.get(login_base + accept, allow_redirects=False) as answer:
            back = answer.headers["Location"]
        async with browser.get(back, allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()
            sign_in = answer.headers["Location"]
        assert sign_in.startswith(f"{login_base}/organizations/oauth2/v2.0/authorize?")
        async with browser.get(sign_in, allow_redirects=False) as answer:
            assert answer.status == 302, await answer.text()
            signed_in = answer.headers["Location"]
        async with browser.get(signed_in, allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()
            assert answer.headers["Location"] == "/portal?teams=connected"


def _text_of(replies: list[dict]) -> str:
    return " ".join((reply.get("text") or "") + json.dumps(reply.get("attachments") or [])
                    for reply in replies)


def _say(world: ChannelWorld, tenant: str, aad: str, text: str = "",
         value: dict | None = None, conversation: str | None = None) -> str:
    activity = teams_activity(world.connector_url, tenant=tenant, aad=aad, app_id=TEAMS_APP_ID,
                              text=text, value=value, conversation=conversation)
    assert _post(world, activity, _token(world))[0] == 200
    return activity["conversation"]["id"]


def _replies(world: ChannelWorld, conversation: str, count: int, timeout: float = 90):
    return wait_for(lambda: (found := world.connector.replies_to(conversation))
                    and len(found) >= count and found, timeout)


def _remaining(world: ChannelWorld, tenant: Tenant) -> str:
    conversation = _say(world, tenant.tenant, tenant.member_aad,
                        value={PAYLOAD_KEY: "/ask_remaining_sessions"})
    _replies(world, conversation, 1)
    time.sleep(2)  # all of the turn's replies
    return _text_of(world.connector.replies_to(conversation))


def test_two_organisations_tenants_are_served_at_once(channel_world):
    first = _organisation(channel_world, f"Fab{uuid.uuid4().hex[:4]}", sessions=7)
    second = _organisation(channel_world, f"Ini{uuid.uuid4().hex[:4]}", sessions=3)
    for tenant in (first, second):
        asyncio.run(_connect(channel_world, tenant))

    async def both() -> list[str]:
        return await asyncio.gather(*(asyncio.to_thread(_remaining, channel_world, tenant)
                                      for tenant in (first, second)))

    first_said, second_said = asyncio.run(both())

    assert NOT_CONNECTED not in first_said and NOT_CONNECTED not in second_said
    assert "7 of 7 sessions left" in first_said and "3 of 3" not in first_said, first_said
    assert "3 of 3 sessions left" in second_said and "7 of 7" not in second_said, second_said
    for tenant in (first, second):
        tracker = channel_world.stack.tracker(f"teams:{tenant.tenant}:{tenant.member_aad}")
        assert any(event["event"] == "user" for event in tracker["events"])


def test_an_unconnected_tenant_is_told_how_to_connect_and_a_risk_still_gets_help(
        channel_world):
    tenant, aad = str(uuid.uuid4()), "aad-stranger"
    conversation = _say(channel_world, tenant, aad, text="hello, I'd like to book a session")
    [told] = _replies(channel_world, conversation, 1)
    time.sleep(2)
    assert channel_world.connector.replies_to(conversation) == [told]
    assert told["text"] == NOT_CONNECTED
    assert told["replyToId"]
    tracker = channel_world.stack.tracker(f"teams:{tenant}:{aad}")
    assert not any(event["event"] == "user" for event in tracker["events"])

    crisis = _say(channel_world, tenant, aad, text="I want to end my life",
                  conversation=conversation)
    assert crisis == conversation
    replies = _replies(channel_world, conversation, 2)
    assert NOT_CONNECTED not in _text_of(replies[1:])
    assert "116 123" in _text_of(replies[1:]), replies[1:]
