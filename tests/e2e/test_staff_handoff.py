"""End to end, through the real processes (backend, actions, Rasa, dispatcher; tests/stack.py):
a member asks for a person; someone of the team takes the request in the staff console and the
member is told (a push); what the member writes then reaches the console's thread and the bot
says nothing, but a risk message still gets the crisis answer at once; the team closes the
request, the member is told they are back with the assistant, and the bot answers again. A request
taken the next morning, after the member's conversation session expired, keeps the bot quiet all
the same."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select
from yarl import URL

from backend.api.portal_auth import SESSION_COOKIE
from backend.models import HandoffRequest
from backend.models.base import utcnow
from backend.services import actors, handoffs
from backend.services.signin import sessions
from backend.services.signin.principals import Account, Kind
from backend.services.signin.settings import PortalSettings
from tests.e2e.chat import RestChat, button_for, text_of
from tests.e2e.people import STAFF, People, each_over_people, push_saying
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "handoff-e2e-session-secret-0123456789abcdef"
MEMBER = "ben"  # members of the demo organisation (backend/seed.py)
NIGHT_OWL = "dan"
SESSION_EXPIRY = timedelta(hours=12)  # bot/domain.yml session_config


@pytest.fixture(scope="module")
def stack(stack_factory) -> Stack:
    return stack_factory("staff-handoff", rasa_env={"DEV_TRUST_SENDER": "true"},
                         backend_env={"STAFF_EMAILS": STAFF, "PORTAL_SESSION_SECRET": SECRET})


class Console:
    """The staff console as a signed-in browser without scripts uses it: pages and forms."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str):
        self.http, self.base_url = http, base_url

    async def page(self) -> str:
        async with self.http.get(f"{self.base_url}/staff") as answer:
            assert answer.status == 200
            return await answer.text()

    async def act(self, handoff_id: int, verb: str) -> None:
        token = re.search(r"name=csrf value='([^']+)'", await self.page()).group(1)
        async with self.http.post(f"{self.base_url}/staff/handoffs/{handoff_id}/{verb}",
                                  data={"csrf": token}, headers={"Origin": self.base_url},
                                  allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()

    async def thread(self, handoff_id: int) -> list[tuple[str, str]]:
        item = (await self.page()).split(f"data-handoff='{handoff_id}'")[1].split("</ol>")[0]
        return re.findall(r"<li data-author='(\w+)'>[^<]*?: ([^<]*)</li>", item)


@contextlib.asynccontextmanager
async def staff_console(stack: Stack) -> AsyncIterator[Console]:
    """Signed in as someone of the team (the session the emailed link would open); the
    backend's STAFF_EMAILS holds STAFF."""
    with stack.database().transaction() as session:
        started = sessions.start(session, PortalSettings(PORTAL_SESSION_SECRET=SECRET,
                                                         STAFF_EMAILS=STAFF),
                                 Account(Kind.STAFF, STAFF), "link")
    jar = aiohttp.CookieJar(unsafe=True)  # cookies of 127.0.0.1
    jar.update_cookies({SESSION_COOKIE: started.cookie_token}, URL(stack.backend_url))
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        yield Console(http, stack.backend_url)


@pytest.fixture
async def console(stack: Stack) -> AsyncIterator[Console]:
    async with staff_console(stack) as signed_in:
        yield signed_in


async def the_bot_stays_quiet_while_the_team_has_the_member_crisis_answers_apart(
        people: People) -> None:
    stack, member = people.stack, people.demo(MEMBER)
    async with staff_console(stack) as console:
        asked = await member.say("I'd like to talk to a person please", kind="handoff")
        assert "asked a person from our team" in text_of(asked), member.transcript()
        with stack.database().reader() as session:
            handoff_id = session.scalars(select(HandoffRequest.id).where(
                HandoffRequest.identity == member.identity)).one()

        await console.act(handoff_id, "take")
        await push_saying(stack, member, "Sam from the support team is with you now")
        assert stack.tracker(member.conversation_id)["slots"]["with_staff"] is True

        quiet = await member.say("I can't find an evening slot that works", kind="to staff")
        assert quiet == (), member.transcript()
        quieter = await member.say("I'd like to find a therapist", kind="to staff")
        assert quieter == (), member.transcript()
        assert await console.thread(handoff_id) == [
            ("member", "I can&#x27;t find an evening slot that works"),
            ("member", "I&#x27;d like to find a therapist")]

        crisis = await member.say("i want to kill myself", kind="risk")
        assert len(crisis) == 1 and "116 123" in crisis[0].text, member.transcript()
        assert button_for(crisis, "handoff_request") is not None
        assert len(await console.thread(handoff_id)) == 2  # the words of a risk are not kept

        await console.act(handoff_id, "close")
        await push_saying(stack, member, "handed you back to the assistant")
        assert stack.tracker(member.conversation_id)["slots"]["with_staff"] is False
        answered = await member.say("I'd like to find a therapist", kind="back")
        assert answered and "What would you like help with" in text_of(answered), \
            member.transcript()


CONVERSATIONS = [the_bot_stays_quiet_while_the_team_has_the_member_crisis_answers_apart]


test_over_the_dev_channel = each_over_people(CONVERSATIONS)


async def test_a_request_taken_after_the_session_expired_keeps_the_bot_quiet(
        stack: Stack, http: aiohttp.ClientSession, console: Console):
    # The member asked for a person at night: their last message is older than a session.
    asked_at = (utcnow() - SESSION_EXPIRY - timedelta(hours=1)).timestamp()
    stack.append_events(NIGHT_OWL, [
        {"event": "action", "name": "action_session_start", "timestamp": asked_at},
        {"event": "session_started", "timestamp": asked_at},
        {"event": "action", "name": "action_listen", "timestamp": asked_at},
        {"event": "user", "text": "can I talk to a person", "timestamp": asked_at,
         "parse_data": {"intent": {"name": "handoff_request", "confidence": 1.0},
                        "entities": []}}])
    asker = actors.resolve(stack.database(), f"dev:{NIGHT_OWL}")
    handoff_id = handoffs.request(stack.database(), asker, topic="booking").id

    await console.act(handoff_id, "take")  # the next morning
    member = RestChat(http, stack.rasa_url, NIGHT_OWL)
    await push_saying(stack, member, "Sam from the support team is with you now")
    quiet = await member.say("morning! yes, I'm looking for a female therapist", kind="to staff")
    assert quiet == (), member.transcript()
    assert await console.thread(handoff_id) == [
        ("member", "morning! yes, I&#x27;m looking for a female therapist")]
    tracker = stack.tracker(NIGHT_OWL)
    assert tracker["slots"]["with_staff"] is True  # set again in the new session
    assert tracker["slots"]["gender"] is None  # said to the team, not a search filter
    assert await member.say("are you still there?", kind="to staff") == ()
    assert len(await console.thread(handoff_id)) == 2
