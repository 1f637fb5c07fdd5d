"""Two organisations, each with its own Slack workspace installed through "Add to Slack", book
sessions at the same time in one running service (backend, action server, Rasa, dispatcher as
users start them); every call to Slack for a workspace carries that workspace's own token, and
the tokens are not readable in the database. Then one workspace uninstalls the app: Slack's
signed app_uninstalled event disconnects it, its token is deleted and its people can act no more.

The channels stack keeps SLACK_BOT_TOKEN, the single-workspace fallback of older set-ups, which
the stand-in lets reach every workspace: after the uninstall, the person is therefore answered
with it (and told the workspace is not connected), never with the revoked token. Without the
fallback, nothing can reach them and the message is logged and dropped."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass

import aiohttp
import pytest
from sqlalchemy import select, text

from backend.domain.enums import BookingStatus
from backend.models import Booking, Member, Organisation, SlackInstallation
from backend.services import actors, invites
from tests.backend import factories
from tests.channels.conftest import SLACK_TOKEN, ChannelWorld
from tests.channels.slack_chat import SlackChat
from tests.channels.test_slack_live import _post
from tests.e2e.chat import Choose, Reply, drive, member_booking_steps, mentions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEARCH = "I'm looking for someone to help with anxiety, by video, on weekday evenings"


@dataclass
class Workspace:
    team: str
    name: str
    organisation_id: int
    admin_member_id: int
    member_id: int
    admin_user: str
    member_user: str
    token: str = ""


def _organisation(world: ChannelWorld, suffix: str) -> Workspace:
    db = world.stack.database()
    try:
        admin = factories.register_organisation(db, f"Org {suffix}")
        authorisation = factories.authorisation(db, admin, sessions_per_user=7, user_limit=5)
        member_email = f"member@{suffix.lower()}.example"
        member = factories.add_member(db, admin.organisation_id, email=member_email)
        invite = invites.create(db, admin, authorisation.id)
        invites.redeem(db, actors.resolve(db, member.identity), invite.code)
        with db.reader() as session:
            admin_email = session.get(Member, admin.member_id).email
    finally:
        db.dispose()
    team = f"T{suffix}"
    workspace = Workspace(team, f"{suffix} HQ", admin.organisation_id, admin.member_id,
                          member.member_id, f"UADM{suffix}", f"UMEM{suffix}")
    world.slack.add_user(team, workspace.admin_user, admin_email, "Admin")
    world.slack.add_user(team, workspace.member_user, member_email, f"Member {suffix}")
    return workspace


async def _install(world: ChannelWorld, workspace: Workspace) -> None:
    """The admin's browser: dev sign-in, "Add to Slack", Allow, back to the portal."""
    base = world.stack.backend_url
    origin = {"Origin": base}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{base}/portal/api/session") as answer:
            csrf = (await answer.json())["csrf_token"]
        async with browser.post(f"{base}/portal/api/dev-login",
                                json={"member_id": workspace.admin_member_id},
                                headers={**origin, "X-CSRF-Token": csrf}) as answer:
            assert answer.status == 200, await answer.text()
        async with browser.post(f"{base}/portal/api/slack/install",
                                headers={**origin, "X-CSRF-Token": csrf}) as answer:
            assert answer.status == 200, await answer.text()
            authorize_url = (await answer.json())["authorize_url"]
        world.slack.installing = (workspace.team, workspace.name, workspace.admin_user)
        async with browser.get(authorize_url) as answer:
            allow = (await answer.text()).split("href='", 1)[1].split("'", 1)[0]
        slack_base = authorize_url.split("/oauth/", 1)[0]
        async with browser.get(slack_base + allow, allow_redirects=False) as answer:
            back = answer.headers["Location"]
        async with browser.get(back, allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()
            assert answer.headers["Location"] == "/portal?slack=connected"
    workspace.token = next(exchange["token"] for exchange in world.slack.exchanges
                           if exchange["team_id"] == workspace.team)


async def _book(chat: SlackChat, choose: Choose) -> tuple[Reply, ...]:
    await chat.say(SEARCH, kind="search")
    return await drive(chat, member_booking_steps(choose_therapist=choose),
                       done=mentions(r"Requested"))


def _bookings(world: ChannelWorld, member_id: int) -> list[Booking]:
    db = world.stack.database()
    try:
        with db.reader() as session:
            return list(session.scalars(select(Booking).where(Booking.member_id == member_id)))
    finally:
        db.dispose()


def _uninstalled(world: ChannelWorld, team: str) -> tuple[int, bytes, float]:
    envelope = {"type": "event_callback", "team_id": team, "api_app_id": "A1",
                "event_id": f"Ev{uuid.uuid4().hex[:10]}", "event_time": 1,
                "event": {"type": "app_uninstalled"}}
    return _post(world, json.dumps(envelope).encode(), "application/json")


async def test_two_organisations_book_at_once_each_in_its_own_workspace(channel_world):
    world = channel_world
    acme, globex = _organisation(world, "ACME"), _organisation(world, "GLOBEX")
    await _install(world, acme)
    await _install(world, globex)
    # Each admin was welcomed in their own workspace, with its token.
    for workspace in (acme, globex):
        assert world.slack.tokens_posting_to(f"D{workspace.admin_user}") == [workspace.token]

    chats = [SlackChat(world, acme.member_user, team=acme.team),
             SlackChat(world, globex.member_user, team=globex.team)]
    # Different therapists: the same slot cannot be booked twice (the second is told it has
    # just been taken), which is not what this test is about.
    booked = await asyncio.gather(_book(chats[0], lambda buttons: buttons[0]),
                                  _book(chats[1], lambda buttons: buttons[-1]))

    for chat, replies, workspace in zip(chats, booked, (acme, globex), strict=True):
        assert mentions(r"organisation pays")(replies), chat.transcript()
        [booking] = _bookings(world, workspace.member_id)
        assert booking.status is BookingStatus.REQUESTED
        # Everything said to this person went out with their workspace's token only.
        used = set(world.slack.tokens_posting_to(f"D{workspace.member_user}"))
        assert used == {workspace.token}, chat.transcript()
        asked = {token for method, token, args in world.slack.calls_with
                 if method == "users.info" and args.get("user") == workspace.member_user}
        assert asked == {workspace.token}
    db = world.stack.database()
    try:
        with db.reader() as session:
            stored = " ".join(session.execute(text(
                "SELECT bot_token_sealed FROM slack_installations")).scalars())
            connected = dict(session.execute(select(Organisation.id, Organisation.slack_team_id)
                                             .where(Organisation.id.in_(
                                                 [acme.organisation_id,
                                                  globex.organisation_id]))).all())
    finally:
        db.dispose()
    assert acme.token not in stored and globex.token not in stored
    assert connected == {acme.organisation_id: acme.team, globex.organisation_id: globex.team}

    # ACME uninstalls the app: Slack revokes the token and tells the app.
    world.slack.uninstall(acme.team)
    status, _, _ = _uninstalled(world, acme.team)
    assert status == 200
    db = world.stack.database()
    try:
        with db.reader() as session:
            assert session.scalar(select(SlackInstallation).where(
                SlackInstallation.team_id == acme.team)) is None
            assert session.get(Organisation, acme.organisation_id).slack_team_id is None
    finally:
        db.dispose()
    acme_chat = chats[0]
    replies = await acme_chat.say("how many sessions do I have left?", kind="after")
    assert "isn't connected to an organisation" in replies[0].text, acme_chat.transcript()
    later = world.slack.tokens_posting_to(f"D{acme.member_user}")[-len(replies):]
    assert set(later) == {SLACK_TOKEN}  # the fallback, never the revoked token
    assert len(_bookings(world, acme.member_id)) == 1
    db = world.stack.database()
    try:
        assert actors.resolve(db, acme_chat.sender).member_id is None  # acts for nobody now
    finally:
        db.dispose()
    # GLOBEX goes on with its own token.
    replies = await chats[1].say("how many sessions do I have left?", kind="after")
    assert "6" in " ".join(reply.text for reply in replies), chats[1].transcript()
    assert world.slack.tokens_posting_to(f"D{globex.member_user}")[-1] == globex.token
