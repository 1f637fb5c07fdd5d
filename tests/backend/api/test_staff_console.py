"""The staff console over HTTP, on both databases: the team's sign-in, urgent requests first,
take / reply / close (a reply reaches the member's chat through the outbox once), and what it
refuses (other kinds of account, other sites, forms without the token, bad input)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.api.app import create_app
from backend.api.portal_auth import SESSION_COOKIE
from backend.domain.enums import RiskKind
from backend.domain.errors import Conflict
from backend.models import (
    AuditEvent,
    ChatIdentity,
    HandoffReply,
    HandoffRequest,
    Notification,
    NotificationDelivery,
)
from backend.models.base import utcnow
from backend.services import handoffs, staff
from backend.services.portal import PortalSettings
from backend.services.signin import sessions
from backend.services.signin.principals import Account, Kind
from backend.settings import Settings
from tests.backend import booking_factories, factories
from tests.backend.api.conftest import SERVICE_TOKEN, ApiClient, DocumentedAnswers, connect
from tests.backend.concurrently import all_at_once

BASE = "http://backend.test"
ORIGIN = {"Origin": BASE}
STAFF = "sam.lee@service.example"
PORTAL = PortalSettings(PUBLIC_BASE_URL=BASE, STAFF_EMAILS=f"{STAFF} other@service.example",
                        PORTAL_SESSION_SECRET="staff-test-session-secret-0123456789abcdef")


@pytest.fixture
async def client(aiohttp_client, db, gateway):
    settings = Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN, PUBLIC_BASE_URL=BASE)
    return (await connect(aiohttp_client, create_app(db, settings, gateway, PORTAL))).client


def sign_in(db, client, account: Account) -> None:
    """A portal session as the emailed link opens it, its cookie in this browser."""
    with db.transaction() as session:
        started = sessions.start(session, PORTAL, account, "link")
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: started.cookie_token})


async def csrf(client) -> dict[str, str]:
    page = await (await client.get("/staff")).text()
    return {"csrf": re.search(r"name=csrf value='([^']+)'", page).group(1)}


async def post(client, path: str, token: dict[str, str], **fields: str):
    return await client.post(path, data={**token, **fields}, headers=ORIGIN,
                             allow_redirects=False)


async def code(response) -> str:
    """The code of a refusal, a page with a way back to the console."""
    assert response.content_type == "text/html"
    return re.search(r"data-code='([^']+)'", await response.text()).group(1)


def age(db, handoff_id: int, minutes: int) -> None:
    with db.transaction() as session:
        session.execute(update(HandoffRequest).where(HandoffRequest.id == handoff_id)
                        .values(created_at=utcnow() - timedelta(minutes=minutes)))


def order(page: str) -> list[int]:
    return [int(found) for found in re.findall(r"data-handoff='(\d+)'", page)]


async def test_staff_see_urgent_requests_first_then_the_oldest(client, db):
    admin = factories.register_organisation(db, name="Widgets & Co")
    member = factories.add_member(db, admin.organisation_id)
    older = handoffs.request(db, member, topic="booking", message="cannot find a slot").id
    newer = handoffs.request(db, member, topic="billing").id
    crisis = handoffs.request(db, member, topic="crisis", risk_kind=RiskKind.SUICIDAL).id
    safety = handoffs.request(db, factories.stranger(db), topic="safety").id
    age(db, older, 60)
    age(db, newer, 30)
    age(db, safety, 10)
    signed_out = await (await client.get("/staff")).text()
    assert "Email me a sign-in link" in signed_out and "data-handoff" not in signed_out
    sign_in(db, client, Account(Kind.STAFF, STAFF))
    page = await (await client.get("/staff")).text()
    assert order(page) == [safety, crisis, older, newer]
    assert "Urgent (suicidal)" in page and "Widgets &amp; Co" in page
    assert "Mon-Fri 09:00-17:00, Europe/London" in page and f"Signed in as {STAFF}" in page
    assert "cannot find a slot" not in page  # the console shows the topic, not the words
    token = await csrf(client)
    assert (await post(client, f"/staff/handoffs/{older}/take", token)).status == 303
    page = await (await client.get("/staff")).text()
    waiting, handled = page.split("<h2>Being handled</h2>")
    assert order(waiting) == [safety, crisis, newer] and order(handled) == [older]
    assert f"taken by {STAFF}" in handled
    with db.reader() as session:
        row = session.get(HandoffRequest, older)
        assert (row.status, row.taken_by) == ("taken", STAFF) and row.taken_at is not None


async def test_a_reply_reaches_the_member_s_chat_once_and_the_request_closes(client, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    with db.transaction() as session:
        session.add_all([ChatIdentity(channel="slack", external_id="T1:U9",
                                      member_id=member.member_id),
                         ChatIdentity(channel="web", external_id=str(member.member_id),
                                      member_id=member.member_id)])
    handoff_id = handoffs.request(db, member, topic="booking").id
    sign_in(db, client, Account(Kind.STAFF, STAFF))
    token = await csrf(client)
    early = await post(client, f"/staff/handoffs/{handoff_id}/reply", token, text="Hi")
    assert early.status == 409  # take it first
    await post(client, f"/staff/handoffs/{handoff_id}/take", token)
    again = await post(client, f"/staff/handoffs/{handoff_id}/take", token)
    assert again.status == 409 and "taken this request already" in await again.text()
    empty = await post(client, f"/staff/handoffs/{handoff_id}/reply", token, text="   ")
    assert empty.status == 400
    sent = await post(client, f"/staff/handoffs/{handoff_id}/reply", token,
                      text="I can book that for you <today>.")
    assert sent.status == 303
    with db.reader() as session:
        told = session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [(n.member_id, n.kind, n.slots) for n in told] == [
            (member.member_id, "staff_taken", {"with_staff": True}),
            (member.member_id, "staff_reply", None)]
        assert told[0].text.startswith("Sam from the support team is with you now.")
        assert told[1].text == "From Sam at the support team: I can book that for you <today>."
        pushes = session.scalars(select(NotificationDelivery.identity)
                                 .where(NotificationDelivery.notification_id == told[1].id)
                                 .order_by(NotificationDelivery.id)).all()
        assert pushes == ["slack:T1:U9", f"web:{member.member_id}"]
        replies = session.scalars(select(HandoffReply)).all()
        assert [(r.handoff_id, r.staff_email) for r in replies] == [(handoff_id, STAFF)]
    page = await (await client.get("/staff")).text()
    assert "I can book that for you &lt;today&gt;." in page  # the thread, escaped
    assert (await post(client, f"/staff/handoffs/{handoff_id}/close", token)).status == 303
    page = await (await client.get("/staff")).text()
    assert f"data-handoff='{handoff_id}'" not in page and "Nobody is waiting." in page
    for verb in ("take", "reply", "close"):
        closed = await post(client, f"/staff/handoffs/{handoff_id}/{verb}", token, text="Hi")
        assert closed.status == 409
    with db.reader() as session:
        kinds = session.scalars(select(Notification.kind).order_by(Notification.id)).all()
        assert kinds == ["staff_taken", "staff_reply", "staff_handed_back"]
        back = session.scalars(select(Notification).order_by(Notification.id.desc())).first()
        assert back.slots == {"with_staff": False} and "handed you back" in back.text
        assert session.get(HandoffRequest, handoff_id).status == "closed"
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor == f"identity:staff:{STAFF}").order_by(AuditEvent.id)).all()
    assert actions == ["handoff.taken", "handoff.replied", "handoff.closed"]


async def test_a_reply_to_someone_without_a_membership_is_refused(client, db):
    handoff_id = handoffs.request(db, factories.stranger(db), topic="general").id
    sign_in(db, client, Account(Kind.STAFF, STAFF))
    token = await csrf(client)
    await post(client, f"/staff/handoffs/{handoff_id}/take", token)
    page = await (await client.get("/staff")).text()
    assert "a reply cannot reach their chat" in page and "name=text" not in page
    refused = await post(client, f"/staff/handoffs/{handoff_id}/reply", token, text="Hello")
    assert refused.status == 409 and "not a member of any organisation" in await refused.text()
    with db.reader() as session:
        assert session.scalars(select(Notification)).all() == []
        assert session.scalars(select(HandoffReply)).all() == []


async def test_members_admins_and_therapists_get_403(client, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    handoff_id = handoffs.request(db, member, topic="crisis", risk_kind=RiskKind.EMERGENCY).id
    therapist_id = booking_factories.therapist(db)
    for account in (Account(Kind.MEMBER, None, member_id=member.member_id),
                    Account(Kind.MEMBER, None, member_id=admin.member_id),
                    Account(Kind.THERAPIST, None, therapist_id=therapist_id)):
        client.session.cookie_jar.clear()
        sign_in(db, client, account)
        page = await client.get("/staff")
        assert (page.status, await code(page)) == (403, "wrong_kind")
        token = await csrf_of_portal(client)
        taken = await post(client, f"/staff/handoffs/{handoff_id}/take", token)
        assert (taken.status, await code(taken)) == (403, "wrong_kind")
    with db.reader() as session:
        assert session.get(HandoffRequest, handoff_id).status == "open"


async def csrf_of_portal(client) -> dict[str, str]:
    """The CSRF token of a browser that may not see the console (the portal's session API)."""
    answer = await (await client.get("/portal/api/session")).json()
    return {"csrf": answer["csrf_token"]}


async def test_other_sites_forms_without_the_token_and_bad_input_are_refused(client, db):
    handoff_id = handoffs.request(db, factories.stranger(db), topic="general").id
    token = await csrf_of_portal(client)
    signed_out = await post(client, f"/staff/handoffs/{handoff_id}/take", token)
    assert (signed_out.status, await code(signed_out)) == (403, "signed_out")
    sign_in(db, client, Account(Kind.STAFF, STAFF))
    forged = await client.post(f"/staff/handoffs/{handoff_id}/take", data=token,
                               headers={"Origin": "https://evil.example"})
    assert (forged.status, await code(forged)) == (403, "bad_origin")
    tokenless = await client.post(f"/staff/handoffs/{handoff_id}/take", headers=ORIGIN)
    assert (tokenless.status, await code(tokenless)) == (403, "bad_csrf")
    wrong_token = await post(client, f"/staff/handoffs/{handoff_id}/take", {"csrf": "x" * 43})
    assert (wrong_token.status, await code(wrong_token)) == (403, "bad_csrf")
    assert (await post(client, f"/staff/handoffs/{handoff_id}/explode", token)).status == 400
    assert (await post(client, "/staff/handoffs/abc/take", token)).status == 400
    assert (await post(client, "/staff/handoffs/999999/take", token)).status == 404
    long = await post(client, f"/staff/handoffs/{handoff_id}/reply", token, text="x" * 2001)
    assert long.status == 400
    with db.reader() as session:
        assert session.get(HandoffRequest, handoff_id).status == "open"
    out = await post(client, "/staff/logout", token)
    assert out.status == 303
    assert "Email me a sign-in link" in await (await client.get("/staff")).text()


async def test_someone_removed_from_the_team_is_signed_out(aiohttp_client, db, gateway):
    client = await aiohttp_client(create_app(
        db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN, PUBLIC_BASE_URL=BASE), gateway,
        PortalSettings(PUBLIC_BASE_URL=BASE, STAFF_EMAILS="other@service.example",
                       PORTAL_SESSION_SECRET=PORTAL.session_secret)))
    sign_in(db, client, Account(Kind.STAFF, STAFF))
    assert "Email me a sign-in link" in await (await client.get("/staff")).text()


def test_two_of_the_team_taking_one_request_at_once_one_has_it(db):
    handoff_id = handoffs.request(db, factories.stranger(db), topic="general").id

    def take(email: str) -> str:
        try:
            staff.take(db, email, handoff_id)
        except Conflict as refused:
            return refused.code
        return "taken"

    outcomes = all_at_once([lambda: take(STAFF), lambda: take("other@service.example")])
    assert sorted(outcomes) == ["handoff_taken", "taken"]
    winner = STAFF if outcomes[0] == "taken" else "other@service.example"
    with db.reader() as session:
        assert session.get(HandoffRequest, handoff_id).taken_by == winner


async def test_asking_for_a_person_says_when_the_team_answers(aiohttp_client, sqlite_db):
    api = await connect(aiohttp_client, create_app(sqlite_db, Settings(
        BACKEND_SERVICE_TOKEN=SERVICE_TOKEN, STAFF_OFFICE_HOURS="Mon-Sun 00:00-23:59")))
    status, answer = await api.request("POST", "/handoffs", json={"topic": "general"})
    assert status == 201
    assert answer["expected_answer"].startswith("The support team is in now (Mon-Sun 00:00-23:59)")


async def as_bot(client) -> ApiClient:
    """The bot's calls (service credential, acting for a chat identity), answers checked."""
    document = await (await client.get("/openapi.json")).json()
    return ApiClient(client, DocumentedAnswers(document))


async def test_the_member_s_messages_reach_the_thread_of_their_own_request_in_hand(client, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    other = factories.add_member(db, factories.register_organisation(db).organisation_id)
    api = await as_bot(client)
    mine = handoffs.request(db, member, topic="booking").id
    theirs = handoffs.request(db, other, topic="booking").id

    async def relay(actor, text: str):
        return await api.request("POST", "/handoffs/current/messages",
                                 identity=actor.identity, json={"text": text})

    status, answer = await relay(member, "anyone there?")
    assert (status, answer["error"]["code"]) == (404, "not_with_staff")  # open, nobody has it yet
    sign_in(db, client, Account(Kind.STAFF, STAFF))
    token = await csrf(client)
    for handoff_id in (mine, theirs):
        await post(client, f"/staff/handoffs/{handoff_id}/take", token)
    await post(client, f"/staff/handoffs/{mine}/reply", token, text="Hello, how can I help?")
    status, answer = await relay(member, "  I can't find an evening <slot>  ")
    assert status == 201 and (answer["id"], answer["status"]) == (mine, "taken")
    assert (await relay(member, "   "))[0] == 400
    assert (await relay(member, "x" * 2001))[0] == 400
    assert (await relay(factories.stranger(db), "hi"))[0] == 403
    await post(client, f"/staff/handoffs/{mine}/reply", token, text="I'll look.")
    page = await (await client.get("/staff")).text()
    item = page.split(f"data-handoff='{mine}'")[1].split("</ol>")[0]
    lines = re.findall(r"<li data-author='(\w+)'>([^,]+), [^:]+:\d+: ([^<]*)</li>", item)
    assert lines == [("staff", STAFF, "Hello, how can I help?"),
                     ("member", "Member", "I can&#x27;t find an evening &lt;slot&gt;"),
                     ("staff", STAFF, "I&#x27;ll look.")]
    await post(client, f"/staff/handoffs/{mine}/close", token)
    status, answer = await relay(member, "thanks!")
    assert (status, answer["error"]["code"]) == (404, "not_with_staff")
    with db.reader() as session:
        thread = session.scalars(select(HandoffReply).order_by(HandoffReply.id)).all()
    assert [(r.handoff_id, r.author, r.staff_email, r.text) for r in thread] == [
        (mine, "staff", STAFF, "Hello, how can I help?"),
        (mine, "member", None, "I can't find an evening <slot>"),
        (mine, "staff", STAFF, "I'll look.")]  # nothing in the other member's request


async def test_the_news_the_bot_says_itself_carries_the_slots_of_its_push(client, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    handoff_id = handoffs.request(db, member, topic="general").id
    staff.take(db, STAFF, handoff_id)
    status, answer = await (await as_bot(client)).request(
        "GET", "/me/notifications", identity=member.identity)
    assert status == 200
    assert [(n["kind"], n["slots"]) for n in answer["notifications"]] == [
        ("staff_taken", {"with_staff": True})]


def _handed_back(db, member_id: int) -> int:
    with db.reader() as session:
        return len(session.scalars(select(Notification).where(
            Notification.member_id == member_id,
            Notification.kind == staff.HANDED_BACK_KIND)).all())


def test_the_assistant_stays_quiet_until_the_last_request_in_hand_is_closed(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    first = handoffs.request(db, member, topic="booking").id
    second = handoffs.request(db, member, topic="general").id
    staff.take(db, STAFF, first)
    staff.take(db, "other@service.example", second)
    staff.close(db, STAFF, first)
    assert _handed_back(db, member.member_id) == 0  # the other one still has them
    assert staff.relay(db, member, "still there?").id == second
    staff.close(db, "other@service.example", second)
    assert _handed_back(db, member.member_id) == 1


def test_two_of_the_team_closing_one_member_s_requests_at_once_hand_them_back_once(db):
    """Eight members, each with two requests in hand, all sixteen closed at the same moment:
    each member is handed back exactly once (not twice, and never left quiet)."""
    admin = factories.register_organisation(db)
    members = [factories.add_member(db, admin.organisation_id) for _ in range(8)]
    closes = []
    for member in members:
        for email, topic in ((STAFF, "booking"), ("other@service.example", "general")):
            handoff_id = handoffs.request(db, member, topic=topic).id
            staff.take(db, email, handoff_id)
            closes.append(lambda email=email, handoff_id=handoff_id:
                          staff.close(db, email, handoff_id))
    all_at_once(closes)
    assert [_handed_back(db, member.member_id) for member in members] == [1] * 8
