"""POST /bookings/quote over real HTTP, on both databases: the answer's shape, and clear 4xx
answers to bad requests."""

from __future__ import annotations

from backend.services import authorisations
from tests.backend import booking_factories as bf
from tests.backend import factories
from tests.backend.test_quote import every_row


async def test_the_quote_says_who_pays_and_then_why_nothing_does(api, db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=3, name="Wellbeing support")
    member, grant = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db)
    body = {"therapist_id": therapist_id, "starts_at": bf.slot(72).isoformat(),
            "modality": "video"}
    before = every_row(db)
    status, paid = await api.request("POST", "/bookings/quote", identity=member.identity,
                                     json=body)
    assert status == 200, paid
    assert paid["paid_by_organisation"] is True and paid["grant_id"] == grant.id
    assert paid["sessions_remaining_after"] == 2 and paid["reason"] is None
    assert paid["starts_at"] == body["starts_at"] and paid["modality"] == "video"
    assert every_row(db) == before

    authorisations.change_status(db, admin, offer.id, "pause")
    before = every_row(db)
    status, refused = await api.request("POST", "/bookings/quote", identity=member.identity,
                                        json=body)
    assert status == 200 and refused["paid_by_organisation"] is False
    assert refused["reason"] == "authorisation_inactive" and "paused" in refused["message"]
    assert refused["refused"][0]["offer_name"] == "Wellbeing support"
    assert [a["kind"] for a in refused["alternatives"]] == ["self_pay", "ask_admin"]
    assert refused["alternatives"][0]["fee_minor"] == 8000
    assert every_row(db) == before


async def test_bad_quote_requests_get_a_clear_4xx_and_change_nothing(api, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    therapist_id = bf.therapist(db)
    good = {"therapist_id": therapist_id, "starts_at": bf.slot(72).isoformat(),
            "modality": "video"}
    before = every_row(db)
    cases = [
        ({**good, "starts_at": "next tuesday"}, 400, "offset"),
        ({**good, "modality": "carrier pigeon"}, 400, "modality"),
        ({**good, "therapist_id": "abc"}, 400, "therapist id"),
        ({**good, "therapist_id": 987654}, 404, "no therapist"),
    ]
    for body, expected, words in cases:
        status, error = await api.request("POST", "/bookings/quote", identity=member.identity,
                                          json=body)
        assert status == expected and words in error["error"]["message"], (body, error)
    status, error = await api.request("POST", "/bookings/quote", identity=member.identity,
                                      data="not json", headers={"Content-Type": "application/json"})
    assert status == 400 and "not valid JSON" in error["error"]["message"]
    stranger = factories.new_identity()
    status, error = await api.request("POST", "/bookings/quote", identity=stranger, json=good)
    assert 400 <= status < 500 and error["error"]["message"]
    status, _ = await api.request("POST", "/bookings/quote", identity=member.identity,
                                  json=good, token="wrong")
    assert status == 401
    assert every_row(db) == before
