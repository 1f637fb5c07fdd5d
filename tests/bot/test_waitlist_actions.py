"""The waitlist's actions against the real backend over HTTP: a search that finds nobody waits
(and leaves the booking form); one that finds free times shows them instead; stopping one, one of
several, none; the backend's refusals in its own words."""

from __future__ import annotations

from backend.domain import waitlist as rules
from backend.services import waitlist
from bot.actions.waitlist import (
    ActionStopWatching,
    ActionWatchSearch,
    name_words,
    names_word,
    words_of,
)
from tests.backend import booking_factories, factories
from tests.bot.conftest import make_tracker, run, texts
from tests.bot.test_actions import member_with_sessions

# No therapist of these tests' directories speaks Polish.
NOBODY = {"issue": None, "modality": "video", "language": "Polish", "when": {}}



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


MONDAY_MORNINGS = [(0, 9 * 60, 12 * 60)]


def found(*therapists: tuple[int, str]) -> dict:
    """The search results a conversation holds (the booking form's slot)."""
    return {"search_results": [{"id": tid, "name": name} for tid, name in therapists]}


async def test_a_therapist_named_from_the_search_is_watched_at_the_times_said(backend):
    member = member_of_new_organisation(backend)
    laura = booking_factories.therapist(backend, windows=MONDAY_MORNINGS, name="Laura Okafor")
    other = booking_factories.therapist(backend, name="Dr Sam Reid")
    dispatcher, events = await run(ActionWatchSearch(), make_tracker(
        member.identity, text="tell me if laura has an evening free", intent="watch_for_times",
        slots={"requested_slot": "therapist_id",
               **found((other, "Dr Sam Reid"), (laura, "Laura Okafor"))},
        active_loop="booking_form"))
    assert texts(dispatcher).startswith("OK, I'm watching for Laura Okafor's free times, "
                                        "evenings. As soon as a time is free")
    assert left_the_form(events)
    (watch,) = waitlist.waiting(backend, member)
    assert (watch.therapist_id, watch.filters) == (laura, {"times": ["evening"]})


async def test_a_named_therapist_free_now_is_offered_instead_of_waiting(backend):
    member = member_of_new_organisation(backend)
    okafor = booking_factories.therapist(backend, name="Dr Laura Okafor")
    dispatcher, _ = await run(ActionWatchSearch(), make_tracker(
        member.identity, text="let me know when Dr Okafor is free", intent="watch_for_times",
        slots=found((okafor, "Dr Laura Okafor"))))
    assert texts(dispatcher).startswith("No need to wait: Dr Laura Okafor has free times now")
    buttons = dispatcher.messages[0]["buttons"]
    assert len(buttons) == 3 and all(b["payload"].startswith(
        f'/find_therapist{{"therapist_id": "{okafor}", "slot_start": "') for b in buttons)
    assert waitlist.waiting(backend, member) == []


async def test_a_therapist_of_the_members_own_bookings_is_known_by_name(backend):
    member, _ = member_with_sessions(backend)
    priya = booking_factories.therapist(backend, name="Priya Nair")
    booking_factories.make_seen(backend, member, priya)
    dispatcher, _ = await run(ActionWatchSearch(), make_tracker(
        member.identity, text="can you tell me when priya has a thursday slot",
        intent="watch_for_times"))
    assert texts(dispatcher).startswith("No need to wait: Priya Nair has free times now "
                                        "(Thursday)")


async def test_two_therapists_of_that_name_are_asked_about_and_the_one_pressed_is_watched(
        backend):
    member = member_of_new_organisation(backend)
    first = booking_factories.therapist(backend, windows=MONDAY_MORNINGS, name="Laura Okafor")
    second = booking_factories.therapist(backend, windows=MONDAY_MORNINGS, name="Laura Bell")
    results = found((first, "Laura Okafor"), (second, "Laura Bell"))
    dispatcher, _ = await run(ActionWatchSearch(), make_tracker(
        member.identity, text="tell me when laura has a friday free", intent="watch_for_times",
        slots=results))
    assert texts(dispatcher) == "Which therapist should I watch?"
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        "Watch Laura Okafor", "Watch Laura Bell"]
    assert waitlist.waiting(backend, member) == []
    pressed = dispatcher.messages[0]["buttons"][1]["payload"]
    await run(ActionWatchSearch(), make_tracker(
        member.identity, text=pressed, intent="watch_for_times",
        entities=[{"entity": "therapist_id", "value": str(second)}], slots=results,
        said_before=["tell me when laura has a friday free"]))
    (watch,) = waitlist.waiting(backend, member)  # the day said before the button still holds
    assert (watch.therapist_id, watch.filters) == (second, {"days": ["Friday"]})


async def test_words_that_name_nobody_watch_the_search_as_before(backend):
    member = member_of_new_organisation(backend)
    booking_factories.therapist(backend, windows=MONDAY_MORNINGS)  # "Dr Therapist <n>"
    reid = booking_factories.therapist(backend, windows=MONDAY_MORNINGS, name="Dr Sam Reid")
    await run(ActionWatchSearch(), make_tracker(
        member.identity, text="tell me when a therapist has a friday free, doctor",
        intent="watch_for_times", slots=found((reid, "Dr Sam Reid"))))
    (watch,) = waitlist.waiting(backend, member)
    assert watch.therapist_id is None and watch.filters == {"days": ["Friday"]}


def test_a_name_is_read_as_said_with_a_typo_and_never_out_of_an_everyday_word():
    said = words_of("Tell me when Okafro or Tim has a time")
    assert names_word("okafor", said) and names_word("tim", said)
    assert not names_word("tim", words_of("tell me when a time comes up"))
    assert not names_word("morgan", words_of("any morning works"))
    assert name_words("Dr. Laura Okafor-Bell") == ["laura", "okafor", "bell"]
    assert name_words("Dr Therapist 12") == []
