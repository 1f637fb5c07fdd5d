"""The waitlist on both databases: a search kept waiting is told once, with buttons to book, when
a time it matches comes free (a cancellation); a time it does not match tells nothing; a watch
that runs out ends and says so; stopping, the limit per member, other people's watches and bad
filters; and dispatchers scanning at once tell a member once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.domain import waitlist as rules
from backend.domain.enums import Modality
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.models import Booking, Notification
from backend.models.base import utcnow
from backend.services import bookings, waitlist
from backend.services.policy import DEFAULT_POLICY
from backend.services.search import slots as slot_search
from tests.backend import booking_factories as bf
from tests.backend import factories
from tests.backend.concurrently import all_at_once

WEDNESDAY, THURSDAY = 2, 3
MORNING = (10 * 60, 11 * 60)  # one session a day, local time


@pytest.fixture
def people(db):
    admin = factories.register_organisation(db)
    return (factories.add_member(db, admin.organisation_id),
            factories.add_member(db, admin.organisation_id))


def therapist_on(db, weekday: int) -> int:
    return bf.therapist(db, windows=[(weekday, *MORNING)])


def book_every_time(db, booker, therapist_id: int) -> list[Booking]:
    """Someone else takes every free time the therapist has inside the horizon."""
    times = slot_search.free_slots(db, booker, therapist_id,
                                   days=DEFAULT_POLICY.booking_horizon_days)
    assert times
    for start in times:
        bookings.book(db, booker, therapist_id=therapist_id, starts_at=start,
                      modality=Modality.VIDEO, self_pay=True)
    with db.reader() as session:
        return list(session.scalars(select(Booking).where(Booking.therapist_id == therapist_id)
                                    .order_by(Booking.starts_at)))


def told(db, member, kind: str = "waitlist_match") -> list[Notification]:
    with db.reader() as session:
        return list(session.scalars(select(Notification).where(
            Notification.member_id == member.member_id, Notification.kind == kind)))


def booking_buttons(notification: Notification) -> list[dict[str, str]]:
    """The entities each button's payload starts a booking with."""
    return [json.loads(button["payload"].removeprefix("/find_therapist"))
            for button in notification.buttons]


def test_a_therapist_watch_is_told_once_when_one_of_their_times_comes_free(db, people):
    member, other = people
    laura = therapist_on(db, WEDNESDAY)
    taken = book_every_time(db, other, laura)
    watched = waitlist.watch(db, member, {}, laura)
    assert watched.status == "waiting" and watched.therapist_name.startswith("Dr Therapist")
    assert waitlist.tell_matches(db, utcnow()) == 0 and told(db, member) == []

    bookings.cancel(db, other, taken[1].id)
    assert waitlist.tell_matches(db, utcnow()) == 1
    (note,) = told(db, member)
    assert note.text.startswith("Good news: a time you asked me to watch for is free now.")
    assert booking_buttons(note) == [{"therapist_id": str(laura),
                                      "slot_start": taken[1].starts_at.isoformat()}]
    # Told once: the watch has ended.
    assert waitlist.tell_matches(db, utcnow()) == 0 and len(told(db, member)) == 1
    assert waitlist.waiting(db, member) == []


def test_a_search_watch_is_told_only_about_times_it_matches(db, people):
    member, other = people
    wednesdays, thursdays = therapist_on(db, WEDNESDAY), therapist_on(db, THURSDAY)
    on_wednesday = book_every_time(db, other, wednesdays)
    on_thursday = book_every_time(db, other, thursdays)
    waitlist.watch(db, member, {"days": ["wednesday"], "limit": 20})
    assert waitlist.waiting(db, member)[0].filters == {"days": ["Wednesday"]}  # canonical

    bookings.cancel(db, other, on_thursday[0].id)  # not a day they asked for
    assert waitlist.tell_matches(db, utcnow()) == 0 and told(db, member) == []
    bookings.cancel(db, other, on_wednesday[0].id)
    assert waitlist.tell_matches(db, utcnow()) == 1
    (note,) = told(db, member)
    assert [button["therapist_id"] for button in booking_buttons(note)] == [str(wednesdays)]


def test_a_watch_that_runs_out_ends_and_says_so(db, people):
    member, other = people
    laura = therapist_on(db, WEDNESDAY)
    taken = book_every_time(db, other, laura)
    waitlist.watch(db, member, {}, laura)
    later = utcnow() + timedelta(days=DEFAULT_POLICY.booking_horizon_days, minutes=1)
    bookings.cancel(db, other, taken[0].id)  # free, but the watch has run out by then
    assert waitlist.tell_matches(db, later) == 1
    (note,) = told(db, member, "waitlist_expired")
    assert "stopped watching" in note.text and told(db, member) == []
    assert waitlist.waiting(db, member) == []
    assert waitlist.tell_matches(db, later) == 0


def test_stopping_a_watch_and_what_is_refused(db, people):
    member, other = people
    laura = therapist_on(db, WEDNESDAY)
    watches = [waitlist.watch(db, member, {"gender": "female"}) for _ in range(rules.MAX_WAITING)]
    with pytest.raises(Conflict) as too_many:
        waitlist.watch(db, member, {}, laura)
    assert too_many.value.code == "too_many_watches"

    with pytest.raises(NotFound):  # someone else's
        waitlist.stop(db, other, watches[0].id)
    assert waitlist.stop(db, member, watches[0].id).status == "stopped"
    with pytest.raises(Conflict) as ended:
        waitlist.stop(db, member, watches[0].id)
    assert ended.value.code == "watch_ended"
    assert [w.id for w in waitlist.waiting(db, member)] == [w.id for w in watches[1:]]
    assert waitlist.watch(db, member, {}, laura).therapist_id == laura  # room again

    with pytest.raises(InvalidInput, match="don't know the filter 'mood'"):
        waitlist.watch(db, other, {"mood": "sunny"})
    with pytest.raises(NotFound):
        waitlist.watch(db, other, {}, 999_999)
    with pytest.raises(InvalidInput):
        waitlist.watch(db, other, {}, "laura")
    assert waitlist.waiting(db, other) == []


def test_dispatchers_scanning_at_once_tell_a_member_once(db, people):
    member, other = people
    laura = therapist_on(db, WEDNESDAY)
    taken = book_every_time(db, other, laura)
    waitlist.watch(db, member, {}, laura)
    bookings.cancel(db, other, taken[0].id)
    now = utcnow()
    assert sum(all_at_once([lambda: waitlist.tell_matches(db, now)] * 4)) == 1
    assert len(told(db, member)) == 1
