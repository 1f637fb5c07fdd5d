"""What can pay for a member's new session, asked when a booking starts (`GET /me/payers`), on
both databases: each grant and all-members offer with whom it pays for, or why nothing can
(paused, revoked, used up, full, nothing at all) and what the member can do instead. Asking
writes nothing."""

from __future__ import annotations

import pytest

from backend.domain.errors import PermissionDenied
from backend.services import authorisations, bookings, grants
from backend.services.bookings.payers import what_pays
from tests.backend import booking_factories as bf
from tests.backend import factories
from tests.backend.test_quote import every_row, kinds


def ask(db, member):
    before = every_row(db)
    answer = what_pays(db, member)
    assert every_row(db) == before
    return answer


@pytest.fixture
def org(db):
    admin = factories.register_organisation(db)
    return db, admin, bf.therapist(db)


def test_a_usable_grant_says_whom_it_pays_for(org):
    db, admin, _ = org
    offer = factories.authorisation(db, admin, name="Wellbeing support")
    member, grant = factories.member_with_grant(db, admin, offer.id)
    answer = ask(db, member)
    assert answer.can_pay and answer.reason is None and answer.alternatives == []
    [payer] = answer.payers
    assert payer.grant_id == grant.id and payer.usable and payer.sessions_left == 7
    assert answer.message == ("Your organisation's offer “Wellbeing support” pays for any "
                              "therapist.")


def test_an_offer_to_join_for_the_therapist_seen_can_pay(org):
    """Dan's case: only an all-members existing-relationship offer, not joined yet."""
    db, admin, therapist_id = org
    member = factories.add_member(db, admin.organisation_id)
    bf.make_seen(db, member, therapist_id)
    offer = factories.authorisation(db, admin, coverage="existing_relationship",
                                    access="all_members", name="Continue with your therapist")
    answer = ask(db, member)
    assert answer.can_pay
    [payer] = answer.payers
    assert payer.joins_offer and payer.authorisation_id == offer.id and payer.grant_id is None
    assert "pays for a therapist you have seen before" in answer.message


@pytest.mark.parametrize("verb,status", [("pause", "paused"), ("revoke", "revoked")])
def test_a_paused_or_revoked_grant_is_said_before_any_search(org, verb, status):
    """Ben's case: his admin paused the offer he books under."""
    db, admin, _ = org
    offer = factories.authorisation(db, admin, name="Wellbeing support")
    member, _ = factories.member_with_grant(db, admin, offer.id)
    authorisations.change_status(db, admin, offer.id, verb)
    answer = ask(db, member)
    assert not answer.can_pay and answer.reason == "authorisation_inactive"
    assert f"“Wellbeing support” is {status}" in answer.message
    assert "organisation pays" not in answer.message
    assert kinds(answer) == ["ask_admin", "self_pay", "talk_to_person"]
    assert answer.alternatives[1].fee_minor == 8000 and "£80.00" in answer.alternatives[1].message
    assert answer.payers[0].reason == "authorisation_inactive" and not answer.payers[0].usable


def test_a_paused_all_members_offer_is_said_too(org):
    db, admin, _ = org
    member = factories.add_member(db, admin.organisation_id)
    offer = factories.authorisation(db, admin, access="all_members", name="Everyone")
    authorisations.change_status(db, admin, offer.id, "pause")
    answer = ask(db, member)
    assert not answer.can_pay and answer.reason == "authorisation_inactive"
    assert "“Everyone” is paused" in answer.message


def test_a_used_up_grant_says_no_sessions_left(org):
    db, admin, therapist_id = org
    offer = factories.authorisation(db, admin, sessions_per_user=1, name="One session")
    member, _ = factories.member_with_grant(db, admin, offer.id)
    bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(72).isoformat(),
                  modality="video")
    answer = ask(db, member)
    assert not answer.can_pay and answer.reason == "no_sessions_left"
    assert "used all 1 sessions of “One session”" in answer.message
    assert "ask_admin" in kinds(answer)


def test_a_full_all_members_offer_says_no_places_left(org):
    db, admin, _ = org
    offer = factories.authorisation(db, admin, access="all_members", user_limit=1, name="Few")
    grants.join(db, factories.add_member(db, admin.organisation_id), offer.id)
    answer = ask(db, factories.add_member(db, admin.organisation_id))
    assert not answer.can_pay and answer.reason == "no_places_left"
    assert "places" in answer.message and "ask_admin" in kinds(answer)


def test_with_nothing_from_the_organisation_it_says_how_to_get_some(org):
    db, admin, _ = org
    answer = ask(db, factories.add_member(db, admin.organisation_id))
    assert not answer.can_pay and answer.reason == "no_usable_grant" and answer.payers == []
    assert "Redeem an invite code" in answer.message
    assert kinds(answer) == ["ask_admin", "self_pay", "talk_to_person"]


def test_an_offer_ones_history_does_not_fit_is_told_only_when_nothing_else_is(org):
    db, admin, _ = org
    member = factories.add_member(db, admin.organisation_id)  # has seen nobody
    factories.authorisation(db, admin, coverage="existing_relationship", access="all_members",
                            name="Continue")
    answer = ask(db, member)
    assert not answer.can_pay and answer.reason == "coverage"
    assert "already seen a therapist" in answer.message
    paused = factories.authorisation(db, admin, name="Wellbeing")
    member, _ = factories.member_with_grant(db, admin, paused.id)
    authorisations.change_status(db, admin, paused.id, "pause")
    answer = ask(db, member)
    assert answer.reason == "authorisation_inactive" and "already seen" not in answer.message


def test_only_members_ask(org):
    db, _, _ = org
    with pytest.raises(PermissionDenied):
        what_pays(db, factories.stranger(db))

