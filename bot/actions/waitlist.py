"""Members: the waitlist. "Tell me when one is free" after a search found nobody, or said in words
("let me know when a female therapist has a Thursday evening"): the search as it stands waits in
the backend, which tells the member here once, with buttons to book, when a time it matches is
free (backend/services/waitlist.py). "Stop watching" stops one.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction
from bot.actions.booking import FORM, describe_filters, merge_when, search_filters, when_of
from bot.actions.common import TIMEZONE, button, latest_entities, latest_text, vocabulary
from bot.actions.forms import leave_form
from bot.actions.parsing import format_day, format_slot, parse_when
from bot.actions.policies import directory_words
from contracts.answers import Watch
from contracts.backend_client import BackendClient

# Matches shown when the search finds times now, instead of waiting for them.
SHOWN_NOW = 3


class ActionWatchSearch(BackendAction):
    def name(self) -> str:
        return "action_watch_search"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        assert client is not None
        filters = search_filters(tracker, await vocabulary(client))
        said = parse_when(latest_text(tracker), await directory_words())
        if said is not None:  # "... on Thursday evenings", typed outside the booking form
            filters.update(merge_when(when_of(tracker), said).as_filters())
        filters.pop("limit", None)
        leaving = leave_form(domain, FORM) if (tracker.active_loop or {}).get("name") == FORM \
            else []
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
        dispatcher.utter_message(
            text=f"OK, I'm watching for {describe_filters(filters)}. As soon as a time is "
                 "free I'll tell you here, with a button to book it (I'll watch until "
                 f"{format_day(watch.expires_at, TIMEZONE)}). Say 'stop watching' to stop.")
        return leaving


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
