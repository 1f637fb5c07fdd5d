"""The portal page and its chat widget in headless Chromium, against the real processes.

Debian's Chromium (scripts/ensure-chromium.sh, `make browser`) driven by Playwright; the
backend, action server and Rasa server (with the webchat channel) come from tests/stack.py and
need a trained model (`make train`). Development sign-in is off: a demo member signs in by the
one-time link mailed to her (a real SMTP server, tests/mail_server.py), redeems an invite and
books a session only by typing and clicking the widget's buttons; the booking is then checked in
the backend, a screenshot is kept in artifacts/, a reload shows the conversation again, signing
out in another tab closes the chat, and an anonymous visitor is refused acting on an organisation.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from datetime import datetime, timedelta, timezone

import aiohttp
import jwt
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from backend.api import portal_auth
from backend.domain.enums import BookingStatus
from backend.models import Booking, ChatIdentity, Grant, Invite, Member, Organisation, Voucher
from backend.seed import DEMO_DOMAIN, DEMO_INVITE_CODE, DEMO_ORGANISATION
from backend.services.signin import embed
from contracts import web_identity
from contracts.web_identity import TokenConfig, WebIdentity
from tests.e2e.widget import (  # noqa: F401  (checked_page: the `page` fixture)
    ENCRYPTION_KEY,
    REPLY_TIMEOUT_MS,
    SECRET,
    Widget,
    checked_page,
    sign_in,
)
from tests.mail_server import Inbox
from tests.stack import REPO, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"
CHLOE = "Chloe Evans"
CHLOE_EMAIL = f"chloe@{DEMO_DOMAIN}"
RASA_METADATA = {"model_id", "assistant_id"}



def test_a_member_redeems_an_invite_and_books_through_the_widget(web_stack: Stack, page: Page,
                                                                 inbox: Inbox):
    sign_in(page, web_stack.backend_url, inbox, CHLOE_EMAIL, CHLOE)
    widget = Widget(page)
    widget.open(f"Connected as {CHLOE}")

    widget.say(f"redeem {DEMO_INVITE_CODE}", r"You're in")
    widget.choose("Find a therapist", r"What would you like help with")
    widget.say("anxiety", r"How would you like to meet")
    widget.choose("Video", r"When suits you")
    widget.say("any time", r"Therapists for")
    widget.choose(re.compile(r"^1\. "), r"next free times")
    widget.choose(re.compile(r"\d"), r"Book it\?")
    confirmation = widget.choose("Book it", r"Requested:")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-widget-booking.png"), full_page=True)

    db = web_stack.database()
    try:
        with db.reader() as session:
            chloe = session.scalar(select(Member).where(Member.name == CHLOE))
            bookings = session.scalars(select(Booking).where(Booking.member_id == chloe.id)).all()
            paid_by = session.scalar(
                select(Grant.member_id).join(Voucher, Voucher.grant_id == Grant.id)
                .where(Voucher.booking_id == bookings[0].id))
            invite_redeemer = session.scalar(select(Invite.redeemed_by_member_id)
                                             .where(Invite.email == chloe.email))
            web_link = session.scalar(select(ChatIdentity.member_id).where(
                ChatIdentity.channel == "web", ChatIdentity.external_id == str(chloe.id)))
    finally:
        db.dispose()
    assert invite_redeemer == chloe.id
    assert web_link == chloe.id
    assert len(bookings) == 1
    assert bookings[0].status is BookingStatus.REQUESTED
    assert paid_by == chloe.id  # a voucher on the grant the invite gave her
    assert "Your organisation pays" in confirmation

    # The conversation is keyed by Chloe's verified identity: its tracker holds it all.
    said = user_events(web_stack, f"web:{chloe.id}")
    assert said[0]["text"] == f"redeem {DEMO_INVITE_CODE}"
    assert all(channel_metadata(event) == {"identity": f"web:{chloe.id}",
                                           "verified_email": chloe.email} for event in said)

    # A reload shows the same conversation, with spent choices no longer clickable.
    page.reload()
    log = Widget(page).log
    expect(log).to_contain_text(f"redeem {DEMO_INVITE_CODE}", timeout=REPLY_TIMEOUT_MS)
    expect(log).to_contain_text("Requested:")
    expect(log.locator(".msg-user").filter(has_text="Book it")).to_have_count(1)
    expect(log.get_by_role("button", name="Book it")).to_be_disabled()
    expect(page.get_by_label("Your message")).to_be_visible()  # the panel stayed open


def test_signing_out_in_another_tab_closes_the_chat(web_stack: Stack, page: Page,
                                                    inbox: Inbox):
    sign_in(page, web_stack.backend_url, inbox, "ben@northwind.example", "Ben Okafor")
    Widget(page).open("Connected as Ben Okafor")
    other_tab = page.context.new_page()
    other_tab.goto(f"{web_stack.backend_url}/portal")

    other_tab.get_by_role("button", name="Sign out").click()

    expect(other_tab.get_by_label("Email address")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="signed out")).to_contain_text(
        "You signed out", timeout=15_000)
    page.reload()  # the panel stays open; the chat is anonymous now
    expect(page.get_by_role("status").filter(has_text="Connected")).to_contain_text(
        "You are not signed in", timeout=REPLY_TIMEOUT_MS)


def test_a_link_opened_in_another_browser_does_not_sign_in(web_stack: Stack, page: Page,
                                                           inbox: Inbox):
    page.goto(f"{web_stack.backend_url}/portal")
    page.get_by_label("Email address").fill(CHLOE_EMAIL)
    already = len(inbox.to(CHLOE_EMAIL))
    page.get_by_role("button", name="Email me a sign-in link").click()
    link = inbox.link_in(inbox.wait_for(CHLOE_EMAIL, already + 1))
    other = page.context.browser.new_context().new_page()  # another browser profile

    other.goto(link)

    expect(other.locator("#sign-in-refused")).to_contain_text("browser where you asked")
    other.context.close()
    page.goto(link)  # still good in the browser that asked
    expect(page.locator("#signed-in-as")).to_contain_text(f"Signed in as {CHLOE}")


def embed_key(stack: Stack, organisation_id: int) -> str:
    """A new embed key, made as an operator does (`python -m backend embed-key`)."""
    made = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-m", "backend", "embed-key", "--organisation",
         str(organisation_id)], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DATABASE_URL": stack.database_url,
             "SIGNIN_ENCRYPTION_KEY": ENCRYPTION_KEY}, check=True)
    return made.stdout.strip().splitlines()[-1]


def test_the_widget_embedded_on_an_intranet_speaks_as_its_employee(web_stack: Stack, page: Page,
                                                                   intranet):
    site, intranet_url = intranet
    db = web_stack.database()
    try:
        with db.reader() as session:
            organisation_id = session.scalar(select(Organisation.id).where(
                Organisation.name == DEMO_ORGANISATION))
    finally:
        db.dispose()
    key = embed_key(web_stack, organisation_id)
    now = datetime.now(timezone.utc)
    # What the intranet's server does for its signed-in employee (the README's snippet).
    token = jwt.encode({"iss": str(organisation_id), "aud": embed.AUDIENCE, "sub": "emp-7",
                        "email": f"erin@{DEMO_DOMAIN}", "name": "Erin Walsh", "iat": now,
                        "exp": now + timedelta(minutes=10)}, key, algorithm="HS256")
    site.html = (f'<!doctype html><html lang="en"><head><title>Northwind intranet</title>'
                 f'<link rel="icon" href="data:,">'
                 f'<link rel="stylesheet" href="{web_stack.backend_url}/portal/assets/portal.css">'
                 f'</head><body><h1>Northwind intranet</h1><div id="therapy-chat"></div>'
                 f'<script src="{web_stack.backend_url}/portal/assets/embed.js" '
                 f'data-organisation="{organisation_id}" data-identity-token="{token}">'
                 f'</script></body></html>')

    page.goto(intranet_url)
    widget = Widget(page)
    widget.open("Connected as yourself")
    widget.say("hello", ".")

    erin = demo_member(web_stack, "Erin Walsh")
    assert erin.email == f"erin@{DEMO_DOMAIN}" and erin.organisation_id == organisation_id
    said = user_events(web_stack, f"web:{erin.id}")
    assert said[-1]["text"] == "hello"
    assert channel_metadata(said[-1]) == {"identity": f"web:{erin.id}",
                                          "verified_email": erin.email}


def test_an_anonymous_visitor_can_ask_but_cannot_act(web_stack: Stack, page: Page):
    page.goto(f"{web_stack.backend_url}/portal")
    widget = Widget(page)
    widget.open("You are not signed in")

    refusal = widget.say("redeem 7KQ2M-X9D4R", r"hasn't told me who you are")

    assert "sign in on the website" in refusal
    db = web_stack.database()
    try:
        with db.reader() as session:
            anonymous_links = session.scalar(select(func.count(ChatIdentity.id)).where(
                ChatIdentity.external_id.like("web-anon%")))
    finally:
        db.dispose()
    assert anonymous_links == 0


def test_card_numbers_never_reach_the_assistant(web_stack: Stack, page: Page):
    page.goto(f"{web_stack.backend_url}/portal")
    widget = Widget(page)
    widget.open("You are not signed in")
    before = widget.bot_count()

    widget.page.get_by_label("Your message").fill("my card is 4242 4242 4242 4242")
    widget.page.get_by_label("Your message").press("Enter")

    expect(widget.log.locator(".msg-user").last).to_have_text(
        "You said: my card is [card number removed]", timeout=REPLY_TIMEOUT_MS)
    widget.wait_for_reply(before, ".")
    assert "4242" not in widget.log.inner_text()


# --- The channel's socket.io protocol, spoken directly (Engine.IO 4 over a WebSocket) ---------


class SocketClient:
    """Just enough of socket.io's wire format: "0" open, "40" connect (with auth), "44" refusal,
    "42" events, "2"/"3" ping/pong."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def connect(cls, session, stack: Stack, auth: dict | None,
                      origin: str | None) -> tuple[SocketClient, dict]:
        url = stack.rasa_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        ws = await session.ws_connect(url, headers={"Origin": origin} if origin else {})
        client = cls(ws)
        opened = await client._packet()
        assert opened.startswith("0")
        await ws.send_str("40" + json.dumps(auth or {}))
        answer = await client._packet()
        kind, payload = answer[:2], json.loads(answer[2:] or "{}")
        assert kind in ("40", "44"), answer
        return client, {"accepted": kind == "40", **payload}

    async def _packet(self) -> str:
        while True:
            message = await asyncio.wait_for(self.ws.receive(), timeout=REPLY_TIMEOUT_MS / 1000)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket closed: {message}")
            if message.data == "2":
                await self.ws.send_str("3")
                continue
            return message.data

    async def emit(self, event: str, data: object) -> None:
        await self.ws.send_str("42" + json.dumps([event, data]))

    async def next_event(self, name: str) -> object:
        while True:
            packet = await self._packet()
            if packet.startswith("42"):
                event, *args = json.loads(packet[2:])
                if event == name:
                    return args[0] if args else None

    async def close(self) -> None:
        await self.ws.close()


def identity_token(member_id: int, organisation_id: int, email: str | None, **options) -> str:
    return web_identity.issue_identity_token(
        TokenConfig(options.pop("secret", SECRET)),
        WebIdentity(member_id, organisation_id, email), **options)


def demo_member(stack: Stack, name: str) -> Member:
    db = stack.database()
    try:
        with db.reader() as session:
            return session.scalar(select(Member).where(Member.name == name))
    finally:
        db.dispose()


def channel_metadata(event: dict) -> dict:
    """A user event's metadata without what Rasa adds itself (model and assistant ids)."""
    return {key: value for key, value in (event.get("metadata") or {}).items()
            if key not in RASA_METADATA}


def user_events(stack: Stack, sender_id: str) -> list[dict]:
    # Rasa's router does not unquote path parameters: ":" must stay as it is.
    tracker = stack.rasa_api(f"/conversations/{sender_id}/tracker")
    return [event for event in tracker["events"] if event["event"] == "user"]


async def test_pages_of_other_origins_cannot_open_the_chat(web_stack: Stack):
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await SocketClient.connect(session, web_stack, None, "http://evil.example")
        assert refused.value.status == 400

        client, answer = await SocketClient.connect(session, web_stack, None, origin=None)
        await client.close()
    assert answer == {"accepted": False, "message": "origin_not_allowed"}


@pytest.mark.parametrize("problem", ["forged", "expired", "wrong audience"])
async def test_bad_identity_tokens_refuse_the_connection(web_stack: Stack, problem: str):
    ben = demo_member(web_stack, "Ben Okafor")
    if problem == "forged":
        token = identity_token(ben.id, ben.organisation_id, ben.email,
                               secret="a-forger-s-secret-that-is-long-enough-000")
    elif problem == "expired":
        token = identity_token(ben.id, ben.organisation_id, ben.email,
                               now=datetime.now(timezone.utc) - timedelta(hours=1))
    else:
        token = web_identity.issue_anonymous_token(TokenConfig(SECRET), f"web:{ben.id}")

    async with aiohttp.ClientSession() as session:
        client, answer = await SocketClient.connect(session, web_stack, {"token": token},
                                                    web_stack.backend_url)
        await client.close()

    assert answer == {"accepted": False, "message": "invalid_token"}


async def test_the_conversation_is_keyed_by_the_verified_identity(web_stack: Stack):
    ben = demo_member(web_stack, "Ben Okafor")
    token = identity_token(ben.id, ben.organisation_id, ben.email)
    claimed = "web-anon:" + "0" * 32  # what a client would like to join instead

    async with aiohttp.ClientSession() as session:
        client, answer = await SocketClient.connect(session, web_stack, {"token": token},
                                                    web_stack.backend_url)
        assert answer["accepted"]
        await client.emit("session_request", {"session_id": claimed})
        confirmed = await client.next_event("session_confirm")
        await client.emit("user_uttered", {
            "message": "hello", "id": "m1", "session_id": claimed,
            "metadata": {"identity": "slack:T1:U1", "verified_email": "boss@evil.example"}})
        echo = await client.next_event("user_echo")
        await client.next_event("bot_uttered")
        await client.close()

    assert confirmed["anonymous"] is False and confirmed["visitor_token"] is None
    assert echo == {"id": "m1", "text": "hello"}
    said = user_events(web_stack, f"web:{ben.id}")
    assert said[-1]["text"] == "hello"
    assert channel_metadata(said[-1]) == {"identity": f"web:{ben.id}",
                                          "verified_email": ben.email}
    assert user_events(web_stack, claimed) == []


async def test_anonymous_visitors_resume_only_a_server_made_id(web_stack: Stack):
    async with aiohttp.ClientSession() as session:
        client, answer = await SocketClient.connect(session, web_stack, None,
                                                    web_stack.backend_url)
        assert answer["accepted"]
        await client.emit("session_request", {})
        first = await client.next_event("session_confirm")
        await client.emit("user_uttered", {"message": "what does coverage mean?", "id": "a1",
                                           "metadata": {"identity": "web:1"}})
        await client.next_event("bot_uttered")
        await client.close()
        sender = jwt.decode(first["visitor_token"], options={"verify_signature": False})["sub"]

        resumed, _ = await SocketClient.connect(session, web_stack,
                                                {"visitor": first["visitor_token"]},
                                                web_stack.backend_url)
        await resumed.emit("session_request", {})
        again = await resumed.next_event("session_confirm")
        await resumed.close()

        chosen = web_identity.sign_claims("not-the-channel-s-secret-but-long-enough",
                                          web_identity.ANONYMOUS_AUDIENCE, sender, 600)
        other, _ = await SocketClient.connect(session, web_stack, {"visitor": chosen},
                                              web_stack.backend_url)
        await other.emit("session_request", {})
        fresh = await other.next_event("session_confirm")
        await other.close()

    assert first["anonymous"] is True and re.fullmatch(r"web-anon:[0-9a-f]{32}", sender)
    assert channel_metadata(user_events(web_stack, sender)[-1]) == {}
    assert [m["text"] for m in again["history"] if m["sender"] == "user"] == [
        "what does coverage mean?"]
    assert fresh["history"] == []
    assert fresh["visitor_token"] != first["visitor_token"]


async def test_signing_out_closes_the_member_s_open_sockets(web_stack: Stack, inbox: Inbox):
    origin = {"Origin": web_stack.backend_url}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async def post(path: str, body: object = None) -> dict:
            async with http.post(f"{web_stack.backend_url}/portal/api/{path}", json=body,
                                 headers={**origin, portal_auth.CSRF_HEADER: csrf}) as answer:
                assert answer.status < 300, await answer.text()
                return await answer.json()

        async with http.get(f"{web_stack.backend_url}/portal/api/session") as answer:
            csrf = (await answer.json())["csrf_token"]
        already = len(inbox.to(CHLOE_EMAIL))
        await post("sign-in/email", {"email": CHLOE_EMAIL})
        mail = await asyncio.to_thread(inbox.wait_for, CHLOE_EMAIL, already + 1)
        async with http.get(inbox.link_in(mail), allow_redirects=False) as answer:
            assert answer.status == 303
        token = (await post("chat-token"))["token"]

        client, answer = await SocketClient.connect(http, web_stack, {"token": token},
                                                    web_stack.backend_url)
        assert answer["accepted"]
        await post("logout")
        ended = await client.next_event("session_ended")
        closed = await asyncio.wait_for(client.ws.receive(), timeout=10)
        await client.close()

        again, refused = await SocketClient.connect(http, web_stack, {"token": token},
                                                    web_stack.backend_url)
        await again.close()

    assert ended == {}
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) or \
        closed.data.startswith("41")  # socket.io's "disconnect" packet
    assert refused == {"accepted": False, "message": "session_ended"}
