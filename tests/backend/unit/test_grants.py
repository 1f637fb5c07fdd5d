"""Which grant pays, why one cannot, and which all-members offer a member may join instead."""

from __future__ import annotations

from dataclasses import replace

from backend.domain import grants
from backend.domain.enums import AuthorisationStatus as Status
from backend.domain.enums import Coverage

THERAPIST, SEEN = 7, 3
GRANT = grants.GrantFacts(id=1, offer_name="Wellbeing", status=Status.ACTIVE,
                          coverage=Coverage.FIRST_RELATIONSHIP, sessions_per_user=6,
                          sessions_remaining=4, seen=frozenset())


def test_a_usable_grant_has_no_refusal():
    assert grants.refusal(GRANT, THERAPIST) is None


def test_an_inactive_authorisation_cannot_pay():
    for status in (Status.PAUSED, Status.REVOKED):
        refusal = grants.refusal(replace(GRANT, status=status), THERAPIST)
        assert refusal.code == "authorisation_inactive"
        assert refusal.message == (f"Your organisation's offer “Wellbeing” is {status.value}, "
                                   "so it can't pay for new bookings.")


def test_a_grant_without_sessions_left_cannot_pay():
    refusal = grants.refusal(replace(GRANT, sessions_remaining=0), THERAPIST)
    assert refusal.code == "no_sessions_left"
    assert refusal.message == ("You have used all 6 sessions of “Wellbeing”. You can ask your "
                               "admin for more.")


def test_coverage_decides_the_therapist():
    existing = replace(GRANT, coverage=Coverage.EXISTING_RELATIONSHIP, seen=frozenset({SEEN}))
    assert grants.refusal(existing, SEEN) is None
    assert grants.refusal(existing, THERAPIST).code == "coverage"
    new = replace(existing, coverage=Coverage.NEW_RELATIONSHIP)
    assert grants.refusal(new, THERAPIST) is None
    assert "not seen before" in grants.refusal(new, SEEN).message
    assert grants.refusal(replace(GRANT, seen=frozenset({SEEN})), THERAPIST).code == "coverage"


def test_the_grant_with_most_sessions_left_pays_first():
    few, many, also_many = (replace(GRANT, id=1, sessions_remaining=1),
                            replace(GRANT, id=2, sessions_remaining=5),
                            replace(GRANT, id=3, sessions_remaining=5))
    paused = replace(GRANT, id=4, sessions_remaining=9, status=Status.PAUSED)
    choice = grants.choose([few, many, paused, also_many], THERAPIST)
    assert [grant.id for grant in choice.usable] == [2, 3, 1]
    assert [refusal.code for refusal in choice.refusals] == ["authorisation_inactive"]


def test_no_usable_grant_lists_each_reason_once():
    assert grants.no_usable_grant([]).message.startswith(
        "You don't have sessions paid by your organisation yet.")
    empty = grants.no_sessions_left(GRANT)
    refusal = grants.no_usable_grant([empty, empty])
    assert refusal.code == "no_usable_grant"
    assert refusal.message == (
        f"None of your organisation's offers can pay for this session. {empty.message} "
        "You can still book it as self-paid if you'd like to pay yourself.")


OFFER = grants.OfferFacts(id=10, status=Status.ACTIVE, coverage=Coverage.FIRST_RELATIONSHIP,
                          sessions_per_user=3, places_left=2)


def test_an_offer_to_join_must_be_active_with_places_and_cover_the_therapist():
    assert grants.offers_to_join([OFFER], frozenset(), THERAPIST) == [OFFER]
    assert grants.offers_to_join([replace(OFFER, places_left=None)], frozenset(), THERAPIST)
    assert grants.offers_to_join([replace(OFFER, places_left=0)], frozenset(), THERAPIST) == []
    assert grants.offers_to_join([replace(OFFER, status=Status.PAUSED)], frozenset(),
                                 THERAPIST) == []
    # A first-relationship offer is not for someone who has seen a therapist.
    assert grants.offers_to_join([OFFER], frozenset({SEEN}), THERAPIST) == []
    existing = replace(OFFER, coverage=Coverage.EXISTING_RELATIONSHIP)
    assert grants.offers_to_join([existing], frozenset({SEEN}), SEEN) == [existing]
    assert grants.offers_to_join([existing], frozenset({SEEN}), THERAPIST) == []


def test_the_offer_with_most_sessions_is_joined_first_then_the_oldest():
    small, big, big_later = (replace(OFFER, id=1), replace(OFFER, id=2, sessions_per_user=8),
                             replace(OFFER, id=3, sessions_per_user=8))
    ranked = grants.offers_to_join([big_later, small, big], frozenset(), THERAPIST)
    assert [offer.id for offer in ranked] == [2, 3, 1]


def test_what_booking_a_therapist_pays_with_grants_first_then_an_offer():
    seen = frozenset({SEEN})
    existing = replace(OFFER, id=5, coverage=Coverage.EXISTING_RELATIONSHIP, name="Continue")
    new = replace(GRANT, coverage=Coverage.NEW_RELATIONSHIP, seen=seen)
    assert grants.payer_for([new], [existing], seen, THERAPIST) == new
    assert grants.payer_for([new], [existing], seen, SEEN) == existing
    paused = replace(new, status=Status.PAUSED)
    assert grants.payer_for([paused], [], seen, THERAPIST) is None


def test_whom_a_grant_or_offer_covers_and_why_it_covers_nobody():
    assert THERAPIST in grants.grant_covers(GRANT)
    assert grants.grant_covers(replace(GRANT, sessions_remaining=0)).nobody
    assert grants.closed_refusal(replace(GRANT, sessions_remaining=0)).code == "no_sessions_left"
    existing = replace(OFFER, coverage=Coverage.EXISTING_RELATIONSHIP, name="Continue")
    assert grants.offer_covers(existing, frozenset({SEEN})).only == {SEEN}
    assert grants.offer_covers(existing, frozenset()).nobody  # never seen anyone
    paused = replace(existing, status=Status.PAUSED)
    assert grants.offer_closed_refusal(paused, frozenset({SEEN})).message == (
        "The offer “Continue” is paused at the moment. Ask your admin about it.")


def test_nothing_pays_now_names_the_shared_reason_or_none():
    paused = grants.closed_refusal(replace(GRANT, status=Status.PAUSED))
    used_up = grants.closed_refusal(replace(GRANT, sessions_remaining=0))
    assert grants.nothing_pays_now([paused]).code == "authorisation_inactive"
    assert grants.nothing_pays_now([paused, paused]).message.count("paused") == 1
    assert grants.nothing_pays_now([paused, used_up]).code == "no_usable_grant"
    assert grants.nothing_pays_now([]).code == "no_usable_grant"
