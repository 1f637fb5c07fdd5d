"""Members: the waitlist. "Tell me when one is free" after a search found nobody, or said in words
("let me know when a female therapist has a Thursday evening"): the search as it stands waits in
the backend, which tells the member here once, with buttons to book, when a time it matches is
free (backend/services/waitlist.py). "Stop watching" stops one.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction
from bot.actions.booking import describe_filters, merge_when, search_filters, when_of
from bot.actions.common import TIMEZONE, button, latest_entities, latest_text, vocabulary
from bot.actions.forms import leave_form
from bot.actions.parsing import (
    When,
    format_day,
    format_slot,
    local_time,
    parse_when,
    when_allows,
)
from bot.actions.policies import directory_words
from contracts.answers import Watch
from contracts.backend_client import BackendClient

# Matches shown when the search finds times now, instead of waiting for them.
SHOWN_NOW = 3
# How far ahead one therapist's times are looked at before watching them.
FREE_NOW_DAYS = 14
# Words of therapists' names that are no name on their own.
NOT_NAMES = frozenset({"dr", "doctor", "mr", "mrs", "ms", "miss", "mx", "prof", "professor",
                       "therapist", "counsellor", "the"})
# Words of a name this long or longer are recognised with a typo.
TYPO_LENGTH = 5


class ActionWatchSearch(BackendAction):
    def name(self) -> str:
        return "action_watch_search"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        assert client is not None
        named = await therapists_named(tracker, client)
        if len(named) > 1:
            dispatcher.utter_message(
                text="Which therapist should I watch?",
                buttons=[button(f"Watch {name}", "watch_for_times", therapist_id=therapist_id)
                         for therapist_id, name in named.items()])
            return []
        leaving = leave_form(domain, tracker.active_loop_name) if tracker.active_loop_name else []
        if named:
            await self.watch_one(dispatcher, tracker, client, *named.popitem())
            return leaving
        filters = search_filters(tracker, await vocabulary(client))
        said = parse_when(latest_text(tracker), await directory_words())
        if said is not None:  # "... on Thursday evenings", typed outside the booking form
            filters.update(merge_when(when_of(tracker), said).as_filters())
        filters.pop("limit", None)
        found = (await client.search({**filters, "limit": SHOWN_NOW})).results
        free_now = [(match.therapist, match.next_slots[0]) for match in found if match.next_slots]
        if free_now:
            dispatcher.utter_message(
                text=f"No need to wait: there are free times for {describe_filters(filters)} "
                     "now. Pick one to book it:",
                buttons=[button(f"{therapist.name}: {format_slot(slot, TIMEZONE)}",
                                "find_therapist", therapist_id=therapist.id, slot_start=slot)
                         for therapist, slot in free_now])
            return leaving
        watch = await client.watch(filters)
        say_watching(dispatcher, describe_filters(filters), watch)
        return leaving

    async def watch_one(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        client: BackendClient, therapist_id: int, name: str) -> None:
        """"Tell me if Laura has an evening free": that therapist's times, at the days and
        times said (the search's other filters do not apply to one therapist)."""
        words = await directory_words()
        when = parse_when(asked_text(tracker), words) or When()
        free = [slot for slot in await client.slots(therapist_id, days=FREE_NOW_DAYS)
                if when_allows(when, local_time(slot, TIMEZONE), words)]
        if free:
            dispatcher.utter_message(
                text=f"No need to wait: {name} has free times now ({when.describe()}). Pick "
                     "one to book it:",
                buttons=[button(format_slot(slot, TIMEZONE), "find_therapist",
                                therapist_id=therapist_id, slot_start=slot.isoformat())
                         for slot in free[:SHOWN_NOW]])
            return
        say_watching(dispatcher, f"{name}'s free times, {when.describe()}",
                     await client.watch(when.as_filters(), therapist_id))


def asked_text(tracker: Tracker) -> str:
    """What the member typed to ask: the latest message or, when it is a "Watch …" button
    pressed, the message before it ("tell me when laura has a friday free")."""
    said = [event.get("text") or "" for event in reversed(tracker.events)
            if event.get("event") == "user"]
    return next((text for text in said[:2] if text and not text.startswith("/")), "")


def say_watching(dispatcher: CollectingDispatcher, wanted: str, watch: Watch) -> None:
    dispatcher.utter_message(
        text=f"OK, I'm watching for {wanted}. As soon as a time is free I'll tell you here, "
             "with a button to book it (I'll watch until "
             f"{format_day(watch.expires_at, TIMEZONE)}). Say 'stop watching' to stop.")


async def therapists_named(tracker: Tracker, client: BackendClient) -> dict[int, str]:
    """The therapists the message names ("Laura", "Dr Okafor", a "Watch …" button) among those
    the member knows of: this conversation's search results, the therapist a push was about,
    and the therapists of their own bookings, past ones too. id -> name."""
    chosen = [int(i) for i in latest_entities(tracker, "therapist_id") if i.isdigit()]
    if chosen:
        return {chosen[0]: (await client.therapist(chosen[0])).name}
    text = latest_text(tracker)
    if not text:
        return {}
    known = {int(r["id"]): str(r["name"]) for r in tracker.get_slot("search_results") or []
             if isinstance(r, dict) and str(r.get("id", "")).isdigit() and r.get("name")}
    for booking in await client.bookings(upcoming=False):
        known.setdefault(booking.therapist_id, booking.therapist_name)
    pushed = str(tracker.get_slot("therapist_id") or "")
    if pushed.isdigit() and int(pushed) not in known:
        known[int(pushed)] = (await client.therapist(int(pushed))).name
    said = words_of(text)
    return {therapist_id: name for therapist_id, name in known.items()
            if any(names_word(word, said) for word in name_words(name))}


def words_of(text: str) -> list[str]:
    return re.findall(r"[^\W\d_][\w']*", text.lower())


def name_words(name: str) -> list[str]:
    """The words of a name a person may use alone: not titles, initials or "Therapist"."""
    return [word for word in words_of(name) if word not in NOT_NAMES and len(word) >= 3]


def names_word(word: str, said: list[str]) -> bool:
    """Whether the words said hold this word of a name: as it is, or with a typo when both are
    long enough for a typo to be told from another word ("okafro"; "time" never names Tim)."""
    return word in said or (len(word) >= TYPO_LENGTH and bool(difflib.get_close_matches(
        word, [w for w in said if len(w) >= TYPO_LENGTH], n=1, cutoff=0.8)))


class ActionStopWatching(BackendAction):
    def name(self) -> str:
        return "action_stop_watching"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        assert client is not None
        chosen = latest_entities(tracker, "watch_id")
        waiting = await client.watches()
        if chosen and chosen[0].isdigit():
            stopped = await client.stop_watching(int(chosen[0]))
            dispatcher.utter_message(text=f"OK, I've stopped watching for {describe(stopped)}.")
        elif not waiting:
            dispatcher.utter_message(
                text="I'm not watching for any times for you. After a search that finds nobody, "
                     "say 'tell me when one is free'.",
                buttons=[button("Find a therapist", "find_therapist")])
        elif len(waiting) == 1:
            stopped = await client.stop_watching(waiting[0].id)
            dispatcher.utter_message(text=f"OK, I've stopped watching for {describe(stopped)}.")
        else:
            dispatcher.utter_message(
                text="Which search should I stop watching?",
                buttons=[button(f"Stop: {describe(watch)}", "stop_watching", watch_id=watch.id)
                         for watch in waiting])
        return []


def describe(watch: Watch) -> str:
    """"Dr Laura Smith, Thursday, evening" / "anxiety, female, video" (the canonical filters)."""
    words = [str(word) for value in watch.filters.values()
             for word in (value if isinstance(value, list) else [value])]
    said = ", ".join(words)
    if watch.therapist_name:
        return f"{watch.therapist_name}{f' ({said})' if said else ''}"
    return said or "any therapist"
