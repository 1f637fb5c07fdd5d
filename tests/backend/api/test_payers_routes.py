"""GET /me/payers over real HTTP, on both databases: what can pay when a booking starts."""

from __future__ import annotations

from backend.services import authorisations
from tests.backend import booking_factories as bf
from tests.backend import factories


async def test_a_paused_grant_is_answered_with_what_to_do_instead(api, db):
    admin = factories.register_organisation(db)
    bf.therapist(db)
    offer = factories.authorisation(db, admin, name="Wellbeing support")
    member, grant = factories.member_with_grant(db, admin, offer.id)
    authorisations.change_status(db, admin, offer.id, "pause")
    status, answer = await api.request("GET", "/me/payers", identity=member.identity)
    assert status == 200, answer
    assert answer["can_pay"] is False and answer["reason"] == "authorisation_inactive"
    assert answer["payers"][0]["grant_id"] == grant.id
    assert answer["payers"][0]["coverage"] == "first_relationship"
    assert [a["kind"] for a in answer["alternatives"]] == ["ask_admin", "self_pay",
                                                             "talk_to_person"]
