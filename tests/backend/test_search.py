"""Therapist search, profiles and free slots through the service layer, on both databases."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from backend.db import Database
from backend.demo_directory import Profile, add_therapist
from backend.domain.enums import AuthorisationStatus, Modality
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.slots import Window
from backend.models import AuditEvent, Authorisation, Booking, Therapist
from backend.services import bookings, grants
from backend.services import search as therapists
from backend.services.policy import DEFAULT_POLICY
from tests.backend import booking_factories, factories

LONDON = DEFAULT_POLICY.zone
ALL_WEEK = tuple(Window(day, 0, 24 * 60) for day in range(7))
_names = itertools.count(1)


def add(db: Database, **overrides) -> int:
    """A therapist helping with anxiety and stress, CBT, English, video, free all week."""
    fields = {"name": f"Therapist {next(_names)}", "gender": "female", "fee_minor": 8000,
              "issues": ("anxiety", "stress"), "therapy_types": ("CBT",),
              "languages": ("English",), "windows": ALL_WEEK}
    fields.update(overrides)
    with db.transaction() as session:
        return add_therapist(session, Profile(**fields))


def every_day(start_hour: int, end_hour: int) -> tuple[Window, ...]:
    return tuple(Window(day, start_hour * 60, end_hour * 60) for day in range(7))


def found(db: Database, filters: dict, actor=None) -> list[int]:
    result = therapists.search(db, actor or factories.stranger(db), {"limit": 20, **filters})
    return [match.therapist.id for match in result.results]


def local(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    assert moment.utcoffset() == timedelta(0)
    return moment.astimezone(LONDON)


# (filters, overrides of a therapist who passes, overrides of one who fails)
FILTER_CASES = {
    "issue": ({"issues": ["trauma"]}, {"issues": ("trauma",)}, {"issues": ("anxiety",)}),
    "therapy type": ({"therapy_type": "EMDR"}, {"therapy_types": ("EMDR", "CBT")}, {}),
    "gender": ({"gender": "male"}, {"gender": "male"}, {"gender": "female"}),
    "language": ({"language": "Polish"}, {"languages": ("English", "Polish")}, {}),
    "video": ({"modality": "video"}, {}, {"offers_video": False, "offers_phone": True}),
    "phone": ({"modality": "phone"}, {"offers_phone": True}, {}),
    "in person at a location": (
        {"modality": "in_person", "location": "Leeds"},
        {"offers_in_person": True, "location": "Leeds"},
        {"offers_in_person": True, "location": "London"}),
    "in person anywhere": ({"modality": "in_person"},
                           {"offers_in_person": True, "location": "York"}, {}),
    "day": ({"days": ["tuesday"]}, {"windows": (Window(1, 9 * 60, 12 * 60),)},
            {"windows": (Window(0, 9 * 60, 12 * 60), Window(2, 9 * 60, 12 * 60))}),
    "day number": ({"days": [4]}, {"windows": (Window(4, 9 * 60, 12 * 60),)},
                   {"windows": (Window(3, 9 * 60, 12 * 60),)}),
    "part of day": ({"times": ["evening"]}, {"windows": every_day(18, 20)},
                    {"windows": every_day(9, 12)}),
    "after": ({"after": "18:00"}, {"windows": every_day(18, 21)}, {"windows": every_day(9, 17)}),
    "before": ({"before": "12:00"}, {"windows": every_day(9, 11)},
               {"windows": every_day(14, 17)}),
}


@pytest.mark.parametrize("case", FILTER_CASES)
def test_each_filter_keeps_those_who_pass_and_drops_those_who_fail(db, case):
    filters, passing, failing = FILTER_CASES[case]
    passes = add(db, **passing)
    fails = add(db, **failing)
    ids = found(db, filters)
    assert passes in ids and fails not in ids
    assert set(found(db, {})) == {passes, fails}


def test_filters_combine_and_anonymous_visitors_may_search(db):
    wanted = add(db, issues=("anxiety", "grief and loss"), languages=("English", "Polish"),
                 windows=(Window(1, 17 * 60, 20 * 60),), offers_phone=True)
    add(db, issues=("anxiety",), languages=("English", "Polish"), windows=every_day(9, 12))
    add(db, issues=("grief and loss",), windows=(Window(1, 17 * 60, 20 * 60),))
    filters = {"issues": ["Grief"], "language": "polish", "days": ["Tue"],
               "times": ["evenings"], "modality": ["phone", "video"]}
    assert found(db, filters) == [wanted]


def test_results_are_ranked_by_matched_issues_then_soonest_slot_then_id(db):
    today = datetime.now(LONDON).weekday()
    later = (Window((today - 1) % 7, 9 * 60, 12 * 60),)  # next free in about six days
    one_issue_soon = add(db, issues=("anxiety",))
    two_issues_late = add(db, issues=("anxiety", "stress"), windows=later)
    two_issues_soon_b = add(db, issues=("anxiety", "stress"))
    two_issues_soon_a = add(db, issues=("stress", "anxiety", "trauma"))
    ids = found(db, {"issues": ["anxiety", "stress"]})
    assert ids == [two_issues_soon_b, two_issues_soon_a, two_issues_late, one_issue_soon]


def test_reasons_say_why_each_therapist_matches(db):
    add(db, issues=("anxiety", "stress", "trauma"), languages=("English", "Polish"),
        therapy_types=("CBT", "EMDR"), windows=(Window(1, 17 * 60, 21 * 60),),
        offers_in_person=True, location="Leeds")
    result = therapists.search(db, factories.stranger(db), {
        "issues": ["anxiety", "stress", "depression"], "language": "Polish",
        "therapy_type": "EMDR", "gender": "female", "modality": ["video", "in_person"],
        "days": ["tue", "wed"], "times": ["evening"]})
    [match] = result.results
    assert match.reasons == [
        "helps with anxiety and stress", "offers EMDR", "speaks Polish", "female therapist",
        "sees people in person in Leeds", "video sessions", "has Tuesday evenings free",
    ]
    assert result.filters["days"] == ["Tuesday", "Wednesday"]
    assert result.filters["issues"] == ["anxiety", "stress", "depression"]


def test_profile_in_results_is_public_and_complete(db):
    tid = add(db, issues=("trauma", "anxiety"), therapy_types=("EMDR",),
              languages=("English", "Welsh"), offers_in_person=True, location="Cardiff",
              offers_phone=True, fee_minor=9500)
    [match] = therapists.search(db, factories.stranger(db), {}).results
    profile = match.therapist
    assert profile == therapists.profile(db, factories.stranger(db), tid)
    assert (profile.id, profile.gender, profile.location, profile.fee_minor, profile.currency) \
        == (tid, "female", "Cardiff", 9500, "GBP")
    assert profile.issues == ["anxiety", "trauma"]  # vocabulary order
    assert profile.languages == ["English", "Welsh"]
    assert profile.modalities == ["in_person", "video", "phone"]
    # With no filter to match, the reasons say what the therapist offers, never nothing.
    assert match.reasons == ["helps with anxiety and trauma", "speaks English and Welsh",
                             "meets in person in Cardiff, by video or by phone"]
    with pytest.raises(NotFound):
        therapists.profile(db, factories.stranger(db), tid + 1000)


def test_next_slots_match_the_day_and_time_filters(db):
    add(db, windows=(Window(1, 17 * 60, 20 * 60), Window(3, 9 * 60, 12 * 60)))
    [match] = therapists.search(db, factories.stranger(db),
                                {"days": ["tuesday"], "times": ["evening"]}).results
    assert len(match.next_slots) == 3
    moments = [local(slot) for slot in match.next_slots]
    assert moments == sorted(moments) and moments[0] > datetime.now(timezone.utc)
    assert all(m.weekday() == 1 and 17 <= m.hour < 20 and m.minute == 0 for m in moments)


def test_next_slots_leave_out_booked_slots_and_count_cancelled_ones_free(db):
    tid = add(db)
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    [match] = therapists.search(db, member, {}).results
    first = datetime.fromisoformat(match.next_slots[0])
    booked = bookings.book(db, member, therapist_id=tid, starts_at=first, modality=Modality.VIDEO,
                           self_pay=True)
    [match] = therapists.search(db, member, {}).results
    assert match.next_slots[0] != first.isoformat() and len(match.next_slots) == 3
    assert first not in therapists.free_slots(db, member, tid, days=2)
    bookings.cancel(db, member, booked.id)
    [match] = therapists.search(db, member, {}).results
    assert match.next_slots[0] == first.isoformat()


def test_a_therapist_whose_matching_slots_are_all_booked_is_not_listed(db):
    tid = add(db, windows=(Window(2, 10 * 60, 11 * 60),))  # one slot a week, on Wednesdays
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    slots = therapists.free_slots(db, member, tid, days=28)
    assert slots and all(s.astimezone(LONDON).weekday() == 2 for s in slots)
    for moment in slots:
        bookings.book(db, member, therapist_id=tid, starts_at=moment, modality=Modality.VIDEO,
                      self_pay=True)
    assert found(db, {"days": ["wed"]}) == []
    assert therapists.free_slots(db, member, tid, days=28) == []


def test_free_slots_and_is_free_slot(db):
    tid = add(db, windows=every_day(9, 12))
    slots = therapists.free_slots(db, factories.stranger(db), tid, days=3)
    assert slots and all(9 <= s.astimezone(LONDON).hour < 12 for s in slots)
    assert len(therapists.free_slots(db, factories.stranger(db), tid, days=28, limit=5)) == 5
    with db.reader() as session:
        assert therapists.is_free_slot(session, tid, slots[0])
        assert not therapists.is_free_slot(session, tid, slots[0] + timedelta(minutes=30))
        assert not therapists.is_free_slot(session, tid, slots[0] - timedelta(days=7))  # past
        far = slots[0] + timedelta(days=7 * (DEFAULT_POLICY.booking_horizon_days // 7 + 1))
        assert not therapists.is_free_slot(session, tid, far)
        assert not therapists.is_free_slot(session, tid + 1000, slots[0])
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    bookings.book(db, member, therapist_id=tid, starts_at=slots[0], modality=Modality.VIDEO,
                  self_pay=True)
    with db.reader() as session:
        assert not therapists.is_free_slot(session, tid, slots[0])
        assert therapists.is_free_slot(session, tid, slots[1])
    with pytest.raises(NotFound):
        therapists.free_slots(db, member, tid + 1000)
    with pytest.raises(InvalidInput):
        therapists.free_slots(db, member, tid, days=0)


def _member_with_offer(db, coverage: str, seen: list[int]):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    for tid in seen:
        booking_factories.make_seen(db, member, tid)
    offer = factories.authorisation(db, admin, coverage=coverage, access="all_members")
    return member, grants.join(db, member, offer.id)


def test_existing_relationship_grant_finds_only_therapists_already_seen(db):
    seen, _unseen = add(db), add(db)
    member, grant = _member_with_offer(db, "existing_relationship", [seen])
    assert found(db, {"grant_id": grant.id}, member) == [seen]
    # Naming no grant lists what one of the member's grants pays for, as booking then picks it.
    assert found(db, {}, member) == [seen]


def test_with_no_grant_that_can_pay_the_search_lists_everyone(db):
    seen, other = add(db), add(db)
    member, grant = _member_with_offer(db, "existing_relationship", [seen])
    with db.transaction() as session:
        session.get(Authorisation, grant.authorisation_id).status = AuthorisationStatus.PAUSED
    assert set(found(db, {}, member)) == {seen, other}
    assert set(found(db, {}, factories.stranger(db))) == {seen, other}


def test_new_relationship_grant_finds_only_therapists_not_seen(db):
    seen, other, third = add(db), add(db), add(db, issues=("trauma",))
    member, grant = _member_with_offer(db, "new_relationship", [seen])
    assert found(db, {"grant_id": grant.id}, member) == [other, third]
    assert found(db, {"grant_id": grant.id, "issues": ["trauma"]}, member) == [third]


def test_first_relationship_grant_finds_everyone_and_grants_are_private(db):
    first, second = add(db), add(db)
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, coverage="first_relationship")
    member, grant = factories.member_with_grant(db, admin, offer.id)
    assert found(db, {"grant_id": grant.id}, member) == [first, second]
    someone_else = factories.add_member(db, admin.organisation_id)
    for actor in (someone_else, factories.stranger(db), admin):
        with pytest.raises(NotFound):
            therapists.search(db, actor, {"grant_id": grant.id})
    with pytest.raises(NotFound):
        therapists.search(db, member, {"grant_id": grant.id + 1000})


def test_limit_defaults_to_five_and_caps_the_page(db):
    for _ in range(7):
        add(db)
    stranger = factories.stranger(db)
    assert len(therapists.search(db, stranger, {}).results) == 5
    assert len(therapists.search(db, stranger, {"limit": 2}).results) == 2
    assert len(therapists.search(db, stranger, {"limit": 20}).results) == 7


@pytest.mark.parametrize(
    ("filters", "hint"),
    [
        ({"colour": "blue"}, "Filters: issues, days"),
        ({"issues": ["astrology"]}, "anxiety, depression"),
        ({"issues": 5}, "word or a list of words"),
        ({"issues": [["anxiety"]]}, "word or a list of words"),
        ({"gender": "robot"}, "female, male, non-binary"),
        ({"language": "Klingon"}, "English, Polish"),
        ({"therapy_type": "hypnosis"}, "CBT"),
        ({"modality": "carrier pigeon"}, "in_person, video, phone"),
        ({"location": "Paris"}, "London, Manchester"),
        ({"modality": "video", "location": "Leeds"}, "only to in-person"),
        ({"days": ["someday"]}, "Monday as 0"),
        ({"days": [7]}, "Monday as 0"),
        ({"days": [True]}, "Monday as 0"),
        ({"times": ["midnight"]}, "morning, afternoon, evening"),
        ({"after": "25:00"}, "18:00"),
        ({"after": 18}, "18:00"),
        ({"after": "18:00", "before": "09:00"}, "earlier"),
        ({"after": "21:30", "times": ["morning"]}, "wider"),
        ({"limit": 0}, "between 1 and 20"),
        ({"limit": 21}, "between 1 and 20"),
        ({"limit": "5"}, "whole number"),
        ({"grant_id": "one"}, "positive whole number"),
        ({"issues": ["anxiety"] * 41}, "at most 40"),
    ],
)
def test_bad_filters_are_refused_with_the_valid_choices_and_change_nothing(db, filters, hint):
    add(db)
    with db.reader() as session:
        before = (session.scalar(select(func.count(AuditEvent.id))),
                  session.scalar(select(func.count(Booking.id))),
                  session.scalars(select(Therapist.issues_mask)).all())
    with pytest.raises(InvalidInput) as refused:
        therapists.search(db, factories.stranger(db), filters)
    assert hint in refused.value.message
    with db.reader() as session:
        assert before == (session.scalar(select(func.count(AuditEvent.id))),
                          session.scalar(select(func.count(Booking.id))),
                          session.scalars(select(Therapist.issues_mask)).all())


def test_filters_accept_everyday_words(db):
    query = therapists.parse_filters(
        {"issues": "Panic attack", "days": ["weekends", "Thurs"], "times": "Mornings",
         "gender": "woman", "modality": "face to face", "location": "leeds",
         "therapy_type": "cognitive behavioural therapy", "language": "BSL", "limit": None},
        session_minutes=DEFAULT_POLICY.session_minutes)
    assert query.issues == ("panic attacks",)
    assert query.days == (3, 5, 6)
    assert query.times == ("morning",)
    assert (query.genders, query.modalities, query.locations) == (
        ("female",), ("in_person",), ("Leeds",))
    assert query.therapy_types == ("CBT",) and query.languages == ("British Sign Language",)
    assert query.limit == 5


def test_vocabulary_lists_every_choice():
    words = therapists.vocabulary()
    assert "anxiety" in words.issues and "CBT" in words.therapy_types
    assert words.languages[0] == "English" and "London" in words.locations
    assert words.genders == ["female", "male", "non-binary"]
    assert words.modalities == ["in_person", "video", "phone"]
    assert words.times == ["morning", "afternoon", "evening"] and len(words.days) == 7


def _offer(db, admin, coverage: str, name: str, **fields):
    return factories.authorisation(db, admin, coverage=coverage, access="all_members",
                                   name=name, **fields)


def test_an_existing_relationship_offer_not_yet_joined_shapes_the_search_and_says_so(db):
    """Dan's case: his only offer is an all-members "continue with your therapist" one he has not
    joined; with no filter he is offered the therapist he has seen, not those it cannot pay."""
    seen, _other, _third = add(db), add(db), add(db)
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    booking_factories.make_seen(db, member, seen)
    _offer(db, admin, "existing_relationship", "Continue with your therapist")
    result = therapists.search(db, member, {})
    [match] = result.results
    assert match.therapist.id == seen
    assert match.reasons[0] == "you have seen them before"
    assert match.paid_by == therapists.PaidBy("Continue with your therapist", None,
                                              match.paid_by.authorisation_id)
    assert match.paid_by.authorisation_id is not None
    assert result.paid_for == ["Your organisation's offer “Continue with your therapist” pays "
                               "for a therapist you have seen before."]


def test_a_new_relationship_offer_leaves_out_the_therapists_seen(db):
    seen, other = add(db), add(db)
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    booking_factories.make_seen(db, member, seen)
    _offer(db, admin, "new_relationship", "Someone new")
    result = therapists.search(db, member, {"limit": 20})
    assert [m.therapist.id for m in result.results] == [other]
    assert "you have seen them before" not in result.results[0].reasons
    assert result.paid_for == ["Your organisation's offer “Someone new” pays for a therapist "
                               "you have not seen before."]


def test_with_several_offers_each_result_names_the_one_that_pays(db):
    seen, other = add(db), add(db)
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    booking_factories.make_seen(db, member, seen)
    _offer(db, admin, "existing_relationship", "Continue")
    fresh = factories.authorisation(db, admin, coverage="new_relationship", name="Fresh start")
    with db.transaction() as session:  # a place on the invite-only offer, as an invite gives
        grants.take_place(session, member, session.get(Authorisation, fresh.id),
                          member.member_id)
    result = therapists.search(db, member, {"limit": 20})
    paid = {m.therapist.id: m.paid_by.offer_name for m in result.results}
    assert paid == {seen: "Continue", other: "Fresh start"}
    assert next(m for m in result.results if m.therapist.id == other).paid_by.grant_id
    assert len(result.paid_for) == 2


def test_a_full_or_paused_offer_shapes_nothing(db):
    seen, other = add(db), add(db)
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    booking_factories.make_seen(db, member, seen)
    offer = _offer(db, admin, "existing_relationship", "Continue", user_limit=1)
    someone = factories.add_member(db, admin.organisation_id)
    booking_factories.make_seen(db, someone, seen)
    grants.join(db, someone, offer.id)  # the last place
    result = therapists.search(db, member, {"limit": 20})
    assert {m.therapist.id for m in result.results} == {seen, other}
    assert result.paid_for == [] and all(m.paid_by is None for m in result.results)
