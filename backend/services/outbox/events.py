"""What members are told about their bookings, written in the transaction of the change.

Booking confirmed (with the calendar file's link), booking declined and the therapist's silence
past the confirmation time (the same therapist's next times and three similar therapists as
buttons, whose payloads start the booking conversation with that therapist chosen), and the
reminder before a session. Each has a dedupe key per booking, so an event seen twice tells once.
A search on the waitlist (services/waitlist.py) that matches free times is told once, with those
times as the same buttons; one that runs out with nothing found is told so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.enums import Modality
from backend.models import Booking, Member, Therapist
from backend.services import notifications
from backend.services.policy import DEFAULT_POLICY, Policy
from backend.services.search import slots as slot_search

SIMILAR_THERAPISTS = 3
NEXT_TIMES = 3
CANDIDATES = 50
MODALITY_WORDS = {Modality.VIDEO: "by video", Modality.PHONE: "by phone",
                  Modality.IN_PERSON: "in person"}


def _when(moment: datetime, policy: Policy) -> str:
    local = moment.astimezone(policy.zone)
    return local.strftime("%A %-d %B at %H:%M")


def _session_words(session: Session, booking: Booking, policy: Policy) -> tuple[Therapist, str]:
    """The therapist, and "on Tuesday 8 December at 14:00 by video"."""
    therapist = session.get_one(Therapist, booking.therapist_id)
    words = (f"on {_when(booking.starts_at, policy)} "
             f"{MODALITY_WORDS.get(booking.modality, '')}").strip()
    return therapist, words


def _organisation_of(session: Session, booking: Booking) -> int:
    return session.get_one(Member, booking.member_id).organisation_id


def _book_button(title: str, therapist_id: int, slot: datetime | None = None) -> dict[str, str]:
    entities = {"therapist_id": str(therapist_id)}
    if slot is not None:
        entities["slot_start"] = slot.isoformat()
    return {"title": title, "payload": f"/find_therapist{json.dumps(entities)}"}


def next_times(session: Session, therapist_id: int, now: datetime, policy: Policy,
               limit: int = NEXT_TIMES) -> list[datetime]:
    return slot_search.bookable(session, therapist_id, now, policy, limit=limit)


def similar_therapists(session: Session, therapist: Therapist,
                       limit: int = SIMILAR_THERAPISTS) -> list[Therapist]:
    """Others who help with the same issues and meet the same ways, most issues in common
    first."""
    candidates = session.scalars(
        select(Therapist).where(
            Therapist.id != therapist.id,
            Therapist.issues_mask.op("&")(therapist.issues_mask) != 0,
            Therapist.modalities_mask.op("&")(therapist.modalities_mask) != 0,
        ).order_by(Therapist.id).limit(CANDIDATES)
    ).all()
    return sorted(candidates,
                  key=lambda other: (-bin(other.issues_mask & therapist.issues_mask).count("1"),
                                     other.id))[:limit]


def alternatives(session: Session, therapist: Therapist, now: datetime,
                 policy: Policy) -> list[dict[str, str]]:
    """Buttons: the same therapist's next times, then three similar therapists."""
    buttons = [_book_button(f"{therapist.name}: {_when(slot, policy)}", therapist.id, slot)
               for slot in next_times(session, therapist.id, now, policy)]
    buttons += [_book_button(f"See {other.name}", other.id)
                for other in similar_therapists(session, therapist)]
    return buttons


def booking_answered(session: Session, booking: Booking, confirmed: bool, now: datetime, *,
                     policy: Policy = DEFAULT_POLICY,
                     calendar_link: Callable[[int], str] | None = None) -> None:
    if confirmed:
        booking_confirmed(session, booking, policy=policy, calendar_link=calendar_link)
    else:
        booking_declined(session, booking, now, policy=policy)


def booking_confirmed(session: Session, booking: Booking, *, policy: Policy = DEFAULT_POLICY,
                      calendar_link: Callable[[int], str] | None = None) -> None:
    therapist, words = _session_words(session, booking, policy)
    text = f"Good news: {therapist.name} confirmed your session {words}."
    if calendar_link is not None:
        text += (" Add it to your calendar (it shows only \"Private appointment\"): "
                 f"{calendar_link(booking.id)}")
    notifications.notify_member(session, _organisation_of(session, booking), booking.member_id,
                                "booking_confirmed", text,
                                dedupe_key=f"booking-{booking.id}-confirmed")


def booking_declined(session: Session, booking: Booking, now: datetime, *,
                     policy: Policy = DEFAULT_POLICY) -> None:
    therapist, words = _session_words(session, booking, policy)
    text = (f"Sorry, {therapist.name} can't take the session {words}. Would you like another "
            "time with them, or someone similar?")
    notifications.notify_member(
        session, _organisation_of(session, booking), booking.member_id, "booking_declined",
        text, buttons=alternatives(session, therapist, now, policy),
        slots={"therapist_id": str(therapist.id)},
        dedupe_key=f"booking-{booking.id}-declined")


def booking_unanswered(session: Session, booking: Booking, now: datetime, hours: int, *,
                       policy: Policy = DEFAULT_POLICY) -> bool:
    therapist, words = _session_words(session, booking, policy)
    text = (f"{therapist.name} hasn't answered your request for the session {words} within "
            f"{hours} business hours. You can pick another of their times, see someone "
            "similar, or keep waiting.")
    buttons = [*alternatives(session, therapist, now, policy),
               {"title": "Keep waiting", "payload": "/thanks"}]
    return notifications.notify_member(
        session, _organisation_of(session, booking), booking.member_id, "booking_unanswered",
        text, buttons=buttons, slots={"therapist_id": str(therapist.id)},
        dedupe_key=f"booking-{booking.id}-unanswered")


def session_reminder(session: Session, booking: Booking, *,
                     policy: Policy = DEFAULT_POLICY) -> bool:
    therapist, words = _session_words(session, booking, policy)
    text = f"A reminder: your session with {therapist.name} is {words}."
    return notifications.notify_member(session, _organisation_of(session, booking),
                                       booking.member_id, "session_reminder", text,
                                       dedupe_key=f"booking-{booking.id}-reminder")


def waitlist_match(session: Session, organisation_id: int, member_id: int, watch_id: int,
                   times: list[tuple[Therapist, datetime]], *,
                   policy: Policy = DEFAULT_POLICY) -> bool:
    text = ("Good news: a time you asked me to watch for is free now. Book it before someone "
            "else does:")
    buttons = [_book_button(f"{therapist.name}: {_when(slot, policy)}", therapist.id, slot)
               for therapist, slot in times]
    return notifications.notify_member(session, organisation_id, member_id, "waitlist_match",
                                       text, buttons=buttons,
                                       dedupe_key=f"watch-{watch_id}-match")


def waitlist_expired(session: Session, organisation_id: int, member_id: int, watch_id: int,
                     days: int) -> bool:
    text = (f"Nothing matching a search you asked me to watch came free in {days} days, so I've "
            "stopped watching it. Say 'find a therapist' to look again with other days or "
            "times.")
    return notifications.notify_member(session, organisation_id, member_id, "waitlist_expired",
                                       text, buttons=[{"title": "Find a therapist",
                                                       "payload": "/find_therapist"}],
                                       dedupe_key=f"watch-{watch_id}-expired")
