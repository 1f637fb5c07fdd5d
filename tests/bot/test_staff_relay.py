"""action_relay_to_staff against the real backend over HTTP: while someone of the team has the
member's request, what they write reaches its thread and the bot says nothing; handed back
meanwhile, the bot says so and clears `with_staff`; the news the bot says itself sets the slots
its push would have set."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from backend.models import HandoffReply
from backend.services import handoffs, staff
from bot.actions.staff_relay import BACK_WITH_ASSISTANT, NOT_RELAYED, ActionRelayToStaff
from contracts.push import QUIET_TURN
from tests.backend import factories
from tests.bot.conftest import DOMAIN, make_tracker, slot_events, texts

STAFF = "sam.lee@service.example"


async def relay(tracker) -> tuple[CollectingDispatcher, list]:
    dispatcher = CollectingDispatcher()
    return dispatcher, await ActionRelayToStaff().run(dispatcher, tracker, DOMAIN)


def thread(db) -> list[tuple[str, str]]:
    with db.reader() as session:
        return [(r.author, r.text) for r in session.scalars(
            select(HandoffReply).order_by(HandoffReply.id))]


async def test_the_member_s_words_reach_the_thread_and_the_bot_says_nothing(backend):
    member = factories.add_member(backend, factories.register_organisation(backend)
                                  .organisation_id)
    handoff_id = handoffs.request(backend, member, topic="booking").id
    staff.take(backend, STAFF, handoff_id)
    # The take's push has not come yet: the bot tells it, and sets what it would have set.
    dispatcher, events = await relay(make_tracker(member.identity, text="are you there?"))
    assert dispatcher.messages[0]["custom"] == QUIET_TURN
    assert dispatcher.messages[1]["text"].startswith("Sam from the support team is with you now.")
    assert slot_events(events) == {"with_staff": True}
    dispatcher, events = await relay(make_tracker(
        member.identity, text="/handoff_request", intent="handoff_request"))
    # Nothing to read: only the mark that tells the channel the silence is meant.
    assert [m["custom"] for m in dispatcher.messages] == [QUIET_TURN]
    assert slot_events(events) == {"with_staff": True}
    assert thread(backend) == [("member", "are you there?"),
                               ("member", "(pressed a button: handoff_request)")]
    staff.close(backend, STAFF, handoff_id)
    # Handed back before its push came: nothing is relayed and the assistant is back.
    dispatcher, events = await relay(make_tracker(member.identity, text="thanks"))
    said = [m["text"] for m in dispatcher.messages]
    assert said[0] == BACK_WITH_ASSISTANT and "handed you back to the assistant" in said[1]
    assert slot_events(events) == {"with_staff": False}
    assert len(thread(backend)) == 2


async def test_a_message_that_cannot_be_relayed_says_so_with_where_help_is(monkeypatch):
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")  # nothing listens there
    dispatcher, events = await relay(make_tracker("test:someone", text="hello?"))
    assert texts(dispatcher) == NOT_RELAYED
    assert slot_events(events) == {"with_staff": True}  # the next message goes to the team too


async def test_what_the_member_tells_the_team_fills_no_slot_of_the_bot(backend):
    member = factories.add_member(backend, factories.register_organisation(backend)
                                  .organisation_id)
    staff.take(backend, STAFF, handoffs.request(backend, member, topic="booking").id)
    tracker = make_tracker(member.identity, text="a woman, on tuesdays if she can",
                           slots={"gender": "male"}, set_now={"gender": "female", "days": ["tue"]})
    tracker.events.insert(0, {"event": "slot", "name": "gender", "value": "male"})
    _, events = await relay(tracker)
    # Set back to what they were before the message: the one said to the bot, and none.
    assert slot_events(events) == {"gender": "male", "days": None, "with_staff": True}
