"""Bookings, vouchers, cancellation and rescheduling through the service layer, on both
databases. Every refusal is checked to change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from backend.domain.enums import BookingStatus, Modality, VoucherStatus
from backend.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.models import AuditEvent, Grant, Organisation, Voucher
from backend.services import authorisations, bookings, invites
from backend.services.bookings import checks
from tests.backend import booking_factories as bf
from tests.backend import factories


def committed(db, grant_id: int) -> int:
    with db.reader() as session:
        return session.get(Grant, grant_id).sessions_committed


def voucher_status(db, booking_id: int) -> VoucherStatus | None:
    with db.reader() as session:
        return session.scalar(select(Voucher.status).where(Voucher.booking_id == booking_id))


def grant_for(db, admin, member, **fields):
    """The (existing) member redeems an invite to a new authorisation: the grant view."""
    offer = factories.authorisation(db, admin, **fields)
    return invites.redeem(db, member, invites.create(db, admin, offer.id).code).grant


@pytest.fixture
def world(db):
    """An organisation, a member with a 7-session first-relationship grant, a therapist."""
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=7)
    member, grant = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db)
    return World(db, admin, offer.id, member, grant.id, therapist_id)


@dataclass
class World:
    db: object
    admin: object
    offer_id: int
    member: object
    grant_id: int
    therapist_id: int

    def book(self, hours_ahead: int = 72, **fields):
        """Booked `hours_ahead` from now; sooner than a new booking may start, booked at the
        first hour it may and then moved there."""
        actor = fields.pop("actor", self.member)
        wanted = bf.hours_from_now(hours_ahead)
        values = {"therapist_id": self.therapist_id, "starts_at": bf.bookable(wanted),
                  "modality": "video"}
        values.update(fields)
        booked = bookings.book(self.db, actor, **values)
        if "starts_at" not in fields and values["starts_at"] != wanted:
            bf.move_to(self.db, booked.id, wanted)
        return booked

    @property
    def therapist(self):
        return bf.therapist_actor(self.db, self.therapist_id)


# --- booking -----------------------------------------------------------------------------------


def test_booking_with_a_grant_holds_one_session(world):
    db = world.db
    starts = bf.slot(72)
    booked = bookings.book(db, world.member, therapist_id=world.therapist_id,
                           starts_at=starts.isoformat(), modality=Modality.VIDEO)
    assert booked.status is BookingStatus.REQUESTED
    assert booked.starts_at == starts and booked.ends_at == starts + timedelta(minutes=50)
    assert booked.paid_by_organisation and booked.grant_id == world.grant_id
    assert booked.sessions_remaining_on_grant == 6
    assert booked.therapist_name.startswith("Dr Therapist")
    assert voucher_status(db, booked.id) is VoucherStatus.HELD
    assert committed(db, world.grant_id) == 1
    with db.reader() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.requested"))
    assert event.subject_id == booked.id and event.organisation_id == world.admin.organisation_id


def test_start_times_are_taken_in_any_offset(world):
    starts = bf.slot(72)
    in_new_york = starts.astimezone(datetime.fromisoformat("2026-01-01T00:00:00-05:00").tzinfo)
    booked = world.book(starts_at=in_new_york)
    assert booked.starts_at == starts and booked.starts_at.utcoffset() == timedelta(0)


def test_the_grant_with_most_sessions_left_that_covers_the_therapist_pays(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    seen, other = bf.therapist(db), bf.therapist(db)
    bf.make_seen(db, member, seen)
    existing = grant_for(db, admin, member, coverage="existing_relationship", sessions_per_user=2)
    new = grant_for(db, admin, member, coverage="new_relationship", sessions_per_user=5)
    bigger_existing = grant_for(db, admin, member, coverage="existing_relationship",
                                sessions_per_user=4)
    # Only the existing-relationship grants cover the therapist already seen; the bigger pays.
    first = bookings.book(db, member, therapist_id=seen, starts_at=bf.slot(50),
                          modality=Modality.VIDEO)
    assert first.grant_id == bigger_existing.id and first.sessions_remaining_on_grant == 3
    # Only the new-relationship grant covers someone new.
    second = bookings.book(db, member, therapist_id=other, starts_at=bf.slot(50),
                           modality=Modality.VIDEO)
    assert second.grant_id == new.id
    assert committed(db, existing.id) == 0


def test_an_existing_relationship_voucher_cannot_pay_a_therapist_never_seen(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    seen, stranger_therapist = bf.therapist(db), bf.therapist(db)
    bf.make_seen(db, member, seen)
    grant = grant_for(db, admin, member, coverage="existing_relationship")
    before = bf.snapshot(db)
    with pytest.raises(Conflict, match="already seen") as refused:
        bookings.book(db, member, therapist_id=stranger_therapist, starts_at=bf.slot(60),
                      modality=Modality.VIDEO, grant_id=grant.id)
    assert refused.value.code == "coverage"
    with pytest.raises(Conflict, match="None of your organisation's offers"):
        bookings.book(db, member, therapist_id=stranger_therapist, starts_at=bf.slot(60),
                      modality=Modality.VIDEO)
    assert bf.snapshot(db) == before
    assert bookings.book(db, member, therapist_id=seen, starts_at=bf.slot(60),
                         modality=Modality.VIDEO, grant_id=grant.id).paid_by_organisation


def test_a_first_relationship_grant_keeps_paying_for_the_therapist_it_introduced(world):
    first = world.book(50)
    bookings.confirm(world.db, world.therapist, first.id)
    again = world.book(74)
    assert again.grant_id == world.grant_id and again.sessions_remaining_on_grant == 5


def test_without_a_usable_grant_booking_needs_an_explicit_self_pay(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    therapist_id = bf.therapist(db)
    before = bf.snapshot(db)
    with pytest.raises(Conflict, match="self-paid") as refused:
        bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(60),
                      modality=Modality.VIDEO)
    assert refused.value.code == "no_usable_grant"
    assert bf.snapshot(db) == before
    booked = bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(60),
                           modality=Modality.VIDEO, self_pay=True)
    assert not booked.paid_by_organisation and booked.grant_id is None
    assert voucher_status(db, booked.id) is None


def test_self_pay_books_without_touching_a_grant(world):
    booked = world.book(self_pay=True)
    assert not booked.paid_by_organisation
    assert committed(world.db, world.grant_id) == 0


@pytest.mark.parametrize("verb", ["pause", "revoke"])
def test_a_paused_or_revoked_authorisation_pays_for_no_new_bookings(world, verb):
    authorisations.change_status(world.db, world.admin, world.offer_id, verb)
    before = bf.snapshot(world.db)
    with pytest.raises(Conflict, match=verb.rstrip("e")) as refused:
        world.book(grant_id=world.grant_id)
    assert refused.value.code == "authorisation_inactive"
    with pytest.raises(Conflict, match="None of your organisation's offers"):
        world.book()
    assert bf.snapshot(world.db) == before


def test_a_grant_never_books_more_sessions_than_allowed(db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=2)
    member, grant = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db)
    for hours in (50, 51):
        bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(hours),
                      modality=Modality.VIDEO)
    before = bf.snapshot(db)
    with pytest.raises(Conflict, match="used all 2 sessions") as refused:
        bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(52),
                      modality=Modality.VIDEO, grant_id=grant.id)
    assert refused.value.code == "no_sessions_left"
    with pytest.raises(Conflict, match="used all 2 sessions"):
        bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(52),
                      modality=Modality.VIDEO)
    assert bf.snapshot(db) == before and committed(db, grant.id) == 2


def test_a_slot_cannot_be_booked_twice(world):
    starts = bf.slot(80)
    world.book(starts_at=starts)
    other, _ = factories.member_with_grant(world.db, world.admin, world.offer_id)
    before = bf.snapshot(world.db)
    with pytest.raises(Conflict, match="just been taken") as refused:
        world.book(starts_at=starts, actor=other)
    assert refused.value.code == "slot_taken"
    assert bf.snapshot(world.db) == before


def test_the_unique_index_is_the_last_line_of_defence(world, monkeypatch):
    """Even when the slot check is fooled (a race), the index refuses the second booking and
    the refusal is the same friendly Conflict."""
    starts = bf.slot(80)
    world.book(starts_at=starts)
    monkeypatch.setattr(checks, "is_free_slot", lambda *args, **kwargs: True)
    before = bf.snapshot(world.db)
    with pytest.raises(Conflict, match="just been taken"):
        world.book(starts_at=starts, self_pay=True)
    with pytest.raises(Conflict, match="just been taken"):
        world.book(starts_at=starts)
    assert bf.snapshot(world.db) == before


def test_a_modality_the_therapist_does_not_offer_is_refused(world):
    before = bf.snapshot(world.db)
    with pytest.raises(InvalidInput, match="doesn't offer phone sessions; they offer video"):
        world.book(modality=Modality.PHONE)
    assert bf.snapshot(world.db) == before
    in_person = bf.therapist(world.db, in_person=True, video=False)
    booked = world.book(therapist_id=in_person, modality=Modality.IN_PERSON)
    assert booked.modality is Modality.IN_PERSON


def test_only_slots_inside_the_weekly_windows_can_be_booked(world):
    # Mondays 09:00-12:00 local time: 09:00, 10:00 and 11:00 starts (50-minute sessions).
    mondays = bf.therapist(world.db, windows=[(0, 9 * 60, 12 * 60)])
    slot = _next_local(weekday=0, hour=10)
    before = bf.snapshot(world.db)
    for wrong in (slot + timedelta(hours=2), slot + timedelta(minutes=30),
                  slot + timedelta(days=1)):
        with pytest.raises(InvalidInput, match="no session starting at that time"):
            world.book(therapist_id=mondays, starts_at=wrong)
    assert bf.snapshot(world.db) == before
    assert world.book(therapist_id=mondays, starts_at=slot).starts_at == slot


def _next_local(*, weekday: int, hour: int) -> datetime:
    """The first such local (Europe/London) time a new booking may start at, as UTC."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/London")
    earliest = bf.earliest_new_booking()
    day = earliest.astimezone(zone).date()
    while True:
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
        if day.weekday() == weekday and moment >= earliest:
            return moment.astimezone(ZoneInfo("UTC"))
        day += timedelta(days=1)


# Wrong JSON types and unreadable times are refused at the API edge
# (tests/backend/api/test_booking_routes.py); the service gets typed values.
BAD_BOOKINGS = [
    ({"therapist_id": None}, InvalidInput, "Please give the therapist id"),
    ({"therapist_id": 999_999}, NotFound, "no therapist"),
    ({"starts_at": None}, InvalidInput, "Please give the start time"),
    ({"starts_at": datetime(2030, 1, 1, 10)}, InvalidInput, "offset"),  # no time zone
    ({"starts_at": datetime(2020, 1, 6, 10, tzinfo=timezone.utc)}, InvalidInput,
     "already passed"),
    ({"starts_at": bf.slot(24 * 60)}, InvalidInput, "28 days ahead"),
    ({"modality": None}, InvalidInput, "Please give the modality"),
    ({"grant_id": 999_999}, NotFound, "no place"),
    ({"self_pay": True, "grant_id": 1}, InvalidInput, "not both"),
]


@pytest.mark.parametrize(("fields", "error", "fragment"), BAD_BOOKINGS)
def test_bad_booking_input_is_refused_and_changes_nothing(world, fields, error, fragment):
    before = bf.snapshot(world.db)
    with pytest.raises(error, match=f"(?i){fragment}"):
        world.book(**fields)
    assert bf.snapshot(world.db) == before


def test_another_members_or_organisations_grant_cannot_pay(world):
    db = world.db
    _, colleague_grant = factories.member_with_grant(db, world.admin, world.offer_id)
    other_admin = factories.register_organisation(db, "Globex")
    other_offer = factories.authorisation(db, other_admin)
    _, foreign_grant = factories.member_with_grant(db, other_admin, other_offer.id)
    before = bf.snapshot(db)
    for grant_id in (colleague_grant.id, foreign_grant.id):
        with pytest.raises(NotFound):
            world.book(grant_id=grant_id)
    assert bf.snapshot(db) == before


def test_people_outside_an_organisation_and_therapists_cannot_book(world):
    with pytest.raises(PermissionDenied):
        world.book(actor=factories.stranger(world.db))
    with pytest.raises(PermissionDenied):
        world.book(actor=world.therapist)


# --- therapist side ----------------------------------------------------------------------------


def test_therapist_confirms_then_completes_and_the_session_is_used(world):
    db = world.db
    booked = world.book(50)
    therapist = world.therapist
    assert [b.id for b in bookings.list_for_therapist(db, therapist)] == [booked.id]
    confirmed = bookings.confirm(db, therapist, booked.id)
    assert confirmed.status is BookingStatus.CONFIRMED and confirmed.member_name
    assert confirmed.grant_id is None  # the therapist does not see the member's grants
    assert bookings.list_for_therapist(db, therapist) == []
    with pytest.raises(Conflict, match="once it has started"):
        bookings.complete(db, therapist, booked.id)
    bf.move_into_past(db, booked.id)
    done = bookings.complete(db, therapist, booked.id)
    assert done.status is BookingStatus.COMPLETED and done.voucher_status is VoucherStatus.USED
    assert committed(db, world.grant_id) == 1
    assert bookings.get(db, world.member, booked.id).sessions_remaining_on_grant == 6


def test_a_declined_booking_gives_the_session_back(world):
    booked = world.book(50)
    declined = bookings.decline(world.db, world.therapist, booked.id)
    assert declined.status is BookingStatus.DECLINED
    assert voucher_status(world.db, booked.id) is VoucherStatus.RELEASED
    assert committed(world.db, world.grant_id) == 0
    # The slot is free again.
    assert world.book(starts_at=booked.starts_at).status is BookingStatus.REQUESTED


@pytest.mark.parametrize(
    ("setup", "action", "fragment"),
    [
        ("declined", bookings.confirm, "was declined"),
        ("declined", bookings.decline, "was declined"),
        ("requested", bookings.complete, "waiting for the therapist"),
        ("confirmed", bookings.decline, "already been confirmed"),
        ("confirmed", bookings.confirm, "already been confirmed"),
        ("cancelled", bookings.confirm, "has been cancelled"),
        ("completed", bookings.cancel_by_therapist, "already taken place"),
        ("requested", bookings.waive_late_cancellation, "no late cancellation"),
    ],
)
def test_invalid_transitions_are_refused_and_change_nothing(world, setup, action, fragment):
    db, therapist = world.db, world.therapist
    booked = world.book(50)
    if setup in ("declined",):
        bookings.decline(db, therapist, booked.id)
    if setup in ("confirmed", "completed"):
        bookings.confirm(db, therapist, booked.id)
    if setup == "completed":
        bf.move_into_past(db, booked.id)
        bookings.complete(db, therapist, booked.id)
    if setup == "cancelled":
        bookings.cancel(db, world.member, booked.id)
    before = bf.snapshot(db)
    with pytest.raises(Conflict, match=fragment):
        action(db, therapist, booked.id)
    assert bf.snapshot(db) == before


def test_only_the_bookings_therapist_acts_on_it(world):
    db = world.db
    booked = world.book(50)
    other_therapist = bf.therapist_actor(db, bf.therapist(db))
    before = bf.snapshot(db)
    for action in (bookings.confirm, bookings.decline, bookings.complete,
                   bookings.cancel_by_therapist, bookings.waive_late_cancellation):
        with pytest.raises(NotFound):
            action(db, other_therapist, booked.id)
        with pytest.raises(PermissionDenied):
            action(db, world.member, booked.id)
        with pytest.raises(NotFound):
            action(db, world.therapist, 999_999)
    assert bf.snapshot(db) == before
    with pytest.raises(NotFound):
        bookings.get(db, other_therapist, booked.id)
    assert bookings.get(db, world.therapist, booked.id).member_name


# --- cancellation ------------------------------------------------------------------------------


def test_cancelling_in_time_gives_the_session_back(world):
    db = world.db
    booked = world.book(72)
    preview = bookings.cancellation_preview(db, world.member, booked.id)
    assert preview.session_returned and not preview.late and preview.can_reschedule
    assert preview.window_hours == 48
    assert preview.deadline == booked.starts_at - timedelta(hours=48)
    assert "goes back" in preview.message and "reschedule" in preview.message
    cancelled = bookings.cancel(db, world.member, booked.id)
    assert cancelled.status is BookingStatus.CANCELLED
    assert cancelled.voucher_status is VoucherStatus.RELEASED
    assert cancelled.sessions_remaining_on_grant == 7 and committed(db, world.grant_id) == 0


def test_cancelling_late_uses_the_session_unless_the_therapist_waives_it(world):
    db = world.db
    booked = world.book(20)
    preview = bookings.cancellation_preview(db, world.member, booked.id)
    assert preview.late and not preview.session_returned and not preview.can_reschedule
    assert "counts as used" in preview.message and "waives" in preview.message
    cancelled = bookings.cancel(db, world.member, booked.id)
    assert cancelled.voucher_status is VoucherStatus.USED
    assert committed(db, world.grant_id) == 1
    waived = bookings.waive_late_cancellation(db, world.therapist, booked.id)
    assert waived.voucher_status is VoucherStatus.RELEASED
    assert committed(db, world.grant_id) == 0
    before = bf.snapshot(db)
    with pytest.raises(Conflict, match="no late cancellation"):
        bookings.waive_late_cancellation(db, world.therapist, booked.id)
    assert bf.snapshot(db) == before


def test_a_therapist_cancelling_late_never_costs_the_member_the_session(world):
    booked = world.book(5)
    bookings.confirm(world.db, world.therapist, booked.id)
    cancelled = bookings.cancel_by_therapist(world.db, world.therapist, booked.id)
    assert cancelled.status is BookingStatus.CANCELLED
    assert voucher_status(world.db, booked.id) is VoucherStatus.RELEASED
    assert committed(world.db, world.grant_id) == 0


def test_the_organisations_own_cancellation_window_applies(world):
    with world.db.transaction() as session:
        session.execute(update(Organisation).where(
            Organisation.id == world.admin.organisation_id).values(cancellation_window_hours=4))
    booked = world.book(10)
    preview = bookings.cancellation_preview(world.db, world.member, booked.id)
    assert preview.window_hours == 4 and preview.session_returned
    assert bookings.cancel(world.db, world.member, booked.id).voucher_status is \
        VoucherStatus.RELEASED


def test_a_booking_is_cancelled_once(world):
    booked = world.book(72)
    bookings.cancel(world.db, world.member, booked.id)
    before = bf.snapshot(world.db)
    with pytest.raises(Conflict, match="has been cancelled"):
        bookings.cancel(world.db, world.member, booked.id)
    with pytest.raises(Conflict, match="has been cancelled"):
        bookings.cancellation_preview(world.db, world.member, booked.id)
    assert bf.snapshot(world.db) == before


def test_self_paid_cancellation_preview_mentions_no_allowance(world):
    booked = world.book(20, self_pay=True)
    preview = bookings.cancellation_preview(world.db, world.member, booked.id)
    assert not preview.paid_by_organisation and not preview.session_returned and preview.late
    assert "fee" in preview.message


# --- rescheduling ------------------------------------------------------------------------------


def test_rescheduling_moves_the_same_voucher_to_the_new_slot(world):
    db = world.db
    old = world.book(72)
    with db.reader() as session:
        voucher_id = session.scalar(select(Voucher.id).where(Voucher.booking_id == old.id))
    target = bf.slot(100)
    new = bookings.reschedule(db, world.member, old.id, starts_at=target)
    assert new.rescheduled_from_id == old.id and new.status is BookingStatus.REQUESTED
    assert new.starts_at == target and new.modality == old.modality
    assert new.paid_by_organisation and new.grant_id == world.grant_id
    assert new.sessions_remaining_on_grant == 6 and committed(db, world.grant_id) == 1
    assert bookings.get(db, world.member, old.id).status is BookingStatus.CANCELLED
    with db.reader() as session:
        vouchers = session.execute(select(Voucher.id, Voucher.booking_id, Voucher.status)).all()
    assert vouchers == [(voucher_id, new.id, VoucherStatus.HELD)]
    # The old slot is free again.
    assert world.book(starts_at=old.starts_at, self_pay=True)


def test_rescheduling_inside_the_window_is_refused_with_a_reason(world):
    old = world.book(20)
    before = bf.snapshot(world.db)
    with pytest.raises(Conflict, match="less than 48 hours") as refused:
        bookings.reschedule(world.db, world.member, old.id, starts_at=bf.slot(100))
    assert refused.value.code == "inside_cancellation_window"
    assert bf.snapshot(world.db) == before


def test_rescheduling_to_a_bad_slot_changes_nothing(world):
    db = world.db
    old = world.book(72)
    taken = world.book(90, self_pay=True)
    before = bf.snapshot(db)
    for starts_at, error, fragment in [
        (taken.starts_at, Conflict, "just been taken"),
        (old.starts_at, InvalidInput, "already the time"),
        (bf.slot(100) + timedelta(minutes=15), InvalidInput, "no session starting"),
        (datetime(2020, 1, 1, 10, tzinfo=timezone.utc), InvalidInput, "already passed"),
        (None, InvalidInput, "Please give the start time"),
    ]:
        with pytest.raises(error, match=fragment):
            bookings.reschedule(db, world.member, old.id, starts_at=starts_at)
    assert bf.snapshot(db) == before
    bookings.cancel(db, world.member, taken.id)
    with pytest.raises(Conflict, match="has been cancelled"):
        bookings.reschedule(db, world.member, taken.id, starts_at=bf.slot(110))


# --- confidentiality and listing ---------------------------------------------------------------


def test_only_the_member_and_the_therapist_see_a_booking(world):
    db = world.db
    booked = world.book(72)
    colleague, _ = factories.member_with_grant(db, world.admin, world.offer_id)
    other_admin = factories.register_organisation(db, "Globex")
    before = bf.snapshot(db)
    for outsider in (world.admin, colleague, other_admin):
        with pytest.raises(NotFound):
            bookings.get(db, outsider, booked.id)
        with pytest.raises(NotFound):
            bookings.cancellation_preview(db, outsider, booked.id)
        with pytest.raises(NotFound):
            bookings.cancel(db, outsider, booked.id)
        with pytest.raises(NotFound):
            bookings.reschedule(db, outsider, booked.id, starts_at=bf.slot(100))
        assert bookings.list_mine(db, outsider) == []
    assert bf.snapshot(db) == before
    assert bookings.get(db, world.member, booked.id).id == booked.id
    with pytest.raises(NotFound):
        bookings.get(db, world.member, 999_999)


def test_list_mine_shows_upcoming_open_bookings_unless_asked_for_all(world):
    db = world.db
    later, sooner = world.book(100), world.book(60)
    cancelled = world.book(80)
    bookings.cancel(db, world.member, cancelled.id)
    assert [b.id for b in bookings.list_mine(db, world.member)] == [sooner.id, later.id]
    everything = bookings.list_mine(db, world.member, upcoming_only=False)
    assert [b.id for b in everything] == [sooner.id, cancelled.id, later.id]


def test_every_booking_change_is_audited(world):
    db, therapist = world.db, world.therapist
    first = world.book(72)
    moved = bookings.reschedule(db, world.member, first.id, starts_at=bf.slot(90))
    bookings.confirm(db, therapist, moved.id)
    bookings.cancel(db, world.member, moved.id)
    second = world.book(60)
    bookings.decline(db, therapist, second.id)
    with db.reader() as session:
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_type == "booking").order_by(AuditEvent.id)).all()
    assert actions == ["booking.requested", "booking.rescheduled", "booking.confirmed",
                       "booking.cancelled", "booking.requested", "booking.declined"]
