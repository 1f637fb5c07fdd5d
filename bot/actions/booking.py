"""Members: find a therapist (filters as optional slots) and book a slot the organisation pays.

The booking form asks three questions (issue, how to meet, when), each skippable, and reads any
other filter (location, therapy type, gender, language) from any message. Several answers can come
in one message, and a later message can change any of them: the search then runs again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT

from bot.actions.base import HANDLED, BackendAction, FormRefused, client_for, explain_failure
from bot.actions.common import (
    TIMEZONE,
    button,
    latest_entities,
    latest_text,
    vocabulary,
)
from bot.actions.faq import privacy_receipt
from bot.actions.forms import (
    MEMBER_DIGRESSION_INTENTS,
    CappedFormValidation,
    clear_form,
    form_answers_missing,
    leave_form,
)
from bot.actions.parsing import (
    ANY,
    When,
    Words,
    cleared_filters,
    day_of_month,
    format_money,
    format_slot,
    is_skip,
    local_time,
    match_words,
    parse_choice,
    parse_modality,
    parse_when,
    when_allows,
)
from bot.actions.payers import nothing_pays, paid_by_line, several_payers, what_pays
from bot.actions.policies import confirmation_hours, directory_words, known_policies
from bot.actions.quotes import NOT_THE_ORGANISATIONS, pay_myself, quote, what_instead
from bot.actions.sessions import upcoming_bookings
from contracts.answers import Booking
from contracts.backend_client import BackendClient, BackendError

FORM = "booking_form"
MODALITIES = ("in_person", "video", "phone")
FILTER_ENTITIES = ("issue", "modality", "location", "therapy_type", "gender", "language")
CHOICE_SLOTS = ("therapist_id", "slot_start", "booking_confirmed")
OPTIONAL_FILTERS = {"therapy_type": "therapy_types", "gender": "genders", "language": "languages"}
OFFERED_SLOTS = 6
SLOT_TAKEN = "slot_taken"  # the backend's code for a time someone else booked first
NOT_NEEDED = "not_needed"  # a required slot this answer path does not use
WHAT_TO_CHANGE = ("OK, I haven't booked it, and I've kept everything you told me. What would you "
                  "like to change? Pick another time, say 'other therapists', or change a filter "
                  "(for example 'video instead' or 'any day'). Say 'stop' to leave it.")
_WANTS_OTHERS = re.compile(r"\b(other|others|another|different|more|none of (these|them)|"
                           r"someone else|go back|back)\b", re.IGNORECASE)


def when_of(tracker: Tracker) -> When:
    value = tracker.get_slot("when")
    return When(**value) if isinstance(value, dict) else When()


def _latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def paying_oneself(tracker: Tracker) -> bool:
    """The member chose to pay for this booking themselves ("Find a therapist, I'll pay")."""
    return bool(tracker.get_slot("self_pay") or latest_entities(tracker, "self_pay"))


def out_of_scope_answers_the_issue(tracker: Tracker) -> bool:
    """At "What would you like help with?" whatever is said is the answer, even what the NLU
    calls out of scope ("i'm scared of presenting"): validate_issue matches it to the issues
    therapists list, or shows them. At the form's other questions, out of scope is a digression."""
    return (tracker.active_loop_name == FORM and tracker.get_slot(REQUESTED_SLOT) == "issue"
            and _latest_intent(tracker) == "out_of_scope")


_ANY_TIME = re.compile(r"\bany ?time\b", re.IGNORECASE)


def said_when(tracker: Tracker, words: Words) -> When | None:
    """The days and times after the latest message (merged into those said before, "any day"
    letting go of the days only); None when it says nothing about them. A bare "no" or "any"
    answers only the question about days and times, and a day while picking a time picks it."""
    text = latest_text(tracker)
    requested = tracker.get_slot(REQUESTED_SLOT)
    bare_skip = is_skip(text) and not _ANY_TIME.search(text)  # "any time" names the times
    said = None if requested == "slot_start" or (requested != "when" and bare_skip) \
        else parse_when(text, words)
    any_day = "days" in cleared_filters(text) and not (said and said.days)
    if said is None and not any_day:
        return None
    when = merge_when(when_of(tracker), said) if said is not None else when_of(tracker)
    return When(days=[], times=when.times, after=when.after, before=when.before) \
        if any_day else when


def changes_filters(tracker: Tracker, words: Words) -> bool:
    """Whether the latest message gives a search filter (entity, days and times) or lets one go."""
    if _latest_intent(tracker) in MEMBER_DIGRESSION_INTENTS:
        return False
    if any(latest_entities(tracker, entity) for entity in FILTER_ENTITIES):
        return True
    if cleared_filters(latest_text(tracker)):
        return True
    return tracker.get_slot(REQUESTED_SLOT) != "when" and said_when(tracker, words) is not None


def merge_when(before: When, said: When) -> When:
    """A later "Wednesday" changes the days and keeps "evenings after 6"; "any time" clears."""
    if said.is_empty():
        return said
    return When(days=said.days or before.days, times=said.times or before.times,
                after=said.after or (None if said.before else before.after),
                before=said.before or (None if said.after else before.before))


def restart_search() -> dict[str, Any]:
    return {"therapist_id": None, "slot_start": None, "booking_confirmed": None,
            "search_results": None, "offered_slots": None}


def starts_about_therapist(tracker: Tracker) -> bool:
    """Whether the message starting a booking is about one therapist: a button naming them, or
    "other times" after a push about them (which set the slot)."""
    return bool(latest_entities(tracker, "therapist_id")
                or _WANTS_OTHERS.search(latest_text(tracker)))


def about_one_therapist(tracker: Tracker) -> list[EventType]:
    """A booking that starts about one therapist goes straight to their times: no search
    questions. Any other start forgets a therapist a push left behind, so the search starts
    afresh (validate_therapist_id agrees)."""
    if tracker.get_slot("therapist_id") is None and not latest_entities(tracker, "therapist_id"):
        return []
    if starts_about_therapist(tracker):
        return [SlotSet("issue", ANY), SlotSet("when", {}), SlotSet("modality", ANY),
                SlotSet("location", NOT_NEEDED)]
    return [SlotSet("therapist_id", None)]


def choose_by_time(text: str, starts: Sequence[str | datetime], labels: Sequence[str],
                   words: Words) -> int | None:
    """Which of the listed sessions (their `starts`, shown as `labels`) the answer points at:
    'tuesday 6pm', 'the Tuesday one', 'mon 14 dec, 15:00' are matched against the times, with
    the date if one is said, and their numbers are never read as places in the list ("tuesday
    6pm" is not the sixth); otherwise '2', 'the third one' or a word of a label."""
    wanted = parse_when(text, words)
    if wanted and not wanted.is_empty():
        day = day_of_month(text)  # "mon 14 dec, 15:00": that Monday, not the first one
        for index, start in enumerate(starts):
            moment = local_time(start, TIMEZONE)
            if when_allows(wanted, moment, words) and day in (None, moment.day):
                return index
        return None
    return parse_choice(text, labels)


def choose_slot(value: Any, tracker: Tracker, words: Words) -> str | None:
    """The offered slot the answer points at: a button's ISO time, or a time, day or place in
    the list said (`choose_by_time`)."""
    offered: list[str] = tracker.get_slot("offered_slots") or []
    text = str(value or "")
    if text in offered:
        return text
    if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?", text):
        return text  # a button from an earlier message; the backend checks it is free
    index = choose_by_time(text, offered, [format_slot(s, TIMEZONE) for s in offered], words)
    return offered[index] if index is not None else None


class ValidateBookingForm(CappedFormValidation):
    digressions = MEMBER_DIGRESSION_INTENTS

    def name(self) -> str:
        return f"validate_{FORM}"

    def is_digression(self, tracker: Tracker) -> bool:
        return super().is_digression(tracker) and not out_of_scope_answers_the_issue(tracker)

    async def precheck(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> list[EventType]:
        """Stop before any question when nothing of the organisation's can pay (paused, revoked,
        used up, full, none), saying why and what to do; which grant or offer pays is the
        backend's choice when booking."""
        if not paying_oneself(tracker):
            answer = await what_pays(client_for(tracker))
            if not answer.can_pay:
                raise FormRefused(*nothing_pays(answer))
        return about_one_therapist(tracker)

    async def on_answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: dict[str, Any]) -> list[EventType]:
        """A new filter, or one let go of ("any gender"), while choosing a therapist or a time
        runs the search again; the other filters stay."""
        events = [SlotSet(slot, None) for slot in cleared_filters(latest_text(tracker))
                  if slot in OPTIONAL_FILTERS]
        if tracker.get_slot("therapist_id") is not None and changes_filters(
                tracker, await directory_words()):
            events += [SlotSet(slot, value) for slot, value in restart_search().items()]
        return events

    async def extract_when(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: dict[str, Any]) -> dict[str, Any]:
        if _latest_intent(tracker) in MEMBER_DIGRESSION_INTENTS:
            return {}
        text = latest_text(tracker)
        when = said_when(tracker, await directory_words())
        if when is not None:
            return {"when": asdict(when)}
        if tracker.get_slot(REQUESTED_SLOT) == "when" and text:
            return self.failed(tracker, "when", dispatcher,
                               "Sorry, I didn't catch a day or time. Try 'weekday evenings', "
                               "'Saturday mornings', 'after 5pm' or 'any time'.")
        return {}

    def validate_when(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: dict[str, Any]) -> dict[str, Any]:
        return {"when": value if isinstance(value, dict) else None}

    async def validate_issue(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        values = value if isinstance(value, list) else [str(value or "")]
        values = [*values, *latest_entities(tracker, "issue")]  # every issue named, not the first
        if values == [ANY] or all(is_skip(v) for v in values):
            return {"issue": ANY}
        known = (await vocabulary(client_for(tracker))).get("issues")
        if not known:
            return {"issue": [v for v in values if v]}
        found = [w for v in values for w in match_words(v, known)]
        if not found:
            return self.failed(tracker, "issue", dispatcher,
                               "I couldn't match that to what therapists list. For example: "
                               f"{', '.join(known[:8])}. Or say 'not sure'.")
        return {"issue": list(dict.fromkeys(found))}

    async def validate_modality(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or "")
        modality = text if text in (*MODALITIES, ANY) else parse_modality(
            text, await directory_words())
        if modality is None:
            return self.failed(tracker, "modality", dispatcher,
                               "Please choose video, phone or in person (or 'no preference').")
        # The location question only applies in person; otherwise it is answered "not needed"
        # so that Rasa's form (which asks the first empty required slot) skips it.
        answer: dict[str, Any] = {"modality": modality}
        if modality != "in_person":
            answer["location"] = NOT_NEEDED
        elif tracker.get_slot("location") == NOT_NEEDED:
            answer["location"] = None
        return answer

    async def validate_location(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == NOT_NEEDED:
            return {"location": NOT_NEEDED}
        known = (await vocabulary(client_for(tracker))).get("locations")
        if not known:
            return {"location": str(value)}
        found = match_words(str(value or ""), known, cutoff=0.8)
        if not found:
            return self.failed(tracker, "location", dispatcher,
                               "I don't have therapists listed there. Places include "
                               f"{', '.join(known[:8])}; or say 'video' to meet online.")
        return {"location": found[0]}

    async def validate_therapist_id(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if changes_filters(tracker, await directory_words()):
            return {"therapist_id": None}  # a new filter: the search runs again
        results = tracker.get_slot("search_results")
        if results == [] and tracker.get_slot(REQUESTED_SLOT) is not None:
            # The search found nobody to pick: asking again searches again, saying how to widen.
            return {"therapist_id": None}
        results = results or []
        ids = [str(r["id"]) for r in results]
        text = str(value or "")
        if text in ids or (text.isdigit() and latest_entities(tracker, "therapist_id")):
            return {"therapist_id": text}
        if tracker.get_slot(REQUESTED_SLOT) is None:  # filled before the form started
            return {"therapist_id": text if text.isdigit() and starts_about_therapist(tracker)
                    else None}
        index = parse_choice(text, [r["name"] for r in results])
        if index is not None:
            return {"therapist_id": ids[index]}
        if _WANTS_OTHERS.search(text):
            dispatcher.utter_message(text="Tell me what to change, for example 'video instead', "
                                          "'a female therapist', 'weekends' or 'in Leeds'.")
            return {"therapist_id": None}
        return self.failed(tracker, "therapist_id", dispatcher,
                           "Please pick one of the therapists (e.g. 'the first one'), or tell me "
                           "what to change.")

    async def validate_slot_start(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        words = await directory_words()
        if changes_filters(tracker, words) and not latest_entities(tracker, "slot_start"):
            return {"slot_start": None}
        if _WANTS_OTHERS.search(str(value or "")):
            return restart_search()
        chosen = choose_slot(value, tracker, words)
        if chosen is None:
            return self.failed(tracker, "slot_start", dispatcher,
                               "Please pick one of the times, or say 'other therapists'.")
        return await self._as_quoted(dispatcher, tracker, chosen)

    async def _as_quoted(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                         chosen: str) -> dict[str, Any]:
        """Keep the time only if the backend's quote says the organisation pays for it (or the
        member pays and it is free); else say why, and what the member can do instead."""
        therapist_id = tracker.get_slot("therapist_id")
        if therapist_id is None:  # the therapist comes next; the summary quotes then
            return {"slot_start": chosen}
        client = client_for(tracker)
        answer = await quote(client, int(therapist_id), chosen, session_modality(tracker))
        if answer.paid or (paying_oneself(tracker) and not answer.time_refused):
            return {"slot_start": chosen}
        if answer.time_refused:
            dispatcher.utter_message(text=f"{answer.message} Please pick another time, or say "
                                          "'other therapists'.")
            return {"slot_start": None}
        instead, buttons = await what_instead(client, answer)
        if not answer.another_therapist_may_be_paid:
            raise FormRefused(f"{answer.message}\n{instead}".strip(), buttons=buttons)
        dispatcher.utter_message(text=f"{answer.message}\n{instead}", buttons=buttons)
        return restart_search()

    async def validate_booking_confirmed(self, value: Any, dispatcher: CollectingDispatcher,
                                         tracker: Tracker,
                                         domain: dict[str, Any]) -> dict[str, Any]:
        # None is a reset (a filter changed), not a "no": ask again rather than drop the booking
        if value is None or value:
            return {"booking_confirmed": None if value is None else True}
        # "No" keeps every answer: the therapist's times again, or whatever the member changes
        if not changes_filters(tracker, await directory_words()):
            dispatcher.utter_message(text=WHAT_TO_CHANGE)
        return {"booking_confirmed": None, "slot_start": None}


def search_filters(tracker: Tracker, known: dict[str, list[str]]) -> dict[str, Any]:
    filters: dict[str, Any] = {"limit": 5}
    issue = tracker.get_slot("issue")
    if isinstance(issue, list) and issue:
        filters["issues"] = issue
    modality = tracker.get_slot("modality")
    if modality in MODALITIES:
        filters["modality"] = modality
        if modality == "in_person" and tracker.get_slot("location") not in (None, NOT_NEEDED):
            filters["location"] = tracker.get_slot("location")
    filters.update(when_of(tracker).as_filters())
    for slot, words in OPTIONAL_FILTERS.items():
        value = tracker.get_slot(slot)
        if not value:
            continue
        matched = match_words(str(value), known[words]) if known.get(words) else [str(value)]
        if matched:
            filters[slot] = matched[0]
    return filters


def describe_filters(filters: dict[str, Any]) -> str:
    parts = [", ".join(filters.get("issues", [])) or "any issue"]
    modality = filters.get("modality")
    parts.append(modality.replace("_", " ") + (f" in {filters['location']}"
                                               if filters.get("location") else "")
                 if modality else "any way of meeting")
    parts.append(When.from_filters(filters).describe())
    parts += [str(filters[k]) for k in ("therapy_type", "gender", "language") if k in filters]
    return "; ".join(parts)


def ways_to_widen(filters: dict[str, Any]) -> str:
    """What a member could say to widen a search that found nobody: only filters they set."""
    ways = [*([] if When.from_filters(filters).is_empty() else ["'any time'"]),
            *(f"'any {name}'" for key, name in (("gender", "gender"), ("language", "language"),
                                                ("therapy_type", "type of therapy"))
              if key in filters),
            {"in_person": "'video instead'", "video": "'phone instead'",
             "phone": "'video instead'"}.get(filters.get("modality", ""), "")]
    ways = [way for way in ways if way]
    if not ways:
        return "Try another issue, or I can tell you when one is free."
    return f"Try {' or '.join(ways)}, or I can tell you when one is free."


class ActionOutOfScopeInBooking(Action):
    """The booking form's answer to something out of scope: said at any question but the
    issue's, where the form takes it as the answer (out_of_scope_answers_the_issue)."""

    def name(self) -> str:
        return "action_out_of_scope_in_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if not out_of_scope_answers_the_issue(tracker):
            dispatcher.utter_message(response="utter_out_of_scope_in_form")
        return []


class ActionAskTherapistId(Action):
    """Runs the search with the filters so far and shows the matches as buttons."""

    def name(self) -> str:
        return "action_ask_therapist_id"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            client = client_for(tracker)
            filters = search_filters(tracker, await vocabulary(client))
            found = await client.search(filters)
            results = found.results
        except HANDLED as error:
            explain_failure(dispatcher, error)
            dispatcher.utter_message(text="You can change a filter (e.g. 'any time'), or say "
                                          "'stop'.")
            return []
        if not results:
            dispatcher.utter_message(
                text=f"I couldn't find a therapist for: {describe_filters(filters)}. "
                     f"{ways_to_widen(filters)}",
                buttons=[button("Tell me when one is free", "watch_for_times")])
            return [SlotSet("search_results", [])]
        lines = [*found.paid_for, f"Therapists for {describe_filters(filters)}:"]
        kept = []
        several = several_payers(results)
        for number, match in enumerate(results, start=1):
            therapist = match.therapist
            next_slot = match.next_slots
            soonest = f" Next free: {format_slot(next_slot[0], TIMEZONE)}." if next_slot else ""
            lines.append(f"{number}. {therapist.name}: {'; '.join(match.reasons)}."
                         f"{soonest}{paid_by_line(match, several)}")
            kept.append({"id": therapist.id, "name": therapist.name,
                         "modalities": therapist.modalities})
        lines.append("Pick one, or tell me what to change.")
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=[button(f"{n}. {t['name']}", "inform", therapist_id=t["id"])
                     for n, t in enumerate(kept, start=1)])
        return [SlotSet("search_results", kept)]


async def therapist_for_slots(client: BackendClient, tracker: Tracker) -> tuple[int, str]:
    if (tracker.active_loop or {}).get("name") == "booking_change_form":
        booking_id = str(tracker.get_slot("booking_id"))
        booking = next(b for b in await upcoming_bookings(client) if str(b.id) == booking_id)
        return booking.therapist_id, booking.therapist_name
    therapist_id = str(tracker.get_slot("therapist_id"))
    known = {str(r["id"]): r["name"] for r in tracker.get_slot("search_results") or []}
    name = known.get(therapist_id) or (await client.therapist(int(therapist_id))).name
    return int(therapist_id), name


class ActionAskSlotStart(Action):
    """The therapist's next free times, those matching the member's days and times first."""

    def name(self) -> str:
        return "action_ask_slot_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            client = client_for(tracker)
            therapist_id, name = await therapist_for_slots(client, tracker)
            slots = [s.isoformat() for s in await client.slots(therapist_id, days=14)]
            words = await directory_words()
        except (*HANDLED, StopIteration) as error:
            explain_failure(dispatcher, error)
            return []
        if not slots:
            dispatcher.utter_message(text=f"{name} has no free times in the next two weeks. "
                                          "Say 'other therapists' to choose someone else.")
            return [SlotSet("offered_slots", [])]
        when = when_of(tracker)
        fitting = [s for s in slots if when_allows(when, local_time(s, TIMEZONE), words)]
        offered = (fitting or slots)[:OFFERED_SLOTS]
        note = "" if fitting or when.is_empty() else " (none match your times exactly)"
        dispatcher.utter_message(
            text=f"{name}'s next free times{note}, UK time:",
            buttons=[button(format_slot(s, TIMEZONE), "inform", slot_start=s) for s in offered])
        return [SlotSet("offered_slots", offered)]


def session_modality(tracker: Tracker) -> str:
    modality = tracker.get_slot("modality")
    if modality in MODALITIES:
        return modality
    chosen = str(tracker.get_slot("therapist_id"))
    offered = next((r.get("modalities") or [] for r in tracker.get_slot("search_results") or []
                    if str(r["id"]) == chosen), [])
    return next((m for m in ("video", "phone", "in_person") if m in offered), "video")


class ActionAskBookingConfirmed(Action):
    """The summary before booking: what the backend's quote says will happen."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        modality = session_modality(tracker)
        starts_at = tracker.get_slot("slot_start")
        try:
            client = client_for(tracker)
            therapist_id, name = await therapist_for_slots(client, tracker)
            answer = await quote(client, therapist_id, starts_at, modality)
            instead, buttons = ("", []) if answer.paid else await what_instead(client, answer)
        except HANDLED as error:
            explain_failure(dispatcher, error)
            return []
        summary = (f"{name}, {format_slot(starts_at, TIMEZONE)} (UK time), "
                   f"{modality.replace('_', ' ')}.")
        if paying_oneself(tracker) and not answer.time_refused:
            fee = format_money(answer.answer.fee_minor, answer.answer.currency)
            dispatcher.utter_message(
                text=f"{summary}\nYou pay {fee} for this session yourself; "
                     f"{NOT_THE_ORGANISATIONS}.\nBook it?",
                buttons=[button(pay_myself(fee), "affirm"), button("No", "deny")])
        elif answer.paid:
            dispatcher.utter_message(text=f"{summary}\n{answer.message}\nBook it?",
                                     buttons=[button("Book it", "affirm"), button("No", "deny")])
        else:  # it changed since the time was chosen: say so, and book nothing
            dispatcher.utter_message(text=f"{summary}\n{answer.message}\n{instead}".strip(),
                                     buttons=[*buttons, button("Don't book", "deny")])
        return []


def choose_another_time() -> list[EventType]:
    """Back in the form at the therapist's times, every other answer kept: the form, run next
    (it is active again), asks for a time without reading the last message as an answer. The
    requested slot says the form is under way: one that starts forgets the therapist."""
    return [SlotSet("slot_start", None), SlotSet("booking_confirmed", None),
            SlotSet("offered_slots", None), SlotSet(REQUESTED_SLOT, "slot_start"),
            ActiveLoop(FORM)]


class ActionBook(BackendAction):
    def name(self) -> str:
        return "action_book"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        if form_answers_missing(tracker, domain, FORM):
            return clear_form(domain, FORM)
        # The backend chooses what pays: a grant of the member's, else a place on an offer open
        # to all members, taken in the same transaction.
        try:
            booking = await client.book(int(tracker.get_slot("therapist_id")),
                                        tracker.get_slot("slot_start"), session_modality(tracker),
                                        self_pay=paying_oneself(tracker))
        except BackendError as error:
            if error.code != SLOT_TAKEN:
                raise
            dispatcher.utter_message(text=error.message)
            return choose_another_time()
        await say_requested(dispatcher, booking)
        return clear_form(domain, FORM)

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return clear_form(domain, FORM)


async def say_requested(dispatcher: CollectingDispatcher, booking: Booking,
                        fee: str | None = None) -> None:
    """What was booked, who pays, when the therapist confirms; for a session the organisation
    pays, the privacy receipt."""
    if booking.paid_by_organisation:
        paid = "Your organisation pays"
    else:
        paid = f"You pay {fee} for this session yourself" if fee else \
            "You pay for this session yourself"
    left = booking.sessions_remaining_on_grant
    left_text = f" ({left} sessions left after this one)" if left is not None else ""
    hours = await confirmation_hours()
    confirms = f"usually confirms within {hours} business hours" if hours else "will confirm it"
    dispatcher.utter_message(
        text=f"Requested: {booking.therapist_name}, "
             f"{format_slot(booking.starts_at, TIMEZONE)} (UK time), "
             f"{booking.modality.replace('_', ' ')}. {paid}{left_text}. "
             f"The therapist {confirms}; ask me 'is my booking confirmed?' any time.")
    if booking.paid_by_organisation:
        dispatcher.utter_message(text=privacy_receipt(booking.offer_name,
                                                      await known_policies()))


# After a time that can no longer be booked, once the booking form has ended.
CHOOSE_AGAIN = "Say 'find a therapist' to choose another time."


class ActionBookSelfPaid(BackendAction):
    """The member pressed "Book it, I'll pay £…" under a quote their organisation does not pay
    (bot/actions/quotes.py): book that session as self-paid, the fee said once more. The time is
    quoted again first, so a time no longer bookable is refused before anything is written. A
    booking form in progress ends (the rule in bot/data/rules/member_booking.yml)."""

    def name(self) -> str:
        return "action_book_self_paid"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        assert client is not None
        ended = leave_form(domain, FORM) if tracker.active_loop_name == FORM else []
        chosen = [latest_entities(tracker, name)[:1]
                  for name in ("therapist_id", "slot_start", "modality")]
        if not all(chosen) or not chosen[0][0].isdigit():
            dispatcher.utter_message(text="Which session? Press “Book it, I'll pay” under the "
                                          "time you chose, or say 'find a therapist'.")
            return ended
        (therapist_id,), (starts_at,), (modality,) = chosen
        answer = await quote(client, int(therapist_id), starts_at, modality)
        if answer.time_refused:
            dispatcher.utter_message(text=f"{answer.message} {CHOOSE_AGAIN}")
            return ended
        try:
            booking = await client.book(int(therapist_id), starts_at, modality, self_pay=True)
        except BackendError as error:
            if error.code != SLOT_TAKEN:
                raise
            dispatcher.utter_message(text=f"{error.message} {CHOOSE_AGAIN}")
            return ended
        await say_requested(dispatcher, booking,
                            fee=format_money(answer.answer.fee_minor, answer.answer.currency))
        return ended
