"""The outbox: notifications written with their change, deliveries claimed with a lease, retried
with backoff, said by the bot only when not pushed, and the events of bookings and of time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from backend.clock import FixedClock
from backend.domain.enums import DeliveryState
from backend.models import Booking, ChatIdentity, Notification, NotificationDelivery, Therapist
from backend.services import bookings, notifications
from backend.services.outbox import deliveries, schedule
from backend.services.outbox.deliveries import RetryPolicy
from backend.settings import Settings
from tests.backend import booking_factories as bf
from tests.backend import factories
from tests.backend.concurrently import all_at_once

# The tests' clock: after every row the tests write (deliveries are due from their creation).
NOW = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
LEASE = 30


@pytest.fixture
def org(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    add_identity(db, member, "dev", f"person-{member.member_id}")
    return db, admin, member


def tell(db, member, text="hello", **options) -> bool:
    with db.transaction() as session:
        return notifications.notify_member(session, member.organisation_id, member.member_id,
                                           "test", text, **options)


def add_identity(db, member, channel: str, external_id: str) -> None:
    with db.transaction() as session:
        session.add(ChatIdentity(channel=channel, external_id=external_id,
                                 member_id=member.member_id))


def states(db) -> list[str]:
    with db.reader() as session:
        return [state.value for state in session.scalars(
            select(NotificationDelivery.state).order_by(NotificationDelivery.id))]


def test_a_notification_commits_or_rolls_back_with_its_change(org):
    db, _, member = org
    with pytest.raises(RuntimeError), db.transaction() as session:
        notifications.notify_member(session, member.organisation_id, member.member_id, "test",
                                    "never")
        raise RuntimeError("the change failed")
    with db.reader() as session:
        assert session.scalars(select(Notification)).all() == []
        assert session.scalars(select(NotificationDelivery)).all() == []


def test_one_delivery_per_chat_identity_that_can_be_pushed_to(org):
    db, _, member = org
    add_identity(db, member, "slack", "T1:U1")
    assert tell(db, member)
    with db.reader() as session:
        rows = session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)).all()
    # Not to the factories' "test:" identity: no channel pushes to it.
    assert [row.identity for row in rows] == [f"dev:person-{member.member_id}", "slack:T1:U1"]
    assert len({row.dedupe_key for row in rows}) == 2
    assert all(row.state is DeliveryState.PENDING for row in rows)


def test_an_event_with_a_dedupe_key_tells_once(org):
    db, _, member = org
    assert tell(db, member, dedupe_key="booking-1-confirmed")
    assert not tell(db, member, dedupe_key="booking-1-confirmed")
    assert len(states(db)) == 1


def test_racing_events_with_one_key_tell_once(org):
    db, _, member = org
    told = all_at_once([lambda: tell(db, member, dedupe_key="same-event")] * 6)
    assert told.count(True) == 1
    assert len(states(db)) == 1


def test_two_dispatchers_never_claim_the_same_delivery(org):
    db, _, member = org
    for n in range(10):
        tell(db, member, f"note {n}")
    claims = all_at_once([lambda worker=w: deliveries.claim_due(db, NOW, worker, LEASE)
                          for w in ("one", "two", "three", "four")])
    claimed = [push.delivery_id for batch in claims for push in batch]
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 10


def test_a_claimed_delivery_is_taken_over_only_when_its_lease_ends(org):
    db, _, member = org
    tell(db, member)
    [first] = deliveries.claim_due(db, NOW, "crashed", LEASE)
    assert first.attempt == 1 and not first.may_have_been_sent
    assert deliveries.claim_due(db, NOW + timedelta(seconds=LEASE - 1), "other", LEASE) == []
    [again] = deliveries.claim_due(db, NOW + timedelta(seconds=LEASE + 1), "other", LEASE)
    assert again.delivery_id == first.delivery_id
    assert again.attempt == 2 and again.may_have_been_sent
    # The crashed worker no longer holds it: what it would record is ignored.
    assert not deliveries.mark_delivered(db, first.delivery_id, "crashed", NOW)
    assert deliveries.mark_delivered(db, again.delivery_id, "other", NOW)
    assert states(db) == ["delivered"]


def test_failures_back_off_then_give_up(org):
    db, _, member = org
    tell(db, member)
    retry = RetryPolicy(max_attempts=3, retry_seconds=10, retry_max_seconds=15)
    clock = FixedClock(NOW)
    [push] = deliveries.claim_due(db, clock.now(), "w", LEASE)
    assert deliveries.mark_failed(db, push, "w", clock.now(), "Rasa down", retry) is \
        DeliveryState.PENDING
    assert deliveries.claim_due(db, clock.now() + timedelta(seconds=9), "w", LEASE) == []
    clock.advance(seconds=10)
    [push] = deliveries.claim_due(db, clock.now(), "w", LEASE)
    deliveries.mark_failed(db, push, "w", clock.now(), "Rasa down", retry)
    assert deliveries.claim_due(db, clock.now() + timedelta(seconds=14), "w", LEASE) == []
    clock.advance(seconds=15)  # 20 s wanted, capped at 15
    [push] = deliveries.claim_due(db, clock.now(), "w", LEASE)
    assert push.attempt == 3
    assert deliveries.mark_failed(db, push, "w", clock.now(), "Rasa down", retry) is \
        DeliveryState.FAILED
    assert deliveries.claim_due(db, clock.now() + timedelta(days=1), "w", LEASE) == []
    assert deliveries.counts(db)["failed"] == 1
    [row] = deliveries.listing(db, DeliveryState.FAILED)
    assert row.attempts == 3 and row.last_error == "Rasa down"


def test_the_bot_says_what_was_not_pushed_and_the_push_is_skipped(org):
    db, _, member = org
    tell(db, member, "first")
    tell(db, member, "second")
    [being_pushed] = deliveries.claim_due(db, NOW, "w", LEASE, limit=1)
    assert being_pushed.text == "first"
    said = notifications.take_mine(db, member)
    # The one being pushed is left to the push; the other is said and its push skipped.
    assert [note.text for note in said] == ["second"]
    assert states(db) == ["sending", "skipped"]
    assert deliveries.mark_delivered(db, being_pushed.delivery_id, "w", NOW)
    assert notifications.take_mine(db, member) == []


def test_a_push_marks_the_notification_delivered(org):
    db, _, member = org
    tell(db, member)
    [push] = deliveries.claim_due(db, NOW, "w", LEASE)
    deliveries.mark_delivered(db, push.delivery_id, "w", NOW)
    assert notifications.take_mine(db, member) == []


# --- The events of bookings ------------------------------------------------------------------


def booked(db, admin):
    auth = factories.authorisation(db, admin)
    member, _grant = factories.member_with_grant(db, admin, auth.id)
    add_identity(db, member, "slack", f"T1:U{member.member_id}")
    therapist_id = bf.therapist(db)
    booking = bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(72),
                            modality="video")
    return member, therapist_id, booking


def member_notes(db, member) -> list[Notification]:
    with db.reader() as session:
        return list(session.scalars(select(Notification).where(
            Notification.member_id == member.member_id).order_by(Notification.id)))


def test_a_confirmed_booking_tells_the_member_once(db):
    admin = factories.register_organisation(db)
    member, therapist_id, booking = booked(db, admin)
    bookings.confirm(db, bf.therapist_actor(db, therapist_id), booking.id,
                     calendar_link=lambda booking_id: f"https://x.test/{booking_id}.ics")
    [note] = member_notes(db, member)
    assert note.kind == "booking_confirmed" and "confirmed your session" in note.text
    assert f"https://x.test/{booking.id}.ics" in note.text
    assert note.dedupe_key == f"booking-{booking.id}-confirmed"
    assert states(db)[-1:] == ["pending"]  # pushed to the member's chat identity


def test_a_declined_booking_offers_other_times_and_similar_therapists(db):
    admin = factories.register_organisation(db)
    member, therapist_id, booking = booked(db, admin)
    others = [bf.therapist(db) for _ in range(4)]
    with db.transaction() as session:  # every test therapist helps with the same issue
        session.execute(update(Therapist).where(Therapist.id.in_([therapist_id, *others]))
                        .values(issues_mask=1, modalities_mask=1))
    bookings.decline(db, bf.therapist_actor(db, therapist_id), booking.id)
    [note] = member_notes(db, member)
    assert note.kind == "booking_declined"
    titles = [button["title"] for button in note.buttons]
    same = [b for b in note.buttons if f'"therapist_id": "{therapist_id}"' in b["payload"]]
    assert len(same) == 3 and all('"slot_start"' in b["payload"] for b in same)
    assert len([title for title in titles if title.startswith("See ")]) == 3
    assert note.slots == {"therapist_id": str(therapist_id)}


# --- Events that come with time ---------------------------------------------------------------


def rules(**settings) -> schedule.ScheduleRules:
    return schedule.ScheduleRules.from_settings(Settings.model_construct(**{
        **Settings.model_construct().model_dump(), **settings}))


def test_the_reminder_comes_24_hours_before_once(db):
    admin = factories.register_organisation(db)
    member, therapist_id, booking = booked(db, admin)
    bookings.confirm(db, bf.therapist_actor(db, therapist_id), booking.id)
    clock = FixedClock(booking.starts_at - timedelta(hours=25))
    assert schedule.raise_due(db, clock.now(), rules()) == 0
    clock.advance(hours=1, seconds=1)
    assert schedule.raise_due(db, clock.now(), rules()) == 1
    assert schedule.raise_due(db, clock.now(), rules()) == 0
    assert [note.kind for note in member_notes(db, member)] == ["booking_confirmed",
                                                                "session_reminder"]


def test_an_unanswered_request_is_chased_after_4_business_hours(db):
    admin = factories.register_organisation(db)
    member, _therapist_id, booking = booked(db, admin)
    friday_afternoon = datetime(2026, 12, 4, 16, 30, tzinfo=timezone.utc)  # London = UTC now
    with db.transaction() as session:
        session.execute(update(Booking).where(Booking.id == booking.id)
                        .values(created_at=friday_afternoon,
                                starts_at=friday_afternoon + timedelta(days=10)))
    clock = FixedClock(datetime(2026, 12, 7, 11, 59, tzinfo=timezone.utc))  # Monday
    assert schedule.raise_due(db, clock.now(), rules()) == 0
    clock.advance(minutes=1)
    assert schedule.raise_due(db, clock.now(), rules()) == 1
    assert schedule.raise_due(db, clock.now(), rules()) == 0
    [note] = member_notes(db, member)
    assert note.kind == "booking_unanswered" and "4 business hours" in note.text
    assert note.buttons[-1] == {"title": "Keep waiting", "payload": "/thanks"}


def admin_notes(db, admin) -> list[str]:
    with db.reader() as session:
        return list(session.scalars(select(Notification.text).where(
            Notification.member_id == admin.member_id, Notification.kind == "authorisation_low")
            .order_by(Notification.id)))


def test_admins_hear_once_when_80_percent_of_the_places_are_taken(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, user_limit=5)
    for _ in range(3):
        factories.member_with_grant(db, admin, offer.id)
    assert schedule.warn_running_low(db, rules()) == 0
    factories.member_with_grant(db, admin, offer.id)
    assert schedule.warn_running_low(db, rules()) == 1
    assert schedule.warn_running_low(db, rules()) == 0
    assert admin_notes(db, admin) == [f'"{offer.name}" is running low: 4 of its 5 places are '
                                      "taken. You can add places or create another offer."]
    assert schedule.warn_running_low(db, rules(AUTHORISATION_LOW_PERCENT=100)) == 0


def test_sessions_running_low_are_told_only_about_enough_people(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, user_limit=5, sessions_per_user=1)
    therapist_id = bf.therapist(db)
    people = [factories.member_with_grant(db, admin, offer.id)[0] for _ in range(4)]
    for hours, person in enumerate(people):
        bookings.book(db, person, therapist_id=therapist_id, starts_at=bf.slot(72 + hours),
                      modality="video")
    schedule.warn_running_low(db, rules())  # the places notice
    assert not any("sessions are booked" in text for text in admin_notes(db, admin))  # withheld
    fifth = factories.member_with_grant(db, admin, offer.id)[0]
    assert schedule.warn_running_low(db, rules()) == 1
    assert admin_notes(db, admin)[-1].endswith(
        "4 of its 5 sessions are booked. You can top it up with more sessions per place.")
    bookings.book(db, fifth, therapist_id=therapist_id, starts_at=bf.slot(90), modality="video")
    assert schedule.warn_running_low(db, rules()) == 0
