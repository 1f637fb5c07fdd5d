"""The waitlist's actions against the real backend over HTTP: a search that finds nobody waits
(and leaves the booking form); one that finds free times shows them instead; stopping one, one of
several, none; the backend's refusals in its own words."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from backend.domain import waitlist as rules
from backend.services import waitlist
from bot.actions.waitlist import ActionStopWatching, ActionWatchSearch
from tests.backend import booking_factories, factories
from tests.bot.conftest import DOMAIN, make_tracker, texts

# No therapist of these tests' directories speaks Polish.
NOBODY = {"issue": None, "modality": "video", "language": "Polish", "when": {}}


async def run(action, tracker):
    dispatcher = CollectingDispatcher()
    return dispatcher, await action.run(dispatcher, tracker, DOMAIN)


def member_of_new_organisation(db):
    return factories.add_member(db, factories.register_organisation(db).organisation_id)


def left_the_form(events) -> bool:
    return any(e["event"] == "active_loop" and e["name"] is None for e in events)


async def test_a_search_that_finds_nobody_waits_and_leaves_the_form(backend):
    member = member_of_new_organisation(backend)
    booking_factories.therapist(backend)
    dispatcher, events = await run(ActionWatchSearch(), make_tracker(
        member.identity, text="/watch_for_times", intent="watch_for_times", slots=NOBODY,
        active_loop="booking_form"))
    assert texts(dispatcher).startswith("OK, I'm watching for any issue; video; any time; "
                                        "Polish. As soon as a time is free I'll tell you here")
    assert left_the_form(events)
    (watch,) = waitlist.waiting(backend, member)
    assert watch.filters == {"modality": ["video"], "language": ["Polish"]}


async def test_days_and_times_said_in_words_are_watched_for(backend):
    member = member_of_new_organisation(backend)
    booking_factories.therapist(backend, windows=[(0, 9 * 60, 12 * 60)])  # Monday mornings
    dispatcher, events = await run(ActionWatchSearch(), make_tracker(
        member.identity, text="let me know when someone has a thursday evening free",
        intent="watch_for_times"))
    assert "watching for any issue; any way of meeting; Thursday, evenings." in texts(dispatcher)
    assert not left_the_form(events)
    (watch,) = waitlist.waiting(backend, member)
    assert watch.filters == {"days": ["Thursday"], "times": ["evening"]}


async def test_a_search_with_free_times_now_shows_them_instead_of_waiting(backend):
    member = member_of_new_organisation(backend)
    therapist_id = booking_factories.therapist(backend)
    dispatcher, _ = await run(ActionWatchSearch(), make_tracker(
        member.identity, text="tell me when a therapist is free", intent="watch_for_times"))
    assert texts(dispatcher).startswith("No need to wait: there are free times")
    buttons = dispatcher.messages[0]["buttons"]
    assert buttons[0]["payload"].startswith(
        f'/find_therapist{{"therapist_id": "{therapist_id}", "slot_start": "')
    assert waitlist.waiting(backend, member) == []


async def test_stop_watching_none_one_or_a_chosen_one(backend):
    member = member_of_new_organisation(backend)
    tracker = make_tracker(member.identity, text="stop watching", intent="stop_watching")
    dispatcher, _ = await run(ActionStopWatching(), tracker)
    assert texts(dispatcher).startswith("I'm not watching for any times for you.")

    first = waitlist.watch(backend, member, {"language": "Polish"})
    dispatcher, _ = await run(ActionStopWatching(), tracker)
    assert texts(dispatcher) == "OK, I've stopped watching for Polish."
    assert waitlist.waiting(backend, member) == []

    waitlist.watch(backend, member, {"days": ["friday"], "gender": "male"})
    second = waitlist.watch(backend, member, {"times": "evening"})
    dispatcher, _ = await run(ActionStopWatching(), tracker)
    assert texts(dispatcher) == "Which search should I stop watching?"
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        "Stop: Friday, male", "Stop: evening"]
    chosen = make_tracker(member.identity, text=f'/stop_watching{{"watch_id":"{second.id}"}}',
                          intent="stop_watching",
                          entities=[{"entity": "watch_id", "value": str(second.id)}])
    dispatcher, _ = await run(ActionStopWatching(), chosen)
    assert texts(dispatcher) == "OK, I've stopped watching for evening."
    assert len(waitlist.waiting(backend, member)) == 1

    other = member_of_new_organisation(backend)  # someone else's watch: not found, unchanged
    dispatcher, _ = await run(ActionStopWatching(), make_tracker(
        other.identity, text="/stop_watching", intent="stop_watching",
        entities=[{"entity": "watch_id", "value": str(first.id)}]))
    assert texts(dispatcher) == "I can't find a search of yours with that id."


async def test_the_limit_is_said_in_the_backend_s_words(backend):
    member = member_of_new_organisation(backend)
    for _ in range(rules.MAX_WAITING):
        waitlist.watch(backend, member, {"language": "Polish"})
    dispatcher, events = await run(ActionWatchSearch(), make_tracker(
        member.identity, text="/watch_for_times", intent="watch_for_times", slots=NOBODY,
        active_loop="booking_form"))
    assert texts(dispatcher) == rules.TOO_MANY and not left_the_form(events)
