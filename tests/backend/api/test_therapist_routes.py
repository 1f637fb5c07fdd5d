"""Therapist search, vocabulary, profiles and slots over real HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.domain.slots import Window
from tests.backend import factories
from tests.backend.test_search import add


async def test_search_returns_ranked_matches_with_reasons_and_slots(api, db):
    wanted = add(db, issues=("anxiety", "stress"), languages=("English", "Polish"))
    add(db, issues=("anxiety",))
    status, body = await api.request("POST", "/therapists/search", json={
        "issues": ["anxiety", "stress"], "language": "Polish", "modality": "video", "limit": 3})
    assert status == 200, body
    [match] = body["results"]
    assert match["therapist"]["id"] == wanted
    assert match["therapist"]["languages"] == ["English", "Polish"]
    assert match["reasons"] == ["helps with anxiety and stress", "speaks Polish", "video sessions"]
    assert len(match["next_slots"]) == 3
    assert datetime.fromisoformat(match["next_slots"][0]).utcoffset() == timedelta(0)
    assert body["filters"]["language"] == ["Polish"] and body["filters"]["limit"] == 3


async def test_bad_filters_are_a_400_with_the_choices(api, db):
    status, body = await api.request("POST", "/therapists/search", json={"gender": "robot"})
    assert status == 400 and body["error"]["code"] == "invalid_input"
    assert "female, male, non-binary" in body["error"]["message"]
    status, body = await api.request("POST", "/therapists/search", json=["anxiety"])
    assert status == 400


async def test_grant_filter_is_only_for_its_owner(api, db):
    add(db)
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin)
    member, grant = factories.member_with_grant(db, admin, offer.id)
    status, body = await api.request("POST", "/therapists/search", identity=member.identity,
                                     json={"grant_id": grant.id})
    assert status == 200 and len(body["results"]) == 1
    status, body = await api.request("POST", "/therapists/search", json={"grant_id": grant.id})
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_vocabulary(api):
    status, body = await api.request("GET", "/therapists/vocabulary")
    assert status == 200
    assert "anxiety" in body["issues"] and body["modalities"] == ["in_person", "video", "phone"]
    assert body["times"] == ["morning", "afternoon", "evening"]


async def test_profile_and_slots(api, db):
    tid = add(db, windows=(Window(2, 9 * 60, 12 * 60),), offers_in_person=True, location="Bath")
    status, body = await api.request("GET", f"/therapists/{tid}")
    assert status == 200
    assert (body["id"], body["location"], body["modalities"]) == (tid, "Bath",
                                                                  ["in_person", "video"])
    status, body = await api.request("GET", f"/therapists/{tid}/slots?days=7")
    assert status == 200 and body["therapist_id"] == tid
    assert 1 <= len(body["slots"]) <= 3  # one Wednesday morning in a week
    status, body = await api.request("GET", f"/therapists/{tid}/slots")
    assert status == 200 and 2 <= len(body["slots"]) <= 6


async def test_missing_therapist_and_bad_days(api, db):
    status, body = await api.request("GET", "/therapists/999999")
    assert status == 404
    status, body = await api.request("GET", "/therapists/999999/slots")
    assert status == 404
    tid = add(db)
    for days in ("soon", "0", "1000"):
        status, body = await api.request("GET", f"/therapists/{tid}/slots?days={days}")
        assert status == 400 and "days" in body["error"]["message"]
