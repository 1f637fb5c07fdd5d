"""Email sign-in over HTTP (both databases) with a real SMTP server: the link from the mail signs
in once, in the browser that asked, for a short time; asking never reveals who is known and is
throttled; sessions end at sign-out and expire; each kind of person sees only its own pages."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import web
from sqlalchemy import select

from backend.api import portal_auth
from backend.api.app import create_app
from backend.models import Member, PortalSession, SignInLink, Therapist
from backend.services.portal import PortalSettings
from backend.services.signin.principals import Kind
from backend.settings import Settings
from contracts import web_identity
from tests.backend import factories
from tests.channels.portal_browser import Browser, Browsers
from tests.mail_server import Inbox, inbox  # noqa: F401  (registers the fixture here)

SECRET = "portal-test-secret-long-enough-for-hs256"
SERVICE_TOKEN = "sign-in-test-service-token"
CHLOE = "chloe@northwind.example"
THERAPIST = "dr.ada@therapists.example"
STAFF = "sam@service.example"
PUBLIC_BASE_URL = "http://portal.test"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def people(db):
    admin = factories.register_organisation(db, "Northwind Trading")
    member = factories.add_member(db, admin.organisation_id, email=CHLOE)
    with db.transaction() as session:
        therapist = Therapist(name="Dr Ada Byron", gender="female", fee_minor=8000,
                              email=THERAPIST)
        session.add(therapist)
        session.flush()
        therapist_id = therapist.id
    return admin, member, therapist_id


@pytest.fixture
def clock() -> Clock:
    return Clock()


# A page of each kind, as other pages (therapist inbox, staff console) use the one function.
async def therapist_page(request: web.Request) -> web.Response:
    return web.json_response({"therapist_id": await portal_auth.signed_in_therapist(request)})


async def staff_page(request: web.Request) -> web.Response:
    principal = await portal_auth.require(request, Kind.STAFF)
    return web.json_response({"email": principal.email})


async def admin_page(request: web.Request) -> web.Response:
    principal = await portal_auth.require(request, Kind.ADMIN)
    return web.json_response({"member_id": principal.member_id})


@pytest.fixture
async def browser_for(aiohttp_client, db, inbox: Inbox, clock: Clock  # noqa: F811
                      ) -> AsyncIterator[Callable]:
    browsers = Browsers()
    clients: dict[str, object] = {}

    async def open_browser(**overrides) -> Browser:
        key = repr(sorted(overrides.items()))
        if key not in clients:  # browsers with the same settings share one server
            values = {"WEB_IDENTITY_SECRET": SECRET, "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
                      "STAFF_EMAILS": f"{STAFF}, other@service.example", **inbox.settings(),
                      **overrides}
            app = create_app(db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN),
                             portal_settings=PortalSettings(**values))
            app[portal_auth.CLOCK_KEY] = clock
            app.router.add_get("/portal/test/therapist", therapist_page)
            app.router.add_get("/portal/test/staff", staff_page)
            app.router.add_get("/portal/test/admin", admin_page)
            clients[key] = await aiohttp_client(app)
        return browsers.open(clients[key])  # type: ignore[arg-type]

    yield open_browser
    await browsers.close()


async def ask(browser: Browser, email: str, kind: str | None = None) -> tuple[int, dict]:
    body = {"email": email} if kind is None else {"email": email, "kind": kind}
    return await browser.post("/portal/api/sign-in/email", body)


def on_test_server(browser: Browser, link: str) -> str:
    """The mail's link (to PUBLIC_BASE_URL) on the test server."""
    assert link.startswith(f"{PUBLIC_BASE_URL}/portal/sign-in?token="), link
    return browser.url(link.removeprefix(PUBLIC_BASE_URL))


async def link_for(browser: Browser, inbox: Inbox, email: str,  # noqa: F811
                   kind: str | None = None) -> str:
    count = len(inbox.to(email)) + 1
    status, _ = await ask(browser, email, kind)
    assert status == 202
    mail = await asyncio.to_thread(inbox.wait_for, email, count)
    return on_test_server(browser, inbox.link_in(mail))


async def test_the_link_from_the_mail_signs_the_browser_in(browser_for, inbox, people, db):  # noqa: F811
    _, member, _ = people
    browser = await browser_for()

    status, answer = await ask(browser, CHLOE.upper())
    mail = await asyncio.to_thread(inbox.wait_for, CHLOE)
    link = on_test_server(browser, inbox.link_in(mail))
    followed, _, response = await browser.get(link)

    assert status == 202 and "sign-in link is on its way" in answer["message"]
    assert mail["Subject"] == "Your sign-in link" and "therapy.test" in mail["From"]
    assert followed == 303 and response.headers["Location"] == "/portal"
    state = await browser.state()
    assert state["signed_in"] and state["user"]["member_id"] == member.member_id
    assert state["person"] == {"kind": "member", "name": state["user"]["name"], "email": CHLOE}
    # Neither the link's token nor the browser's nonce is stored as such.
    token = link.rsplit("=", 1)[1]
    with db.reader() as session:
        row = session.scalar(select(SignInLink))
        method = session.scalar(select(PortalSession.method))
    assert token not in (row.token_hash, row.browser_hash) and row.used_at is not None
    assert browser.cookie(portal_auth.BROWSER_COOKIE) != row.browser_hash
    assert method == "email"


async def test_unknown_addresses_get_the_same_answer_and_no_mail(browser_for, inbox, people):  # noqa: F811
    browser = await browser_for()

    started = time.perf_counter()
    known = await ask(browser, CHLOE)
    known_seconds = time.perf_counter() - started
    started = time.perf_counter()
    unknown = await ask(browser, "nobody@northwind.example")
    unknown_seconds = time.perf_counter() - started
    await asyncio.to_thread(inbox.wait_for, CHLOE)
    await asyncio.sleep(0.5)

    assert known == unknown
    assert inbox.to("nobody@northwind.example") == []
    # Same timing class: the mail goes out after the answer, so neither waits for SMTP.
    assert abs(known_seconds - unknown_seconds) < 0.5


async def test_a_link_works_once(browser_for, inbox, people):  # noqa: F811
    browser = await browser_for()
    link = await link_for(browser, inbox, CHLOE)
    assert (await browser.get(link))[0] == 303
    await browser.post("/portal/api/logout")

    status, page, _ = await browser.get(link)

    assert status == 403 and "already been used" in page
    assert (await browser.state())["signed_in"] is False


async def test_a_link_expires(browser_for, inbox, people, clock):  # noqa: F811
    browser = await browser_for(SIGNIN_LINK_MINUTES="10")
    link = await link_for(browser, inbox, CHLOE)
    clock.advance(minutes=10, seconds=1)

    status, page, _ = await browser.get(link)

    assert status == 403 and "has expired" in page
    assert (await browser.state())["signed_in"] is False


async def test_a_link_opened_in_another_browser_is_refused_and_not_spent(browser_for, inbox,  # noqa: F811
                                                                        people):
    asking = await browser_for()
    link = await link_for(asking, inbox, CHLOE)
    other = await browser_for()
    await other.state()  # the other browser has a nonce of its own
    cookieless = await browser_for()

    for browser in (other, cookieless):
        status, page, _ = await browser.get(link)
        assert status == 403 and "browser where you asked" in page
        assert (await browser.state())["signed_in"] is False
    assert (await asking.get(link))[0] == 303  # the asking browser still can
    assert (await asking.state())["signed_in"] is True


@pytest.mark.parametrize("token", ["", "forged-token-of-nobody", "a" * 500, "é"])
async def test_made_up_links_are_refused(browser_for, people, token):
    browser = await browser_for()
    await browser.state()

    status, page, _ = await browser.get(browser.url(f"/portal/sign-in?token={token}"))

    assert status in (400, 403) and "Traceback" not in page
    assert (await browser.state())["signed_in"] is False


async def test_asking_is_throttled_per_address_and_per_client(browser_for, inbox, people):  # noqa: F811
    browser = await browser_for(SIGNIN_LINKS_PER_ADDRESS="2", SIGNIN_LINKS_PER_CLIENT="4")

    answers = [(await ask(browser, CHLOE))[0] for _ in range(3)]
    assert answers == [202, 202, 429]
    # The same holds for an unknown address: throttling reveals nothing either.
    answers = [(await ask(browser, "ghost@northwind.example"))[0] for _ in range(3)]
    assert answers == [202, 202, 429]
    status, answer = await ask(browser, "third@northwind.example")
    assert status == 429 and answer["error"]["code"] == "throttled"  # the client's fifth


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "x@" + "y" * 400 + ".com", 7])
async def test_bad_addresses_get_a_clear_error(browser_for, people, email):
    browser = await browser_for()

    status, answer = await browser.post("/portal/api/sign-in/email", {"email": email})

    assert status == 400 and answer["error"]["message"]


async def test_a_session_ends_after_its_lifetime(browser_for, inbox, people, clock):  # noqa: F811
    browser = await browser_for(PORTAL_SESSION_HOURS="2")
    await browser.get(await link_for(browser, inbox, CHLOE))
    clock.advance(hours=1, minutes=59)
    assert (await browser.state())["signed_in"] is True

    clock.advance(minutes=2)

    assert (await browser.state())["signed_in"] is False


async def test_the_chat_channel_learns_that_a_session_ended(browser_for, inbox, people):  # noqa: F811
    _, member, _ = people
    browser = await browser_for()
    await browser.get(await link_for(browser, inbox, CHLOE))
    _, token = await browser.post("/portal/api/chat-token")
    session_id = web_identity.verify_identity_token(web_identity.TokenConfig(SECRET),
                                                    token["token"]).session_id
    service = {"Authorization": f"Bearer {SERVICE_TOKEN}",
               "X-Acting-For": f"web:{member.member_id}"}

    async def active(acting_for: str = f"web:{member.member_id}") -> bool:
        async with browser.session.get(browser.url(f"/web-sessions/{session_id}"),
                                       headers={**service, "X-Acting-For": acting_for}) as answer:
            assert answer.status == 200
            return (await answer.json())["active"]

    assert await active() is True
    assert await active("web:999") is False  # another member's token cannot borrow it
    await browser.post("/portal/api/logout")
    assert await active() is False


@pytest.mark.parametrize(("path", "email", "heading"), [
    ("/inbox", THERAPIST, "Inbox of Dr Ada Byron"),
    ("/staff", STAFF, f"Signed in as {STAFF}"),
])
async def test_therapists_and_staff_ask_for_a_link_on_their_page_and_land_there(
        browser_for, inbox, people, path, email, heading):  # noqa: F811
    browser = await browser_for()
    status, page, _ = await browser.get(browser.url(path))
    if status == 303:  # the first visit sets the browser cookie the forms' token is bound to
        status, page, _ = await browser.get(browser.url(path))
    assert status == 200 and "Email me a sign-in link" in page and "<select" not in page
    token = re.search(r"name=csrf value='([^']+)'", page).group(1)
    count = len(inbox.to(email)) + 1

    async def ask_here(address: str, fields: dict[str, str]) -> tuple[int, str]:
        async with browser.session.post(browser.url(f"{path}/sign-in"),
                                        data={"email": address, **fields},
                                        headers={"Origin": PUBLIC_BASE_URL}) as answer:
            return answer.status, await answer.text()

    asked = await ask_here(email.upper(), {"csrf": token})
    mail = await asyncio.to_thread(inbox.wait_for, email, count)
    followed, _, response = await browser.get(on_test_server(browser, inbox.link_in(mail)))

    assert asked[0] == 200 and "sign-in link is on its way" in asked[1]
    assert followed == 303 and response.headers["Location"] == path
    assert heading in (await browser.get(browser.url(path)))[1]
    # Without this browser's token nothing is sent; a member's address gets no mail here.
    assert (await ask_here(email, {}))[0] == 403
    assert (await ask_here(CHLOE, {"csrf": token}))[0] == 200
    await asyncio.sleep(0.5)
    assert inbox.to(CHLOE) == [] and len(inbox.to(email)) == count


async def test_therapists_and_staff_sign_in_to_their_own_pages(browser_for, inbox, people):  # noqa: F811
    *_, therapist_id = people
    therapist = await browser_for()
    await therapist.get(await link_for(therapist, inbox, THERAPIST, "therapist"))
    staff = await browser_for()
    await staff.get(await link_for(staff, inbox, STAFF, "staff"))
    chloe = await browser_for()
    await chloe.get(await link_for(chloe, inbox, CHLOE))

    async def visit(browser: Browser, page: str) -> tuple[int, dict]:
        async with browser.session.get(browser.url(f"/portal/test/{page}")) as answer:
            return answer.status, await answer.json()

    assert (await therapist.state())["person"]["kind"] == "therapist"
    assert await visit(therapist, "therapist") == (200, {"therapist_id": therapist_id})
    assert await visit(staff, "staff") == (200, {"email": STAFF})
    for browser in (chloe, staff):
        assert await visit(browser, "therapist") == (200, {"therapist_id": None})
    for browser in (chloe, therapist):
        status, answer = await visit(browser, "staff")
        assert (status, answer["error"]["code"]) == (403, "wrong_kind")
    for browser in (chloe, therapist, staff):  # a member is no admin
        status, answer = await visit(browser, "admin")
        assert (status, answer["error"]["code"]) == (403, "wrong_kind")
    # The widget acts only for members of an organisation.
    for browser in (therapist, staff):
        status, answer = await browser.post("/portal/api/chat-token")
        assert (status, answer["error"]["code"]) == (403, "wrong_kind")
    status, answer = await visit(await browser_for(), "staff")
    assert (status, answer["error"]["code"]) == (403, "signed_out")


async def test_an_admin_signs_in_as_admin(browser_for, inbox, people, db):  # noqa: F811
    admin, _, _ = people
    with db.reader() as session:
        email = session.get(Member, admin.member_id).email
    browser = await browser_for()
    await browser.get(await link_for(browser, inbox, email))

    async with browser.session.get(browser.url("/portal/test/admin")) as answer:
        assert (answer.status, await answer.json()) == (200, {"member_id": admin.member_id})


async def test_an_address_asking_as_the_wrong_kind_gets_no_mail(browser_for, inbox, people):  # noqa: F811
    browser = await browser_for()

    await ask(browser, CHLOE, "therapist")
    await ask(browser, CHLOE, "staff")
    await ask(browser, THERAPIST)  # as a member
    await asyncio.sleep(0.5)

    assert inbox.mails == []


async def test_a_link_used_twice_at_once_opens_one_session(browser_for, inbox, people, db):  # noqa: F811
    browser = await browser_for()
    link = await link_for(browser, inbox, CHLOE)

    answers = await asyncio.gather(*(browser.get(link) for _ in range(6)))

    assert sorted(status for status, _, _ in answers) == [303] + [403] * 5
    with db.reader() as session:
        assert len(session.scalars(select(PortalSession)).all()) == 1
